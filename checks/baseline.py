"""BASE-01..BASE-11: the hardening baseline, mapped to CIS Debian Linux 12 (see checks/catalogue/controls.yml).

Each control is judged from effective state where the host lets us see it (`sysctl -a`, `findmnt`, `stat`,
`systemctl`, a login session's limits and umask, `auditctl -l`) and from the persisted configuration that
will hold after a reboot (sysctl.d, modprobe.d, fstab, audit rules.d). Inside a container the machine's
kernel owns kernel.*/fs.* sysctls, module loading and the audit subsystem: those live parts are SKIPPED
with the reason "not observable in a container" — never passed.
"""

# ruff: noqa: S108 - /tmp and /dev/shm are the mount points this control is about, not temporary files
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from checks.baseline_audit import AuditRule, audits_execution, audits_syscalls, parse_rules, watches
from checks.model import (
    Check,
    Facts,
    MissingFact,
    Outcome,
    Params,
    Status,
    command_output,
    fact_field,
    fact_value,
    outcome,
)

NOT_OBSERVABLE = "not observable in a container"
GLOBAL_SYSCTL_PREFIXES = ("kernel.", "fs.")


# --- shared helpers ---------------------------------------------------------------------------------------

def container_of(facts: Facts) -> str | None:
    """The container manager this host runs under (e.g. systemd-nspawn), or None on a real server or VM."""
    container = fact_value(facts, "baseline_container").get("container")
    return str(container) if container else None


def skipped_in_container(container: str, what: str) -> Outcome:
    return Outcome(Status.SKIPPED, f"{what}: {NOT_OBSERVABLE} ({container}); the persisted configuration is "
                                   "checked separately", {"container": container, "reason": NOT_OBSERVABLE})


def file_content(facts: Facts, name: str) -> str:
    value = fact_value(facts, name)
    return str(value.get("content", ""))


def parse_key_values(text: str, separators: str = "=") -> dict[str, str]:
    """`key = value` lines, last assignment wins (sysctl.d and systemd's cat-config order)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;[":
            continue
        key, sep, value = line.partition(separators)
        if sep:
            values[key.strip()] = value.strip()
    return values


def parse_sysctl_config(text: str) -> dict[str, str]:
    """sysctl.d assignments in file order (`systemd-analyze cat-config sysctl.d`); `-` and `/` normalised."""
    values = {}
    for key, value in parse_key_values(text).items():
        values[key.lstrip("-").replace("/", ".")] = value
    return values


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Parameters given as "key=value" strings."""
    result = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        if not sep:
            raise ValueError(f"expected key=value, got {item!r}")
        result[key.strip()] = value.strip()
    return result


def _normal(value: str) -> str:
    return " ".join(value.split())


# --- BASE-01: kernel and network parameters ---------------------------------------------------------------

def evaluate_sysctl_persisted(facts: Facts, params: Params) -> Outcome:
    wanted = parse_assignments(params["sysctl"])
    persisted = parse_sysctl_config(command_output(facts, "baseline_sysctl_persisted"))
    observed = {key: persisted.get(key, "(not set)") for key in sorted(wanted)}
    problems = [f"{key} persisted as {observed[key]}, expected {value}" for key, value in sorted(wanted.items())
                if _normal(persisted.get(key, "")) != _normal(value)]
    return outcome(problems, f"all {len(wanted)} parameters are persisted in sysctl.d with the expected values",
                   {"persisted": observed})


def _evaluate_sysctl_live(facts: Facts, params: Params, global_keys: bool) -> Outcome:
    wanted = {key: value for key, value in parse_assignments(params["sysctl"]).items()
              if key.startswith(GLOBAL_SYSCTL_PREFIXES) == global_keys}
    if global_keys:
        container = container_of(facts)
        if container:
            return skipped_in_container(container, f"live values of {', '.join(sorted(wanted))}")
    live = fact_value(facts, "baseline_sysctl_live").get("values", {})
    observed = {key: live.get(key, "(absent)") for key in sorted(wanted)}
    problems = [f"{key} is {observed[key]}, expected {value}" for key, value in sorted(wanted.items())
                if _normal(str(live.get(key, ""))) != _normal(value)]
    kind = "kernel" if global_keys else "network"
    return outcome(problems, f"all {len(wanted)} {kind} parameters have the expected live values",
                   {"live": observed})


