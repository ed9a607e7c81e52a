"""INT-01: packaged files in system paths are as their packages shipped them, and the setuid/setgid files are
exactly those packages ship plus the declared ones. Judged from dpkg's own checksums recomputed on the host
(checks/collect/integrity.py); changed conffiles are configuration, reported as evidence, never a failure."""

from __future__ import annotations

from typing import Any

from checks.model import Check, Facts, MissingFact, Outcome, Params, Status, fact_field, fact_value, outcome

FACT = "integrity_packaged_files"


def _fact(facts: Facts) -> Any:
    """The fact, refused unless it carries what a verdict rests on: a count of files checked (none checked is no
    proof), the lists of changed and setid files, and nothing unreadable."""
    found = fact_value(facts, FACT)
    checked = fact_field(facts, FACT, "files_checked")
    if not isinstance(checked, int) or isinstance(checked, bool) or checked <= 0:
        raise MissingFact(FACT, f"no packaged file was checked ({checked!r})", {"collected": str(found)[:200]})
    for key in ("changed", "setid", "unreadable"):
        if not isinstance(fact_field(facts, FACT, key), list):
            raise MissingFact(FACT, f"{key!r} is not a list", {"collected": str(found)[:200]})
    if found["unreadable"]:
        raise MissingFact(FACT, f"{len(found['unreadable'])} packaged file(s) could not be read: "
                          f"{found['unreadable'][:5]}", dict(found))
    return found


def evaluate_packaged_files(facts: Facts, params: Params) -> Outcome:
    found = _fact(facts)
    changed = list(found["changed"])
    observed = {
        "enumerated": f"{found.get('files_checked')} packaged files in {', '.join(found.get('scope', []))} of "
                      f"{found.get('packages_with_md5sums')} packages (/var/lib/dpkg/info/*.md5sums) and "
                      f"{found.get('conffiles_checked')} conffiles (/var/lib/dpkg/status)",
        "changed (not conffiles)": changed,
        "conffiles changed (configuration, not judged here)": found.get("conffiles_changed", []),
        "missing packaged files": found.get("missing", []),
        "seconds on the host": found.get("seconds"),
    }
    if changed:
        listed = ", ".join(f"{c['path']} ({c['package']})" for c in changed[:20])
        more = f" and {len(changed) - 20} more" if len(changed) > 20 else ""
        packages = " ".join(sorted({c["package"] for c in changed}))
        return Outcome(Status.FAIL, f"{len(changed)} packaged file(s) differ from dpkg's checksum: {listed}{more} "
                       f"(reinstall: apt-get install --reinstall {packages})", observed)
    return Outcome(Status.PASS, f"all {found.get('files_checked')} packaged files in system paths match dpkg's "
                   f"checksums ({len(observed['conffiles changed (configuration, not judged here)'])} conffile(s) "
                   "changed as configuration)", observed)


def evaluate_setid_files(facts: Facts, params: Params) -> Outcome:
    found = _fact(facts)
    declared = set(params["allowed_setid"])
    setid = list(found["setid"])
    problems = []
    for entry in setid:
        if entry["path"] in declared:
            continue
        if not entry.get("package"):
            problems.append(f"{entry['path']} (mode {entry['mode']}, {entry['owner']}:{entry['group']}) is shipped "
                            "by no package and not declared")
        elif not entry.get("unchanged", False):
            problems.append(f"{entry['path']} (mode {entry['mode']}) differs from the file {entry['package']} "
                            "shipped")
    observed = {
        "enumerated": f"{len(setid)} setuid/setgid file(s) on the local filesystems (find -xdev -perm /6000)",
        "setid files": setid, "declared (allowed_setid)": sorted(declared),
        "dpkg-statoverride": found.get("statoverrides", []),
        "limit": "dpkg records no file modes: a packaged file that gained a setid bit is shown here with its "
                 "package, not flagged",
    }
    return outcome(problems, f"all {len(setid)} setuid/setgid files are shipped unchanged by their packages or "
                   "declared", observed)


PACKAGED_FILES = Check(
    id="integrity_packaged_files_unchanged", control_id="INT-01",
    title="packaged files in system paths match dpkg's checksums (conffiles reported apart)",
    facts=(FACT,), evaluate=evaluate_packaged_files)
SETID_FILES = Check(
    id="integrity_setid_files_packaged", control_id="INT-01",
    title="setuid/setgid files are exactly those shipped by packages, unchanged, plus the declared ones",
    facts=(FACT,), evaluate=evaluate_setid_files)

INTEGRITY_CHECKS = (PACKAGED_FILES, SETID_FILES)
