"""DAC-01 / AUD-01: look at the data directories the inventory declares (`data_access_directories`).

The collector's argv carries only fact names, but which directories hold customer data, who owns them and
who is authorized are per-host declarations in the inventory. This probe carries them: one SSH command
per host (as the inventory's automation account, with `sudo -n`) runs a small standard-library script that
stats each declared directory and its contents, reads the authorized groups' members and the audit rules,
and tries a read as an unauthorized account (`runuser -u nobody -- cat FILE`): nothing on the host changes.
Outside containers it also reads one byte of a data file as the directory's owner and looks for the audit
record of that read (`ausearch -k KEY`); in a container the kernel's audit subsystem is the machine's, so
neither the loaded rules nor the record are looked for.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
from typing import Any

from checks.probes import HostParams, ProbeTarget, probe

PROBE_TIMEOUT = 60
DEFAULT_UNAUTHORIZED = "nobody"
DEFAULT_AUDIT_KEY = "stockade-data"

# Runs ON the host as root (python3 -c): standard library only, prints one JSON document.
_REMOTE = r'''
import base64, grp, json, os, pwd, stat, subprocess, sys, time
request = json.loads(base64.b64decode(sys.argv[1]))
LIMIT = 50

def run(argv, timeout=20):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return {"command": argv, "error": "command not found"}
    except subprocess.TimeoutExpired:
        return {"command": argv, "error": "timed out"}
    return {"command": argv, "rc": proc.returncode, "stdout": proc.stdout[-20000:], "stderr": proc.stderr[-2000:]}

def name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)

def acl_entries(path):
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
            entries.append("user:%s:%s" % (name(pwd.getpwuid, ident), bits))
        elif tag == 0x08:
            entries.append("group:%s:%s" % (name(grp.getgrgid, ident), bits))
    return sorted(entries)

def describe(path, info):
    return {"path": path, "owner": name(pwd.getpwuid, info.st_uid), "group": name(grp.getgrgid, info.st_gid),
            "mode": "%04o" % stat.S_IMODE(info.st_mode)}

container = ""
detected = run(["systemd-detect-virt", "--container"])
if detected.get("rc") == 0 and detected["stdout"].strip() not in ("", "none"):
    container = detected["stdout"].strip()
elif os.path.exists("/run/systemd/container"):
    container = open("/run/systemd/container").read().strip()

directories = []
for declared in request["directories"]:
    path = str(declared.get("path", "")).rstrip("/") or "/"
    entry = {"path": path, "exists": False}
    try:
        info = os.lstat(path)
    except OSError as exc:
        entry["lstat_error"] = exc.strerror
        directories.append(entry)
        continue
    entry.update(describe(path, info), exists=True, is_dir=stat.S_ISDIR(info.st_mode), acl=acl_entries(path))
    stray, count, sample = [], 0, None
    for root, dirs, files in os.walk(path):
        for child in dirs + files:
            child_path = os.path.join(root, child)
            try:
                child_info = os.lstat(child_path)
            except OSError:
                continue
            count += 1
            if sample is None and stat.S_ISREG(child_info.st_mode):
                sample = child_path
            seen = describe(child_path, child_info)
            if (seen["owner"] != declared.get("owner") or seen["group"] != declared.get("group")
                    or child_info.st_mode & 0o007):
                if len(stray) < LIMIT:
                    stray.append(seen)
    entry.update(entries=count, stray=stray, sample_file=sample)
    account = request["unauthorized_account"]
    if sample:
        entry["unauthorized_read"] = run(["runuser", "-u", account, "--", "cat", "--", sample])
        entry["unauthorized_read"].pop("stdout", None)  # never carry data back, even if the read succeeded
    entry["unauthorized_list"] = run(["runuser", "-u", account, "--", "ls", "--", path])
    entry["unauthorized_list"].pop("stdout", None)
    if sample and not container:
        started = time.time()
        owner = str(declared.get("owner", "root"))
        read = run(["runuser", "-u", owner, "--", "head", "-c", "1", "--", sample])
        read.pop("stdout", None)
        time.sleep(1)
        search = run(["ausearch", "--key", request["audit_key"], "--file", sample, "--start", "recent", "--raw"])
        stamps = [float(part.split("(", 1)[1].split(":", 1)[0]) for part in search.get("stdout", "").split()
                  if part.startswith("msg=audit(")]
        entry["authorized_read"] = {"read": read, "ausearch_rc": search.get("rc"), "error": search.get("error"),
                                    "records_since_read": len([s for s in stamps if s >= started - 1])}
    directories.append(entry)

groups = {}
for group_name in request["groups"]:
    try:
        group = grp.getgrnam(group_name)
    except KeyError:
        groups[group_name] = {"exists": False}
        continue
    primary = [user.pw_name for user in pwd.getpwall() if user.pw_gid == group.gr_gid]
    groups[group_name] = {"exists": True, "members": sorted(set(group.gr_mem) | set(primary))}

rules_files = {}
if os.path.isdir("/etc/audit/rules.d"):
    for file_name in sorted(os.listdir("/etc/audit/rules.d")):
        if file_name.endswith(".rules"):
            with open(os.path.join("/etc/audit/rules.d", file_name), errors="replace") as handle:
                rules_files["/etc/audit/rules.d/" + file_name] = handle.read()
unauthorized = {"account": request["unauthorized_account"]}
try:
    user = pwd.getpwnam(request["unauthorized_account"])
    unauthorized["groups"] = sorted({g.gr_name for g in grp.getgrall() if user.pw_name in g.gr_mem}
                                    | {name(grp.getgrgid, user.pw_gid)})
except KeyError:
    unauthorized["error"] = "no such account"
result = {"container": container or None, "directories": directories, "groups": groups,
          "audit_rules_persisted": rules_files, "unauthorized_account": unauthorized}
if not container:
    result["audit_rules_live"] = run(["auditctl", "-l"])
print(json.dumps(result))
'''


def declared_directories(target: ProbeTarget) -> list[dict[str, Any]]:
    value = target.variables.get("data_access_directories") or []
    if not isinstance(value, list):
        raise ValueError("inventory variable data_access_directories must be a list")
    return [dict(item) for item in value if isinstance(item, dict)]


def declared_groups(target: ProbeTarget) -> dict[str, list[str]]:
    value = target.variables.get("data_access_groups") or []
    return {str(item["name"]): sorted(str(m) for m in item.get("members") or [])
            for item in value if isinstance(item, dict) and "name" in item}


@probe("data_access")
def data_access(target: ProbeTarget, params: HostParams) -> dict[str, Any]:
    directories = declared_directories(target)
    groups = declared_groups(target)
    declared = {"directories": directories, "groups": groups}
    if not directories:
        return {"declared": declared, "observed": None}
    request = {
        "directories": directories,
        "groups": sorted(set(groups) | {str(d.get("group")) for d in directories if d.get("group")}),
        "unauthorized_account": str(params.get("DAC-01", {}).get("unauthorized_account", DEFAULT_UNAUTHORIZED)),
        "audit_key": str(params.get("AUD-01", {}).get("audit_key", DEFAULT_AUDIT_KEY)),
    }
    payload = base64.b64encode(json.dumps(request).encode()).decode()
    remote = shlex.join(["sudo", "-n", "python3", "-c", _REMOTE, payload])
    proc = subprocess.run(target.ssh_command(remote), capture_output=True, text=True, timeout=PROBE_TIMEOUT,
                          check=False)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-500:]}"}
    return {"declared": declared, "observed": json.loads(proc.stdout), "request": request}