def evaluate_sysctl_network_live(facts: Facts, params: Params) -> Outcome:
    return _evaluate_sysctl_live(facts, params, global_keys=False)


def evaluate_sysctl_kernel_live(facts: Facts, params: Params) -> Outcome:
    return _evaluate_sysctl_live(facts, params, global_keys=True)


# --- BASE-02: unused filesystems and network protocols ----------------------------------------------------

def _module_name(name: str) -> str:
    return name.replace("-", "_")


def evaluate_modules_persisted(facts: Facts, params: Params) -> Outcome:
    files = fact_value(facts, "baseline_modprobe_config").get("files", {})
    installs: dict[str, str] = {}
    blacklisted: set[str] = set()
    for text in files.values():
        for raw in str(text).splitlines():
            words = raw.split("#", 1)[0].split()
            if len(words) >= 3 and words[0] == "install":
                installs[_module_name(words[1])] = " ".join(words[2:])
            elif len(words) >= 2 and words[0] == "blacklist":
                blacklisted.add(_module_name(words[1]))
    observed: dict[str, Any] = {}
    problems: list[str] = []
    for module in params["disabled_modules"]:
        name = _module_name(str(module))
        install = installs.get(name)
        refused = install is not None and install.split()[0] in ("/bin/false", "/usr/bin/false", "/bin/true",
                                                                   "/usr/bin/true")
        observed[name] = {"install": install or "(none)", "blacklisted": name in blacklisted}
        missing = [what for what, ok in (("install /bin/false", refused), ("blacklist", name in blacklisted))
                   if not ok]
        if missing:
            problems.append(f"{name}: no {' and no '.join(missing)} in modprobe.d")
    return outcome(problems, f"all {len(observed)} modules are refused (install /bin/false) and blacklisted",
                   {"modules": observed, "files": sorted(files)})


def evaluate_modules_live(facts: Facts, params: Params) -> Outcome:
    container = container_of(facts)
    if container:
        return skipped_in_container(container, "loaded kernel modules")
    loaded = set(fact_field(facts, "baseline_loaded_modules", "modules"))
    wanted = sorted(_module_name(str(module)) for module in params["disabled_modules"])
    found = [module for module in wanted if module in loaded]
    return outcome([f"module {module} is loaded" for module in found],
                   f"none of the {len(wanted)} disabled modules is loaded", {"loaded_disabled_modules": found})


# --- BASE-03: core dumps ----------------------------------------------------------------------------------

def _package_states(facts: Facts) -> dict[str, str]:
    states = {}
    for line in command_output(facts, "baseline_packages").splitlines():
        name, _, state = line.partition("\t")
        states[name.split(":")[0]] = state.strip()
    return states


def _installed(states: Mapping[str, str], package: str) -> bool:
    return states.get(package, "").startswith(("ii", "hi", "iU", "iF", "iH", "iW", "it"))


def evaluate_core_dumps(facts: Facts, params: Params) -> Outcome:
    limit = command_output(facts, "baseline_login_core_limit").strip()
    persisted = parse_sysctl_config(command_output(facts, "baseline_sysctl_persisted")).get("fs.suid_dumpable")
    observed: dict[str, Any] = {"login_session_hard_core_limit": limit,
                                "fs.suid_dumpable persisted": persisted or "(not set)"}
    problems = []
    if limit != "0":
        problems.append(f"a login session's hard core-file limit is {limit}, expected 0")
    if persisted != "0":
        problems.append(f"fs.suid_dumpable is persisted as {persisted or '(not set)'}, expected 0")
    if _installed(_package_states(facts), "systemd-coredump"):
        coredump = parse_key_values(command_output(facts, "baseline_coredump_config"))
        observed["coredump.conf"] = {key: coredump.get(key, "(default)") for key in ("Storage", "ProcessSizeMax")}
        if coredump.get("Storage") != "none" or coredump.get("ProcessSizeMax") != "0":
            problems.append("systemd-coredump is installed without Storage=none and ProcessSizeMax=0")
    return outcome(problems, "core dumps are limited to 0 for login sessions and setuid programs do not dump "
                             "(persisted)", observed)


