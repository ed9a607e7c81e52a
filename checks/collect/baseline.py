"""Host side of the baseline checks (BASE-01..BASE-11): effective state, and the persisted configuration
that will hold after a reboot. Standard library only; runs as root inside the one collector script."""

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

from checks.collect.core import COMMAND_TIMEOUT, command_fact, fact, file_fact, run_command

# A login session of an unprivileged account: what PAM (pam_limits, pam_umask) and /etc/profile give users.
_BASELINE_LOGIN_SHELL = ["runuser", "-l", "nobody", "-s", "/bin/sh", "-c"]

command_fact("baseline_sysctl_persisted", ["systemd-analyze", "cat-config", "sysctl.d"])
command_fact("baseline_coredump_config", ["systemd-analyze", "cat-config", "systemd/coredump.conf"])
command_fact("baseline_journald_config", ["systemd-analyze", "cat-config", "systemd/journald.conf"])
command_fact("baseline_login_core_limit", [*_BASELINE_LOGIN_SHELL, "ulimit -H -c"])
command_fact("baseline_login_umask", [*_BASELINE_LOGIN_SHELL, "umask"])
command_fact("baseline_mounts", ["findmnt", "--json", "--list", "--output", "TARGET,SOURCE,FSTYPE,OPTIONS"])
command_fact("baseline_packages", ["dpkg-query", "--show", "--showformat", "${Package}\\t${db:Status-Abbrev}\\n"])
command_fact("baseline_service_unit_files", ["systemctl", "list-unit-files", "--type=service,socket", "--no-legend",
                                    "--no-pager", "--plain"])
command_fact("baseline_service_units_active", ["systemctl", "list-units", "--type=service,socket", "--state=active",
                                      "--no-legend", "--no-pager", "--plain"])
command_fact("baseline_audit_rules_live", ["auditctl", "-l"])
file_fact("baseline_fstab", "/etc/fstab")
file_fact("baseline_login_defs", "/etc/login.defs")

# Files whose owner and mode CIS Debian 12 prescribes (section 7.1, 5.1.1, 2.4.1); absent ones are reported.
BASELINE_SENSITIVE_PATHS = (
    "/etc/passwd", "/etc/passwd-", "/etc/group", "/etc/group-", "/etc/shadow", "/etc/shadow-",
    "/etc/gshadow", "/etc/gshadow-", "/etc/shells", "/etc/security/opasswd", "/etc/ssh/sshd_config",
    "/etc/crontab", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly",
    "/etc/cron.d",
)
BASELINE_BANNER_PATHS = ("/etc/issue", "/etc/issue.net", "/etc/motd")
BASELINE_MODPROBE_DIRS = ("/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/usr/lib/modprobe.d",
                 "/lib/modprobe.d")
# Filesystems whose files live on this host (a scan never walks proc, sysfs, network mounts...).
BASELINE_LOCAL_FSTYPES = {"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "reiserfs", "vfat", "tmpfs", "overlay",
                 "zfs"}
BASELINE_SCAN_LIMIT = 200
# Kernel and container-manager mounts: not files of this host.
BASELINE_SCAN_SKIP = ("/proc", "/sys", "/run/host")


def _baseline_stat(path: str) -> dict[str, Any]:
    import grp
    import pwd

    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}
    except OSError as exc:
        return {"error": str(exc)}

    def name(lookup: Any, number: int) -> str:
        try:
            return str(lookup(number)[0])
        except KeyError:
            return str(number)

    return {"exists": True, "mode": f"{stat.S_IMODE(info.st_mode):04o}", "is_dir": stat.S_ISDIR(info.st_mode),
            "owner": name(pwd.getpwuid, info.st_uid), "group": name(grp.getgrgid, info.st_gid)}


@fact("baseline_container")
def baseline_container() -> dict[str, Any]:
    """Which container manager this host runs under, if any (systemd-detect-virt, else /run/systemd/container)."""
    detected = run_command(["systemd-detect-virt", "--container"])
    if detected.get("rc") == 0 and detected.get("stdout", "").strip() not in ("", "none"):
        return {"container": detected["stdout"].strip(), "source": "systemd-detect-virt --container"}
    try:
        marker = Path("/run/systemd/container").read_text().strip()
    except OSError:
        marker = ""
    if marker:
        return {"container": marker, "source": "/run/systemd/container"}
    return {"container": None, "source": "systemd-detect-virt --container"}


@fact("baseline_sysctl_live")
def baseline_sysctl_live() -> dict[str, Any]:
    """`sysctl -a` as key -> value (keys the kernel refuses to show are left out, their count kept)."""
    result = run_command(["sysctl", "-a"])
    if "error" in result:
        return result
    values = {}
    for line in result["stdout"].splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            values[key.strip()] = value.strip()
    return {"command": result["command"], "rc": result["rc"], "values": values,
            "unreadable": len(result["stderr"].splitlines())}


