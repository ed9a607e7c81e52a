"""DAC-01 and AUD-01: customer data readable only by the authorized group, and every access audited.

What is declared comes from the inventory (`data_access_directories`, `data_access_groups`); it is sent to the
host as the arguments of the collector's `data_access` fact (checks/collect/data_access.py), which comes back
with the request beside what was observed. A host that declares no data directory gets
SKIPPED findings ("no data directories declared"), never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks.baseline import NOT_OBSERVABLE
from checks.baseline_audit import parse_rules, watches
from checks.model import (
    Check,
    Fact,
    FactInputs,
    Facts,
    MissingFact,
    Outcome,
    Param,
    Params,
    Status,
    fact_value,
    outcome,
)

FACT = "data_access"


def declared_directories(variables: Mapping[str, Any]) -> list[dict[str, Any]]:
    value = variables.get("data_access_directories") or []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ValueError("inventory variable data_access_directories must be a list of mappings")
    return [dict(item) for item in value]


def declared_groups(variables: Mapping[str, Any]) -> dict[str, list[str]]:
    value = variables.get("data_access_groups") or []
    if not isinstance(value, list):
        raise ValueError("inventory variable data_access_groups must be a list of {name, members}")
    return {str(item["name"]): sorted(str(m) for m in item.get("members") or [])
            for item in value if isinstance(item, Mapping) and "name" in item}


def request(inputs: FactInputs) -> dict[str, Any]:
    """What the host is asked to look at: the inventory's declarations, and who must be refused."""
    return {"directories": declared_directories(inputs.variables), "groups": declared_groups(inputs.variables),
            "unauthorized_account": str(inputs.params["unauthorized_account"]),
            "audit_key": str(inputs.params["audit_key"])}


def _declared_and_observed(facts: Facts) -> tuple[dict[str, Any], Mapping[str, Any] | None]:
    """What was declared (the request, as the controller sent it) and observed; None when nothing is declared."""
    value = fact_value(facts, FACT)
    asked = value["request"]
    declared = {"directories": list(asked["directories"]), "groups": dict(asked["groups"])}
    return declared, (value if declared["directories"] else None)


def _not_declared() -> Outcome:
    return Outcome(Status.SKIPPED, "no data directories declared for this host (inventory data_access_directories)",
                   {"declared": []})


def _normal_acl(entry: str) -> str:
    kind, _, rest = str(entry).partition(":")
    return {"u": "user", "g": "group"}.get(kind, kind) + ":" + rest


def _observed_directories(observed: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(entry["path"]): entry for entry in observed.get("directories", [])}


def _path(declared: Mapping[str, Any]) -> str:
    return str(declared.get("path", "")).rstrip("/") or "/"


# --- DAC-01 -----------------------------------------------------------------------------------------------

def evaluate_permissions(facts: Facts, params: Params) -> Outcome:
    declared, observed = _declared_and_observed(facts)
    if observed is None:
        return _not_declared()
    seen = _observed_directories(observed)
    evidence: dict[str, Any] = {}
    problems: list[str] = []
    for directory in declared["directories"]:
        path = _path(directory)
        entry = seen.get(path, {})
        want_mode = int(str(directory.get("mode", "2750")), 8)
        want_acl = sorted(_normal_acl(item) for item in directory.get("acls") or [])
        if not entry.get("exists") or not entry.get("is_dir"):
            evidence[path] = "(absent)" if not entry.get("exists") else "(not a directory)"
            problems.append(f"{path} is {'absent' if not entry.get('exists') else 'not a directory'}")
            continue
        evidence[path] = {"owner": entry["owner"], "group": entry["group"], "mode": entry["mode"],
                          "acl": entry.get("acl", []), "entries": entry.get("entries"),
                          "stray_entries": entry.get("stray", [])[:10]}
        if (entry["owner"], entry["group"]) != (directory.get("owner"), directory.get("group")):
            problems.append(f"{path} is owned by {entry['owner']}:{entry['group']}, declared "
                            f"{directory.get('owner')}:{directory.get('group')}")
        if int(entry["mode"], 8) != want_mode:
            problems.append(f"{path} has mode {entry['mode']}, declared {want_mode:04o}")
        if int(entry["mode"], 8) & 0o007:
            problems.append(f"{path} is open to others (mode {entry['mode']})")
        if entry.get("acl", []) != want_acl:
            problems.append(f"{path} has ACL entries {entry.get('acl') or 'none'}, declared {want_acl or 'none'}")
        stray = entry.get("stray", [])
        if stray:
            shown = ", ".join(f"{s['path']} ({s['owner']}:{s['group']} {s['mode']})" for s in stray[:5])
            problems.append(f"{len(stray)} entr(ies) under {path} with another owner or group or open to others: "
                            f"{shown}")
    return outcome(problems, f"{len(declared['directories'])} data director(ies) and their contents have the "
                             "declared owner, group, mode and ACLs, and give others nothing", evidence)