def evaluate_core_dumps_live(facts: Facts, params: Params) -> Outcome:
    container = container_of(facts)
    if container:
        return skipped_in_container(container, "live value of fs.suid_dumpable")
    value = fact_value(facts, "baseline_sysctl_live").get("values", {}).get("fs.suid_dumpable", "(absent)")
    return outcome([] if value == "0" else [f"fs.suid_dumpable is {value}, expected 0"],
                   "fs.suid_dumpable is 0", {"fs.suid_dumpable": value})


# --- BASE-04: /tmp and /dev/shm mount options -------------------------------------------------------------

def _wanted_mounts(params: Params) -> dict[str, list[str]]:
    return {"/tmp": [str(option) for option in params["tmp_options"]],
            "/dev/shm": [str(option) for option in params["shm_options"]]}


def evaluate_mounts_live(facts: Facts, params: Params) -> Outcome:
    try:
        table = json.loads(command_output(facts, "baseline_mounts"))["filesystems"]
    except (ValueError, KeyError) as exc:
        raise MissingFact("baseline_mounts", f"unreadable findmnt output: {exc}") from exc
    mounted = {entry["target"]: entry for entry in table}  # the last mount on a target is the visible one
    observed: dict[str, Any] = {}
    problems: list[str] = []
    for target, options in _wanted_mounts(params).items():
        entry = mounted.get(target)
        if entry is None:
            observed[target] = "(not a separate mount)"
            problems.append(f"{target} is not a separate mount")
            continue
        have = set(str(entry.get("options", "")).split(","))
        observed[target] = f"{entry.get('fstype')} {entry.get('options')}"
        missing = [option for option in options if option not in have]
        if missing:
            problems.append(f"{target} is mounted without {','.join(missing)}")
    return outcome(problems, "/tmp and /dev/shm are mounted with the required options", {"mounted": observed})


def evaluate_mounts_fstab(facts: Facts, params: Params) -> Outcome:
    entries: dict[str, list[str]] = {}
    for raw in file_content(facts, "baseline_fstab").splitlines():
        fields = raw.split("#", 1)[0].split()
        if len(fields) >= 4:
            entries[fields[1]] = fields[3].split(",")
    observed: dict[str, Any] = {}
    problems: list[str] = []
    for target, options in _wanted_mounts(params).items():
        if target not in entries:
            observed[target] = "(no entry)"
            problems.append(f"/etc/fstab has no entry for {target}")
            continue
        observed[target] = ",".join(entries[target])
        missing = [option for option in options if option not in entries[target]]
        if missing:
            problems.append(f"/etc/fstab mounts {target} without {','.join(missing)}")
    return outcome(problems, "/etc/fstab mounts /tmp and /dev/shm with the required options at boot",
                   {"fstab": observed})


# --- BASE-05: sensitive files -----------------------------------------------------------------------------

# path: (owner, allowed groups, mode bits that must be clear). CIS Debian 12 7.1.1-7.1.10, 5.1.1, 2.4.1.2-7.
SENSITIVE_FILES: Mapping[str, tuple[str, tuple[str, ...], int]] = {
    "/etc/passwd": ("root", ("root",), 0o133),
    "/etc/passwd-": ("root", ("root",), 0o133),
    "/etc/group": ("root", ("root",), 0o133),
    "/etc/group-": ("root", ("root",), 0o133),
    "/etc/shadow": ("root", ("root", "shadow"), 0o137),
    "/etc/shadow-": ("root", ("root", "shadow"), 0o137),
    "/etc/gshadow": ("root", ("root", "shadow"), 0o137),
    "/etc/gshadow-": ("root", ("root", "shadow"), 0o137),
    "/etc/shells": ("root", ("root",), 0o133),
    "/etc/security/opasswd": ("root", ("root",), 0o177),
    "/etc/ssh/sshd_config": ("root", ("root",), 0o177),
    "/etc/crontab": ("root", ("root",), 0o177),
    "/etc/cron.hourly": ("root", ("root",), 0o077),
    "/etc/cron.daily": ("root", ("root",), 0o077),
    "/etc/cron.weekly": ("root", ("root",), 0o077),
    "/etc/cron.monthly": ("root", ("root",), 0o077),
    "/etc/cron.d": ("root", ("root",), 0o077),
}


