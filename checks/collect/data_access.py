"""DAC-01 / AUD-01 on the host: the data directories the inventory declares, asked for as a fact with arguments.

Stats each declared directory and its contents, reads the authorized groups' members and the audit rules, and
tries a read as an unauthorized account (`runuser -u nobody -- cat FILE`): nothing on the host changes, and no
file content is carried back. Outside containers it also reads one byte of a data file as the directory's owner
and looks for the audit record of that read (`ausearch -k KEY`); in a container the kernel's audit subsystem is
the machine's, so neither the loaded rules nor the record are looked for.
"""

import grp
import os
import pwd
import stat
import time
from pathlib import Path
from typing import Any

from checks.collect.core import fact, run_command

STRAY_LIMIT = 50


def _name_of(lookup: Any, number: int) -> str:
    try:
        return str(lookup(number)[0])
    except KeyError:
        return str(number)


def _acl_entries(path: str) -> list[str]:
    """Named entries of the access ACL, decoded from the system.posix_acl_access xattr."""
    try:
        raw = os.getxattr(path, "system.posix_acl_access", follow_symlinks=False)
    except OSError:
        return []
    entries = []
    for offset in range(4, len(raw) - 7, 8):
        tag = int.from_bytes(raw[offset:offset + 2], "little")
        perm = int.from_bytes(raw[offset + 2:offset + 4], "little")
        ident = int.from_bytes(raw[offset + 4:offset + 8], "little")
        bits = "".join(c if perm & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))
        if tag == 0x02:
            entries.append(f"user:{_name_of(pwd.getpwuid, ident)}:{bits}")
        elif tag == 0x08:
            entries.append(f"group:{_name_of(grp.getgrgid, ident)}:{bits}")
    return sorted(entries)


def _describe(path: str, info: os.stat_result) -> dict[str, str]:
    return {"path": path, "owner": _name_of(pwd.getpwuid, info.st_uid), "group": _name_of(grp.getgrgid, info.st_gid),
            "mode": f"{stat.S_IMODE(info.st_mode):04o}"}


def _run(argv: list[str]) -> dict[str, Any]:
    """A command's outcome, stdout kept short: the callers drop it whenever it could hold data."""
    result = run_command(argv)
    if "stdout" in result:
        result["stdout"] = result["stdout"][-20000:]
        result["stderr"] = result["stderr"][-2000:]
    return result


def _container() -> str:
    detected = _run(["systemd-detect-virt", "--container"])
    if detected.get("rc") == 0 and detected["stdout"].strip() not in ("", "none"):
        return str(detected["stdout"].strip())
    marker = Path("/run/systemd/container")
    return marker.read_text().strip() if marker.exists() else ""


def _directory(declared: dict[str, Any], unauthorized_account: str, audit_key: str, container: str,
               ) -> dict[str, Any]:
    path = str(declared.get("path", "")).rstrip("/") or "/"
    entry: dict[str, Any] = {"path": path, "exists": False}
    try:
        info = os.lstat(path)
    except OSError as exc:
        entry["lstat_error"] = exc.strerror
        return entry
    entry.update(_describe(path, info), exists=True, is_dir=stat.S_ISDIR(info.st_mode), acl=_acl_entries(path))
    stray: list[dict[str, str]] = []
    count, sample = 0, None
    for root, dirs, files in os.walk(path):
        for child in dirs + files:
            child_path = os.path.join(root, child)  # noqa: PTH118 - os.walk gives strings; lstat below
            try:
                child_info = os.lstat(child_path)
            except OSError:
                continue
            count += 1
            if sample is None and stat.S_ISREG(child_info.st_mode):
                sample = child_path
            seen = _describe(child_path, child_info)
            if ((seen["owner"] != declared.get("owner") or seen["group"] != declared.get("group")
                    or child_info.st_mode & 0o007) and len(stray) < STRAY_LIMIT):
                stray.append(seen)
    entry.update(entries=count, stray=stray, sample_file=sample)
    if sample:
        entry["unauthorized_read"] = _run(["runuser", "-u", unauthorized_account, "--", "cat", "--", sample])
        entry["unauthorized_read"].pop("stdout", None)  # never carry data back, even if the read succeeded
    entry["unauthorized_list"] = _run(["runuser", "-u", unauthorized_account, "--", "ls", "--", path])
    entry["unauthorized_list"].pop("stdout", None)
    if sample and not container:
        started = time.time()
        read = _run(["runuser", "-u", str(declared.get("owner", "root")), "--", "head", "-c", "1", "--", sample])
        read.pop("stdout", None)
        time.sleep(1)
        # --input-logs: without a terminal ausearch reads its stdin (empty here), not auditd's log, and finds
        # nothing; this reads the log files auditd.conf names, as a cron job or a collector must.
        search = _run(["ausearch", "--input-logs", "--key", audit_key, "--file", sample, "--start", "recent",
                       "--raw"])
        stamps = [float(part.split("(", 1)[1].split(":", 1)[0]) for part in search.get("stdout", "").split()
                  if part.startswith("msg=audit(")]
        entry["authorized_read"] = {"read": read, "ausearch_rc": search.get("rc"), "error": search.get("error"),
                                    "records_since_read": len([s for s in stamps if s >= started - 1])}
    return entry


def _group_members(names: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for group_name in names:
        try:
            group = grp.getgrnam(group_name)
        except KeyError:
            found[group_name] = {"exists": False}
            continue
        primary = [user.pw_name for user in pwd.getpwall() if user.pw_gid == group.gr_gid]
        found[group_name] = {"exists": True, "members": sorted(set(group.gr_mem) | set(primary))}
    return found


def _persisted_rules() -> dict[str, str]:
    rules_dir = Path("/etc/audit/rules.d")
    if not rules_dir.is_dir():
        return {}
    return {str(path): path.read_text(errors="replace") for path in sorted(rules_dir.glob("*.rules"))}


def _account_groups(account: str) -> dict[str, Any]:
    seen: dict[str, Any] = {"account": account}
    try:
        user = pwd.getpwnam(account)
    except KeyError:
        seen["error"] = "no such account"
        return seen
    seen["groups"] = sorted({g.gr_name for g in grp.getgrall() if user.pw_name in g.gr_mem}
                            | {_name_of(grp.getgrgid, user.pw_gid)})
    return seen


@fact("data_access")
def data_access(directories: list[dict[str, Any]], groups: dict[str, list[str]], unauthorized_account: str,
                audit_key: str) -> dict[str, Any]:
    container = _container()
    guarded = sorted(set(groups) | {str(d.get("group")) for d in directories if d.get("group")})
    result: dict[str, Any] = {
        "container": container or None,
        "directories": [_directory(d, unauthorized_account, audit_key, container) for d in directories],
        "groups": _group_members(guarded), "audit_rules_persisted": _persisted_rules(),
        "unauthorized_account": _account_groups(unauthorized_account)}
    if not container:
        result["audit_rules_live"] = _run(["auditctl", "-l"])
    return result