def evaluate_members(facts: Facts, params: Params) -> Outcome:
    declared, observed = _declared_and_observed(facts)
    if observed is None:
        return _not_declared()
    groups = {str(d.get("group")) for d in declared["directories"]} | set(declared["groups"])
    evidence: dict[str, Any] = {}
    problems: list[str] = []
    for group in sorted(groups):
        seen = observed.get("groups", {}).get(group, {"exists": False})
        wanted = declared["groups"].get(group)
        evidence[group] = {"declared": wanted if wanted is not None else "(no member list in the inventory)",
                           "members": seen.get("members") if seen.get("exists") else "(no such group)"}
        if wanted is None:
            problems.append(f"group {group} guards data but the inventory declares no member list for it "
                            "(data_access_groups)")
        elif not seen.get("exists"):
            problems.append(f"group {group} does not exist")
        elif sorted(seen["members"]) != sorted(wanted):
            extra = sorted(set(seen["members"]) - set(wanted))
            missing = sorted(set(wanted) - set(seen["members"]))
            problems.append(f"group {group}: " + "; ".join(part for part in (
                f"not authorized: {', '.join(extra)}" if extra else "",
                f"declared but not members: {', '.join(missing)}" if missing else "") if part))
    return outcome(problems, "the authorized groups have exactly the members the inventory declares", evidence)


def _refused(result: Mapping[str, Any] | None) -> bool:
    if not result or "error" in result:
        return False
    return result.get("rc") != 0 and "permission denied" in str(result.get("stderr", "")).lower()


def evaluate_unauthorized_refused(facts: Facts, params: Params) -> Outcome:
    declared, observed = _declared_and_observed(facts)
    if observed is None:
        return _not_declared()
    account = observed.get("unauthorized_account", {})
    if "error" in account:
        raise MissingFact(FACT, f"unauthorized account {account.get('account')}: {account['error']}")
    seen = _observed_directories(observed)
    evidence: dict[str, Any] = {"account": account.get("account"), "account_groups": account.get("groups")}
    problems = []
    guarded = {str(d.get("group")) for d in declared["directories"]}
    if set(account.get("groups", [])) & guarded:
        problems.append(f"{account.get('account')} is itself in an authorized group; choose another "
                        "unauthorized_account")
    for directory in declared["directories"]:
        path = _path(directory)
        entry = seen.get(path, {})
        if not entry.get("exists"):
            evidence[path] = "(absent)"
            problems.append(f"{path} is absent: no refusal to show")
            continue
        listing, reading = entry.get("unauthorized_list"), entry.get("unauthorized_read")
        evidence[path] = {"list": _summary(listing), "read": _summary(reading) if reading else "(no file to read)",
                          "file": entry.get("sample_file")}
        if not _refused(listing):
            problems.append(f"{account.get('account')} can list {path}")
        if reading is not None and not _refused(reading):
            problems.append(f"{account.get('account')} can read {entry.get('sample_file')}")
    return outcome(problems, f"{account.get('account')} (not authorized) is refused listing every data directory "
                             "and reading its files", evidence)


def _summary(result: Mapping[str, Any] | None) -> str:
    if not result:
        return "(not tried)"
    if "error" in result:
        return f"error: {result['error']}"
    lines = str(result.get("stderr", "")).strip().splitlines()
    return f"exit {result.get('rc')}: {lines[-1] if lines else ''}".strip()


# --- AUD-01 -----------------------------------------------------------------------------------------------

def _missing_watches(rules_text: str, declared: Mapping[str, Any], key: str) -> list[str]:
    rules = parse_rules(rules_text)
    return [_path(d) for d in declared["directories"] if not watches(rules, _path(d), "rwxa", key)]