def evaluate_sensitive_files(facts: Facts, params: Params) -> Outcome:
    seen = fact_value(facts, "baseline_sensitive_files")
    observed: dict[str, Any] = {}
    problems: list[str] = []
    for path, (owner, groups, forbidden) in SENSITIVE_FILES.items():
        entry = seen.get(path)
        if entry is None or "error" in entry:
            detail = entry.get("error") if entry else "missing"
            raise MissingFact("baseline_sensitive_files", f"{path}: {detail}")
        if not entry.get("exists"):
            observed[path] = "(absent)"
            continue
        observed[path] = f"{entry['owner']}:{entry['group']} {entry['mode']}"
        mode = int(entry["mode"], 8)
        if entry["owner"] != owner or entry["group"] not in groups:
            problems.append(f"{path} is owned by {entry['owner']}:{entry['group']}, expected {owner}:"
                            f"{'|'.join(groups)}")
        if mode & forbidden:
            problems.append(f"{path} has mode {entry['mode']}, at most {0o7777 & ~forbidden & 0o777:04o} allowed")
    return outcome(problems, "sensitive files have the prescribed owners and modes (absent ones need none)",
                   {"files": observed})


# --- BASE-06: world-writable files ------------------------------------------------------------------------

def evaluate_world_writable(facts: Facts, params: Params) -> Outcome:
    scan = fact_value(facts, "baseline_filesystem_scan")
    allowed = {str(path) for path in params["allowed_world_writable"]}
    files = [path for path in fact_field(facts, "baseline_filesystem_scan", "world_writable_files")
             if path not in allowed]
    dirs = [path for path in fact_field(facts, "baseline_filesystem_scan", "world_writable_dirs_without_sticky")
            if path not in allowed]
    observed = {"mounts_scanned": scan.get("mounts", []), "world_writable_files": files[:50],
                "world_writable_dirs_without_sticky": dirs[:50]}
    problems = []
    if files:
        problems.append(f"{len(files)} world-writable file(s): {', '.join(files[:10])}")
    if dirs:
        problems.append(f"{len(dirs)} world-writable director(ies) without the sticky bit: {', '.join(dirs[:10])}")
    return outcome(problems, f"no world-writable file and no unsticky world-writable directory on "
                             f"{len(observed['mounts_scanned'])} local mount(s)", observed)


# --- BASE-07: unneeded packages and services --------------------------------------------------------------

def evaluate_packages_absent(facts: Facts, params: Params) -> Outcome:
    states = _package_states(facts)
    present = sorted(str(p) for p in params["absent_packages"] if _installed(states, str(p)))
    return outcome([f"unneeded package(s) installed: {', '.join(present)}"] if present else [],
                   f"none of the {len(params['absent_packages'])} unneeded packages is installed",
                   {"installed_unneeded": present})


def _units(text: str) -> dict[str, str]:
    return {fields[0]: fields[1] for fields in (line.split() for line in text.splitlines()) if len(fields) >= 2}


def evaluate_services_off(facts: Facts, params: Params) -> Outcome:
    files = _units(command_output(facts, "baseline_service_unit_files"))
    active = set(_units(command_output(facts, "baseline_service_units_active")))
    observed: dict[str, Any] = {}
    problems: list[str] = []
    for name in params["disabled_services"]:
        units = [unit for unit in files if unit.rsplit(".", 1)[0] == name]
        for unit in units:
            observed[unit] = f"{files[unit]}, {'active' if unit in active else 'inactive'}"
            if files[unit] in ("enabled", "enabled-runtime", "linked") or unit in active:
                problems.append(f"{unit} is {observed[unit]}")
    return outcome(problems, f"none of the {len(params['disabled_services'])} unneeded services is enabled or "
                             "running", {"units": observed})


# --- BASE-08: journald persistence ------------------------------------------------------------------------