@fact("baseline_modprobe_config")
def baseline_modprobe_config() -> dict[str, Any]:
    """Every modprobe.d/*.conf the kernel's module loader reads, by path (the first directory wins a name)."""
    files: dict[str, str] = {}
    seen: set[str] = set()
    for directory in BASELINE_MODPROBE_DIRS:
        for found in sorted(Path(directory).glob("*.conf")):
            path, name = str(found), found.name
            if name in seen or os.path.realpath(path) in files:
                continue
            seen.add(name)
            files[path] = Path(path).read_text(errors="replace")
    return {"files": files}


@fact("baseline_loaded_modules")
def baseline_loaded_modules() -> dict[str, Any]:
    try:
        text = Path("/proc/modules").read_text()
    except OSError as exc:
        return {"error": f"/proc/modules: {exc.strerror or exc}"}
    return {"modules": sorted(line.split()[0].replace("-", "_") for line in text.splitlines() if line.strip())}


@fact("baseline_sensitive_files")
def baseline_sensitive_files() -> dict[str, Any]:
    return {path: _baseline_stat(path) for path in BASELINE_SENSITIVE_PATHS}


@fact("baseline_banner_files")
def baseline_banner_files() -> dict[str, Any]:
    files = {}
    for path in BASELINE_BANNER_PATHS:
        entry = _baseline_stat(path)
        if entry.get("exists") and not entry.get("is_dir"):
            entry["content"] = Path(path).read_text(errors="replace")[:4000]
        files[path] = entry
    return files


def _baseline_local_mounts() -> list[str]:
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        target = fields[1].replace("\\040", " ") if len(fields) >= 3 else ""
        if fields[2:3] and fields[2] in BASELINE_LOCAL_FSTYPES \
                and not any(target == skip or target.startswith(skip + "/") for skip in BASELINE_SCAN_SKIP):
            mounts.append(target)
    return sorted(set(mounts))


@fact("baseline_filesystem_scan")
def baseline_filesystem_scan() -> dict[str, Any]:
    """World-writable files, world-writable directories without the sticky bit, and setuid/setgid programs on
    every local filesystem (`find -xdev` per mount point; /proc, /sys and network mounts are not walked)."""
    mounts = _baseline_local_mounts()
    argv = ["find", *mounts, "-xdev", "(",
            "(", "-type", "f", "-perm", "-0002", "-printf", "ww %p\\n", ")", "-o",
            "(", "-type", "d", "-perm", "-0002", "!", "-perm", "-1000", "-printf", "wwd %p\\n", ")", "-o",
            "(", "-type", "f", "-perm", "/6000", "-printf", "suid %p\\n", ")", ")"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT * 3, check=False)
    except subprocess.TimeoutExpired:
        return {"command": argv, "error": f"timed out after {COMMAND_TIMEOUT * 3}s"}
    found: dict[str, list[str]] = {"ww": [], "wwd": [], "suid": []}
    for line in proc.stdout.splitlines():
        kind, _, path = line.partition(" ")
        if kind in found:
            found[kind].append(path)
    # find exits 1 when a file vanished or could not be read during the walk; what it did print stands.
    return {"mounts": mounts, "rc": proc.returncode, "stderr": proc.stderr[-1000:],
            "world_writable_files": sorted(set(found["ww"]))[:BASELINE_SCAN_LIMIT],
            "world_writable_files_count": len(set(found["ww"])),
            "world_writable_dirs_without_sticky": sorted(set(found["wwd"]))[:BASELINE_SCAN_LIMIT],
            "world_writable_dirs_without_sticky_count": len(set(found["wwd"])),
            "setuid_setgid_files": sorted(set(found["suid"]))}


@fact("baseline_journald_state")
def baseline_journald_state() -> dict[str, Any]:
    active = run_command(["systemctl", "is-active", "systemd-journald.service"])
    persistent = list(Path("/var/log/journal").glob("*/system*.journal"))
    return {"active": str(active.get("stdout", "")).strip() or active.get("error"),
            "var_log_journal_is_dir": Path("/var/log/journal").is_dir(),
            "persistent_journal_files": len(persistent)}


@fact("baseline_audit_rules_persisted")
def baseline_audit_rules_persisted() -> dict[str, Any]:
    """/etc/audit/rules.d/*.rules in the order augenrules compiles them into audit.rules."""
    directory = Path("/etc/audit/rules.d")
    files = {str(path): path.read_text(errors="replace") for path in sorted(directory.glob("*.rules"))}
    return {"directory_exists": directory.is_dir(), "files": files}


@fact("baseline_auditd_state")
def baseline_auditd_state() -> dict[str, Any]:
    enabled = run_command(["systemctl", "is-enabled", "auditd.service"])
    active = run_command(["systemctl", "is-active", "auditd.service"])
    return {"installed": Path("/sbin/auditd").exists() or Path("/usr/sbin/auditd").exists(),
            "enabled": str(enabled.get("stdout", "")).strip() or "not-found",
            "active": str(active.get("stdout", "")).strip() or "unknown"}