def evaluate_watch_persisted(facts: Facts, params: Params) -> Outcome:
    declared, observed = _declared_and_observed(facts)
    if observed is None:
        return _not_declared()
    files = observed.get("audit_rules_persisted", {})
    missing = _missing_watches("\n".join(files.values()), declared, str(params["audit_key"]))
    evidence = {"rules_files": sorted(files), "missing": missing, "key": params["audit_key"]}
    return outcome([f"no persisted audit watch (-p rwxa -k {params['audit_key']}) on: {', '.join(missing)}"]
                   if missing else [], "every data directory has a persisted audit watch on reads, writes, "
                                       "executions and attribute changes", evidence)


def evaluate_watch_live(facts: Facts, params: Params) -> Outcome:
    declared, observed = _declared_and_observed(facts)
    if observed is None:
        return _not_declared()
    if observed.get("container"):
        return Outcome(Status.SKIPPED, f"the kernel's audit rules: {NOT_OBSERVABLE} ({observed['container']})",
                       {"container": observed["container"], "reason": NOT_OBSERVABLE})
    live = observed.get("audit_rules_live") or {}
    if "error" in live or live.get("rc") != 0:
        raise MissingFact(FACT, f"auditctl -l: {live.get('error') or live.get('stderr', '').strip()}", live)
    missing = _missing_watches(str(live.get("stdout", "")), declared, str(params["audit_key"]))
    return outcome([f"no audit watch loaded in the kernel on: {', '.join(missing)}"] if missing else [],
                   "every data directory is watched by the kernel's audit rules", {"missing": missing})


def evaluate_read_recorded(facts: Facts, params: Params) -> Outcome:
    declared, observed = _declared_and_observed(facts)
    if observed is None:
        return _not_declared()
    if observed.get("container"):
        return Outcome(Status.SKIPPED, f"an authorized read leaving an audit record: {NOT_OBSERVABLE} "
                                       f"({observed['container']})",
                       {"container": observed["container"], "reason": NOT_OBSERVABLE})
    seen = _observed_directories(observed)
    evidence: dict[str, Any] = {}
    problems: list[str] = []
    for directory in declared["directories"]:
        path = _path(directory)
        entry = seen.get(path, {})
        record = entry.get("authorized_read")
        if record is None:
            evidence[path] = "(no data file to read)"
            problems.append(f"{path}: no file to read, so no record can be shown")
            continue
        evidence[path] = {"file": entry.get("sample_file"), "read": _summary(record.get("read")),
                          "records_since_read": record.get("records_since_read")}
        if record.get("error"):
            raise MissingFact(FACT, f"ausearch: {record['error']}")
        if not record.get("records_since_read"):
            problems.append(f"reading {entry.get('sample_file')} as {directory.get('owner')} left no audit record "
                            f"with key {params['audit_key']}")
    return outcome(problems, "an authorized read of each data directory left a record in the audit log", evidence)


# Both controls' checks send the same request, so the host answers it once.
_FACTS = (Fact(FACT, request),)
_OTHER_CONTROL = {"DAC-01": Param("AUD-01", "audit_key"), "AUD-01": Param("DAC-01", "unauthorized_account")}


def _check(check_id: str, control_id: str, title: str, evaluate: Any) -> Check:
    return Check(id=check_id, control_id=control_id, title=title, facts=_FACTS, evaluate=evaluate,
                 params=(_OTHER_CONTROL[control_id],))


DATA_ACCESS_CHECKS: tuple[Check, ...] = (
    _check("dac_directory_permissions", "DAC-01", "data directories and their contents have the declared owner, "
           "group, mode and ACLs, and give others nothing", evaluate_permissions),
    _check("dac_authorized_group_members", "DAC-01", "the authorized groups have exactly the declared members",
           evaluate_members),
    _check("dac_unauthorized_read_refused", "DAC-01", "an unauthorized account is refused listing and reading "
           "customer data", evaluate_unauthorized_refused),
    _check("aud_data_watch_persisted", "AUD-01", "every data directory has a persisted audit watch (-p rwxa)",
           evaluate_watch_persisted),
    _check("aud_data_watch_live", "AUD-01", "every data directory is watched by the kernel's audit rules",
           evaluate_watch_live),
    _check("aud_data_read_recorded", "AUD-01", "an authorized read leaves a record in the audit log",
           evaluate_read_recorded),
)