def evaluate_journald(facts: Facts, params: Params) -> Outcome:
    config = parse_key_values(command_output(facts, "baseline_journald_config"))
    state = fact_value(facts, "baseline_journald_state")
    observed = {"Storage": config.get("Storage", "(default: auto)"), "Compress": config.get("Compress", "(default)"),
                "journald": state.get("active"), "/var/log/journal": state.get("var_log_journal_is_dir"),
                "persistent_journal_files": state.get("persistent_journal_files")}
    problems = []
    if config.get("Storage") != "persistent":
        problems.append(f"journald Storage is {observed['Storage']}, expected persistent")
    if config.get("Compress", "yes") != "yes":
        problems.append(f"journald Compress is {config.get('Compress')}, expected yes")
    if state.get("active") != "active":
        problems.append(f"systemd-journald is {state.get('active')}")
    if not state.get("var_log_journal_is_dir") or not state.get("persistent_journal_files"):
        problems.append("no journal is being written under /var/log/journal")
    return outcome(problems, "journald keeps its journal on disk (Storage=persistent) and is writing it", observed)


# --- BASE-09: auditd and its rules ------------------------------------------------------------------------

IDENTITY_FILES = ("/etc/group", "/etc/passwd", "/etc/gshadow", "/etc/shadow", "/etc/security/opasswd",
                  "/etc/nsswitch.conf", "/etc/pam.conf", "/etc/pam.d")
REQUIRED_WATCHES = (
    *((path, "wa", "identity (CIS 6.2.3.8)") for path in IDENTITY_FILES),
    ("/etc/sudoers", "wa", "sudoers changes (CIS 6.2.3.1)"),
    ("/etc/sudoers.d", "wa", "sudoers changes (CIS 6.2.3.1)"),
    ("/etc/localtime", "wa", "time changes (CIS 6.2.3.4)"),
)
REQUIRED_SYSCALLS = (
    (("adjtimex", "settimeofday", "clock_settime"), (), "time changes (CIS 6.2.3.4)"),
    (("init_module", "finit_module", "delete_module"), (), "kernel module loading (CIS 6.2.3.19)"),
    (("execve",), ("euid!=uid",), "commands run as another user through sudo (CIS 6.2.3.2)"),
)
REQUIRED_EXECUTIONS = (("/usr/bin/kmod", "kernel module tools (CIS 6.2.3.19)"),)


def missing_baseline_rules(rules: list[AuditRule], privileged: Iterable[str]) -> list[str]:
    missing = [f"-w {path} -p {perms} ({why})" for path, perms, why in REQUIRED_WATCHES
               if not watches(rules, path, perms)]
    missing += [f"-S {','.join(calls)} {' '.join(fields)} ({why})".replace("  ", " ")
                for calls, fields, why in REQUIRED_SYSCALLS if not audits_syscalls(rules, calls, "b64", fields)]
    missing += [f"-F path={path} -F perm=x ({why})" for path, why in REQUIRED_EXECUTIONS
                if not audits_execution(rules, path)]
    missing += [f"-F path={path} -F perm=x (privileged command, CIS 6.2.3.6)" for path in privileged
                if not audits_execution(rules, path)]
    return missing


def persisted_rules(facts: Facts) -> tuple[list[AuditRule], list[str]]:
    persisted = fact_value(facts, "baseline_audit_rules_persisted")
    files = persisted.get("files", {})
    return parse_rules("\n".join(str(text) for text in files.values())), sorted(files)


def _privileged(facts: Facts) -> list[str]:
    return [str(path) for path in fact_field(facts, "baseline_filesystem_scan", "setuid_setgid_files")]


def evaluate_audit_rules_persisted(facts: Facts, params: Params) -> Outcome:
    rules, files = persisted_rules(facts)
    missing = missing_baseline_rules(rules, _privileged(facts))
    observed = {"rules_files": files, "rules": len(rules), "missing": missing}
    return outcome([f"{len(missing)} required audit rule(s) missing from /etc/audit/rules.d: "
                    + "; ".join(missing[:8])] if missing else [],
                   "audit rules for identity files, sudo, privileged commands, time and modules are persisted",
                   observed)


def evaluate_audit_rules_live(facts: Facts, params: Params) -> Outcome:
    container = container_of(facts)
    if container:
        return skipped_in_container(container, "the kernel's audit rules (auditctl -l)")
    rules = parse_rules(command_output(facts, "baseline_audit_rules_live"))
    missing = missing_baseline_rules(rules, _privileged(facts))
    return outcome([f"{len(missing)} required audit rule(s) not loaded in the kernel: " + "; ".join(missing[:8])]
                   if missing else [], "the required audit rules are loaded in the kernel",
                   {"rules_loaded": len(rules), "missing": missing})


def evaluate_auditd_service(facts: Facts, params: Params) -> Outcome:
    state = fact_value(facts, "baseline_auditd_state")
    observed = dict(state)
    problems = []
    if not state.get("installed"):
        problems.append("auditd is not installed")
    if state.get("enabled") != "enabled":
        problems.append(f"auditd.service is {state.get('enabled')}, expected enabled")
    container = container_of(facts)
    if container:
        observed["active"] = f"{state.get('active')} ({NOT_OBSERVABLE}: the audit subsystem is the machine's)"
        if problems:
            return Outcome(Status.FAIL, "; ".join(problems), observed)
        return Outcome(Status.SKIPPED, f"auditd is installed and enabled; whether it runs is {NOT_OBSERVABLE} "
                                       f"({container})", {**observed, "reason": NOT_OBSERVABLE})
    if state.get("active") != "active":
        problems.append(f"auditd.service is {state.get('active')}, expected active")
    return outcome(problems, "auditd is installed, enabled and running", observed)


# --- BASE-10: login banners -------------------------------------------------------------------------------

_DISCLOSURE = re.compile(r"\\[mrsv]|debian|ubuntu|gnu/linux|kernel", re.IGNORECASE)


def evaluate_banner(facts: Facts, params: Params) -> Outcome:
    files = fact_value(facts, "baseline_banner_files")
    text = _normal(str(params["banner_text"]))
    observed: dict[str, Any] = {}
    problems: list[str] = []
    for path in ("/etc/issue", "/etc/issue.net", "/etc/motd"):
        entry = files.get(path) or {}
        if not entry.get("exists"):
            observed[path] = "(absent)"
            if path != "/etc/motd":
                problems.append(f"{path} is absent")
            continue
        content = str(entry.get("content", ""))
        observed[path] = {"owner": f"{entry.get('owner')}:{entry.get('group')}", "mode": entry.get("mode"),
                          "first_line": content.strip().splitlines()[0][:120] if content.strip() else ""}
        disclosure = _DISCLOSURE.search(content)
        if disclosure:
            problems.append(f"{path} discloses the system ({disclosure.group(0)!r})")
        if path != "/etc/motd" and text not in _normal(content):
            problems.append(f"{path} does not carry the warning banner")
        if entry.get("owner") != "root" or entry.get("group") != "root" or int(str(entry.get("mode")), 8) & 0o133:
            problems.append(f"{path} is {entry.get('owner')}:{entry.get('group')} {entry.get('mode')}, expected "
                            "root:root 0644 or stricter")
    return outcome(problems, "local and remote login banners carry the warning and disclose nothing", observed)


# --- BASE-11: default umask -------------------------------------------------------------------------------

def evaluate_umask(facts: Facts, params: Params) -> Outcome:
    wanted = int(str(params["umask"]), 8)
    session = command_output(facts, "baseline_login_umask").strip()
    configured = "(not set)"
    for line in file_content(facts, "baseline_login_defs").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "UMASK":
            configured = words[1]
    observed = {"login_session_umask": session, "login.defs UMASK": configured}
    problems = []
    for what, value in (("a login session's umask", session), ("UMASK in /etc/login.defs", configured)):
        try:
            number = int(value.split()[0], 8)
        except (ValueError, IndexError):
            problems.append(f"{what} is {value}")
            continue
        if number & wanted != wanted:
            problems.append(f"{what} is {value}, expected {params['umask']} or stricter")
    return outcome(problems, f"new files of users are created with umask {params['umask']} or stricter", observed)


# --- the checks -------------------------------------------------------------------------------------------

def _check(check_id: str, control_id: str, title: str, facts: tuple[str, ...], evaluate: Any) -> Check:
    return Check(id=check_id, control_id=control_id, title=title, facts=facts, evaluate=evaluate)


BASELINE_CHECKS: tuple[Check, ...] = (
    _check("baseline_sysctl_persisted", "BASE-01", "kernel and network parameters are persisted in sysctl.d",
           ("baseline_sysctl_persisted",), evaluate_sysctl_persisted),
    _check("baseline_sysctl_network_live", "BASE-01", "network parameters (net.*) have the expected live values",
           ("baseline_sysctl_live",), evaluate_sysctl_network_live),
    _check("baseline_sysctl_kernel_live", "BASE-01", "kernel parameters (kernel.*, fs.*) have the expected live "
           "values", ("baseline_container", "baseline_sysctl_live"), evaluate_sysctl_kernel_live),
    _check("baseline_modules_disabled_persisted", "BASE-02", "unused filesystem and protocol modules are refused "
           "and blacklisted in modprobe.d", ("baseline_modprobe_config",), evaluate_modules_persisted),
    _check("baseline_modules_not_loaded", "BASE-02", "no disabled module is loaded",
           ("baseline_container", "baseline_loaded_modules"), evaluate_modules_live),
    _check("baseline_core_dumps_restricted", "BASE-03", "core dumps are restricted (limits, suid_dumpable, "
           "systemd-coredump)", ("baseline_login_core_limit", "baseline_sysctl_persisted", "baseline_packages",
                                 "baseline_coredump_config"), evaluate_core_dumps),
    _check("baseline_core_dumps_suid_live", "BASE-03", "fs.suid_dumpable is 0 in the running kernel",
           ("baseline_container", "baseline_sysctl_live"), evaluate_core_dumps_live),
    _check("baseline_tmp_shm_mounted", "BASE-04", "/tmp and /dev/shm are mounted nodev,nosuid,noexec",
           ("baseline_mounts",), evaluate_mounts_live),
    _check("baseline_tmp_shm_fstab", "BASE-04", "/etc/fstab mounts /tmp and /dev/shm nodev,nosuid,noexec",
           ("baseline_fstab",), evaluate_mounts_fstab),
    _check("baseline_sensitive_file_permissions", "BASE-05", "account, sshd and cron files have the prescribed "
           "owners and modes", ("baseline_sensitive_files",), evaluate_sensitive_files),
    _check("baseline_no_world_writable", "BASE-06", "no world-writable file and no world-writable directory "
           "without the sticky bit", ("baseline_filesystem_scan",), evaluate_world_writable),
    _check("baseline_unneeded_packages_absent", "BASE-07", "unneeded client and server packages are absent",
           ("baseline_packages",), evaluate_packages_absent),
    _check("baseline_unneeded_services_off", "BASE-07", "unneeded services are neither enabled nor running",
           ("baseline_service_unit_files", "baseline_service_units_active"), evaluate_services_off),
    _check("baseline_journald_persistent", "BASE-08", "journald stores the journal persistently",
           ("baseline_journald_config", "baseline_journald_state"), evaluate_journald),
    _check("baseline_auditd_enabled", "BASE-09", "auditd is installed, enabled and running",
           ("baseline_container", "baseline_auditd_state"), evaluate_auditd_service),
    _check("baseline_audit_rules_persisted", "BASE-09", "the required audit rules are persisted in "
           "/etc/audit/rules.d", ("baseline_audit_rules_persisted", "baseline_filesystem_scan"),
           evaluate_audit_rules_persisted),
    _check("baseline_audit_rules_live", "BASE-09", "the required audit rules are loaded in the kernel",
           ("baseline_container", "baseline_audit_rules_live", "baseline_filesystem_scan"),
           evaluate_audit_rules_live),
    _check("baseline_login_banner", "BASE-10", "login banners warn and disclose nothing about the system",
           ("baseline_banner_files",), evaluate_banner),
    _check("baseline_default_umask", "BASE-11", "users' default umask is 027 or stricter",
           ("baseline_login_umask", "baseline_login_defs"), evaluate_umask),
)
