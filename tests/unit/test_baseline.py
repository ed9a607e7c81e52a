"""BASE-01..BASE-11 evaluators over outputs seen on Debian 12 lab hosts (fresh, hardened, and in a container)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from checks import baseline
from checks.baseline_audit import audits_execution, audits_syscalls, parse_rule, parse_rules, watches
from checks.catalogue import load_catalogue
from checks.model import MissingFact, Status

PARAMS = {control.id: control.parameter_defaults() for control in load_catalogue().controls}
NSPAWN = {"container": "systemd-nspawn", "source": "systemd-detect-virt --container"}
SERVER = {"container": None, "source": "systemd-detect-virt --container"}


def cmd(stdout: str, rc: int = 0) -> dict[str, Any]:
    return {"command": ["x"], "rc": rc, "stdout": stdout, "stderr": ""}


def persisted_sysctl(overrides: dict[str, str] | None = None) -> str:
    values = baseline.parse_assignments(PARAMS["BASE-01"]["sysctl"])
    values.update(overrides or {})
    body = "\n".join(f"{key} = {value}" for key, value in values.items())
    return f"# /usr/lib/sysctl.d/50-pid-max.conf\nkernel.pid_max = 4194304\n\n# /etc/sysctl.d/zz.conf\n{body}\n"


def live_sysctl(overrides: dict[str, str] | None = None) -> dict[str, Any]:
    values = baseline.parse_assignments(PARAMS["BASE-01"]["sysctl"])
    values.update(overrides or {})
    return {"rc": 0, "values": values, "unreadable": 0}


def test_sysctl_persisted_pass_and_a_reverted_value_fails() -> None:
    facts = {"baseline_sysctl_persisted": cmd(persisted_sysctl())}
    assert baseline.evaluate_sysctl_persisted(facts, PARAMS["BASE-01"]).status is Status.PASS
    # A later file (sysctl.d order) reverting one value is the effective persisted value.
    reverted = persisted_sysctl() + "# /etc/sysctl.d/zzz.conf\nnet.ipv4.conf.all.accept_redirects=1\n"
    result = baseline.evaluate_sysctl_persisted({"baseline_sysctl_persisted": cmd(reverted)}, PARAMS["BASE-01"])
    assert result.status is Status.FAIL
    assert "net.ipv4.conf.all.accept_redirects persisted as 1" in result.message


def test_sysctl_kernel_live_is_skipped_in_a_container_never_passed() -> None:
    facts = {"baseline_container": NSPAWN, "baseline_sysctl_live": live_sysctl()}
    result = baseline.evaluate_sysctl_kernel_live(facts, PARAMS["BASE-01"])
    assert result.status is Status.SKIPPED
    assert "not observable in a container" in result.message
    server = {"baseline_container": SERVER, "baseline_sysctl_live": live_sysctl({"kernel.randomize_va_space": "0"})}
    assert baseline.evaluate_sysctl_kernel_live(server, PARAMS["BASE-01"]).status is Status.FAIL


def test_sysctl_network_live_fails_on_a_fresh_host() -> None:
    fresh = live_sysctl({"net.ipv4.conf.all.send_redirects": "1", "net.ipv4.conf.all.rp_filter": "0"})
    result = baseline.evaluate_sysctl_network_live({"baseline_sysctl_live": fresh}, PARAMS["BASE-01"])
    assert result.status is Status.FAIL and "send_redirects is 1" in result.message


def test_modules_persisted_needs_install_and_blacklist() -> None:
    modules = PARAMS["BASE-02"]["disabled_modules"]
    text = "".join(f"install {m} /bin/false\nblacklist {m}\n" for m in modules)
    facts = {"baseline_modprobe_config": {"files": {"/etc/modprobe.d/x.conf": text}}}
    assert baseline.evaluate_modules_persisted(facts, PARAMS["BASE-02"]).status is Status.PASS
    half = text.replace("blacklist sctp\n", "")
    result = baseline.evaluate_modules_persisted({"baseline_modprobe_config": {"files": {"/x.conf": half}}},
                                                 PARAMS["BASE-02"])
    assert result.status is Status.FAIL and result.message == "sctp: no blacklist in modprobe.d"


def test_loaded_modules_skipped_in_container_and_missing_proc_modules_is_an_error_on_a_server() -> None:
    missing = {"error": "/proc/modules: No such file or directory"}
    facts = {"baseline_container": NSPAWN, "baseline_loaded_modules": missing}
    assert baseline.evaluate_modules_live(facts, PARAMS["BASE-02"]).status is Status.SKIPPED
    with pytest.raises(MissingFact):
        baseline.evaluate_modules_live({"baseline_container": SERVER, "baseline_loaded_modules": missing},
                                       PARAMS["BASE-02"])
    loaded = {"baseline_container": SERVER, "baseline_loaded_modules": {"modules": ["ext4", "usb_storage"]}}
    result = baseline.evaluate_modules_live(loaded, PARAMS["BASE-02"])
    assert result.status is Status.FAIL and "usb_storage" in result.message


def test_core_dumps() -> None:
    facts = {"baseline_login_core_limit": cmd("0\n"), "baseline_sysctl_persisted": cmd("fs.suid_dumpable = 0\n"),
             "baseline_packages": cmd("systemd\tii \n"), "baseline_coredump_config": cmd("")}
    assert baseline.evaluate_core_dumps(facts, {}).status is Status.PASS
    fresh = {**facts, "baseline_sysctl_persisted": cmd("kernel.pid_max = 4194304\n")}
    assert baseline.evaluate_core_dumps(fresh, {}).status is Status.FAIL
    coredump = {**facts, "baseline_packages": cmd("systemd-coredump\tii \n"),
                "baseline_coredump_config": cmd("[Coredump]\nStorage=external\n")}
    assert "systemd-coredump" in baseline.evaluate_core_dumps(coredump, {}).message


FINDMNT = {"filesystems": [
    {"target": "/", "source": "overlay", "fstype": "overlay", "options": "rw,relatime"},
    {"target": "/tmp", "source": "tmpfs", "fstype": "tmpfs", "options": "rw,nosuid,nodev,size=2468368k"},
    {"target": "/dev/shm", "source": "tmpfs", "fstype": "tmpfs", "options": "rw,nosuid,nodev,noexec"}]}


def test_mounts_live_and_fstab() -> None:
    result = baseline.evaluate_mounts_live({"baseline_mounts": cmd(json.dumps(FINDMNT))}, PARAMS["BASE-04"])
    assert result.status is Status.FAIL and result.message == "/tmp is mounted without noexec"
    fstab = {"baseline_fstab": {"path": "/etc/fstab", "content": "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n"}}
    assert baseline.evaluate_mounts_fstab(fstab, PARAMS["BASE-04"]).status is Status.FAIL
    good = {"baseline_fstab": {"content": "tmpfs /tmp tmpfs defaults,nodev,nosuid,noexec 0 0\n"
                                          "tmpfs /dev/shm tmpfs defaults,nodev,nosuid,noexec 0 0\n"}}
    assert baseline.evaluate_mounts_fstab(good, PARAMS["BASE-04"]).status is Status.PASS


def entry(owner: str, group: str, mode: str) -> dict[str, Any]:
    return {"exists": True, "owner": owner, "group": group, "mode": mode, "is_dir": False}


def test_sensitive_files_fresh_debian_fails_on_sshd_config_and_cron() -> None:
    files = {path: {"exists": False} for path in baseline.SENSITIVE_FILES}
    files.update({"/etc/passwd": entry("root", "root", "0644"), "/etc/shadow": entry("root", "shadow", "0640"),
                  "/etc/ssh/sshd_config": entry("root", "root", "0644")})
    result = baseline.evaluate_sensitive_files({"baseline_sensitive_files": files}, {})
    assert result.status is Status.FAIL and result.message.startswith("/etc/ssh/sshd_config has mode 0644")
    files["/etc/ssh/sshd_config"] = entry("root", "root", "0600")
    assert baseline.evaluate_sensitive_files({"baseline_sensitive_files": files}, {}).status is Status.PASS
    files["/etc/shadow"] = entry("root", "root", "0644")
    assert "/etc/shadow has mode 0644" in baseline.evaluate_sensitive_files({"baseline_sensitive_files": files},
                                                                             {}).message


def test_world_writable() -> None:
    scan = {"mounts": ["/", "/tmp"], "world_writable_files": [], "world_writable_dirs_without_sticky": [],
            "setuid_setgid_files": []}
    assert baseline.evaluate_world_writable({"baseline_filesystem_scan": scan},
                                            PARAMS["BASE-06"]).status is Status.PASS
    planted = {**scan, "world_writable_files": ["/srv/app/planted"]}
    result = baseline.evaluate_world_writable({"baseline_filesystem_scan": planted}, PARAMS["BASE-06"])
    assert result.status is Status.FAIL and "/srv/app/planted" in result.message
    allowed = baseline.evaluate_world_writable({"baseline_filesystem_scan": planted},
                                               {"allowed_world_writable": ["/srv/app/planted"]})
    assert allowed.status is Status.PASS


def test_packages_and_services() -> None:
    packages = cmd("openssh-server\tii \ntelnet\tii \nrsh-client\trc \n")
    result = baseline.evaluate_packages_absent({"baseline_packages": packages}, PARAMS["BASE-07"])
    assert result.status is Status.FAIL and result.observed == {"installed_unneeded": ["telnet"]}
    files = cmd("ssh.service enabled enabled\nrpcbind.service enabled enabled\nrpcbind.socket enabled enabled\n")
    active = cmd("ssh.service loaded active running OpenBSD Secure Shell server\n")
    result = baseline.evaluate_services_off({"baseline_service_unit_files": files,
                                             "baseline_service_units_active": active}, PARAMS["BASE-07"])
    assert result.status is Status.FAIL and "rpcbind.socket" in result.message


def test_journald() -> None:
    state = {"active": "active", "var_log_journal_is_dir": True, "persistent_journal_files": 1}
    fresh = {"baseline_journald_config": cmd("# /etc/systemd/journald.conf\n[Journal]\n#Storage=auto\n"),
             "baseline_journald_state": state}
    assert baseline.evaluate_journald(fresh, {}).status is Status.FAIL
    hardened = {**fresh, "baseline_journald_config": cmd("[Journal]\n# /etc/systemd/journald.conf.d/60.conf\n"
                                                         "[Journal]\nStorage=persistent\nCompress=yes\n")}
    assert baseline.evaluate_journald(hardened, {}).status is Status.PASS


BASELINE_RULES = """
-w /etc/group -p wa -k identity
-w /etc/passwd -p wa -k identity
-w /etc/gshadow -p wa -k identity
-w /etc/shadow -p wa -k identity
-w /etc/security/opasswd -p wa -k identity
-w /etc/nsswitch.conf -p wa -k identity
-w /etc/pam.conf -p wa -k identity
-w /etc/pam.d -p wa -k identity
-w /etc/sudoers -p wa -k scope
-w /etc/sudoers.d -p wa -k scope
-a always,exit -F arch=b64 -C euid!=uid -F auid!=unset -S execve -k user_emulation
-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change
-w /etc/localtime -p wa -k time-change
-a always,exit -F arch=b64 -S init_module,finit_module,delete_module -F auid>=1000 -F auid!=unset -k kernel_modules
-a always,exit -F path=/usr/bin/kmod -F perm=x -F auid>=1000 -F auid!=unset -k kernel_modules
-a always,exit -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=unset -k privileged
"""
# What `auditctl -l` prints for the same rules on a Debian 12 server (keys as -F key=, unset as -1).
AUDITCTL_L = """-w /etc/group -p wa -k identity
-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -F key=time-change
-a always,exit -F arch=b64 -S execve -C euid!=uid -F auid!=-1 -F key=user_emulation
-a always,exit -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=-1 -F key=privileged
-a always,exit -F dir=/srv/customer-data -F perm=rwxa -F key=stockade-data
"""


def test_audit_rule_parsing() -> None:
    rule = parse_rule("-a exit,always -F arch=b64 -S execve -C euid!=uid -F auid!=-1 -F key=user_emulation")
    assert rule is not None and rule.action == "always,exit" and rule.key == "user_emulation"
    assert rule.fields == ("euid!=uid", "auid!=unset")
    live = parse_rules(AUDITCTL_L)
    assert watches(live, "/etc/group", "wa", "identity")
    assert watches(live, "/srv/customer-data/", "rwxa", "stockade-data")
    assert not watches(live, "/srv/customer-data", "rwxa", "other-key")
    assert audits_syscalls(live, ["adjtimex", "clock_settime"])
    assert audits_syscalls(live, ["execve"], required_fields=["euid!=uid"])
    assert audits_execution(live, "/usr/bin/sudo") and not audits_execution(live, "/usr/bin/su")
    assert parse_rule("-D") is None and parse_rule("## comment") is None


def test_audit_rules_persisted_and_live() -> None:
    scan = {"setuid_setgid_files": ["/usr/bin/sudo"]}
    facts = {"baseline_audit_rules_persisted": {"files": {"/etc/audit/rules.d/50.rules": BASELINE_RULES}},
             "baseline_filesystem_scan": scan}
    assert baseline.evaluate_audit_rules_persisted(facts, {}).status is Status.PASS
    removed = BASELINE_RULES.replace("-w /etc/shadow -p wa -k identity\n", "")
    facts["baseline_audit_rules_persisted"] = {"files": {"/x.rules": removed}}
    result = baseline.evaluate_audit_rules_persisted(facts, {})
    assert result.status is Status.FAIL and "-w /etc/shadow -p wa" in result.message
    with_su = {**facts, "baseline_audit_rules_persisted": {"files": {"/x.rules": BASELINE_RULES}},
               "baseline_filesystem_scan": {"setuid_setgid_files": ["/usr/bin/sudo", "/usr/bin/su"]}}
    assert "path=/usr/bin/su " in baseline.evaluate_audit_rules_persisted(with_su, {}).message
    live = {"baseline_container": NSPAWN, "baseline_audit_rules_live": {"rc": 1, "stdout": "", "stderr": "x"},
            "baseline_filesystem_scan": scan}
    assert baseline.evaluate_audit_rules_live(live, {}).status is Status.SKIPPED
    on_server = {**live, "baseline_container": SERVER, "baseline_audit_rules_live": cmd(AUDITCTL_L)}
    assert baseline.evaluate_audit_rules_live(on_server, {}).status is Status.FAIL  # identity watches missing


def test_auditd_service_in_container_is_skipped_when_enabled_and_fails_when_missing() -> None:
    enabled = {"installed": True, "enabled": "enabled", "active": "inactive"}
    facts = {"baseline_container": NSPAWN, "baseline_auditd_state": enabled}
    assert baseline.evaluate_auditd_service(facts, {}).status is Status.SKIPPED
    missing = {"installed": False, "enabled": "not-found", "active": "inactive"}
    assert baseline.evaluate_auditd_service({**facts, "baseline_auditd_state": missing}, {}).status is Status.FAIL
    server = {"baseline_container": SERVER, "baseline_auditd_state": enabled}
    assert baseline.evaluate_auditd_service(server, {}).status is Status.FAIL


def test_banner() -> None:
    fresh = {"/etc/issue": {**entry("root", "root", "0644"), "content": "Debian GNU/Linux 12 \\n \\l\n"},
             "/etc/issue.net": {**entry("root", "root", "0644"), "content": "Debian GNU/Linux 12\n"},
             "/etc/motd": {"exists": False}}
    assert baseline.evaluate_banner({"baseline_banner_files": fresh}, PARAMS["BASE-10"]).status is Status.FAIL
    text = PARAMS["BASE-10"]["banner_text"] + "\n"
    good = {path: {**entry("root", "root", "0644"), "content": text} for path in fresh}
    assert baseline.evaluate_banner({"baseline_banner_files": good}, PARAMS["BASE-10"]).status is Status.PASS


def test_umask() -> None:
    defs = {"baseline_login_defs": {"content": "# UMASK is the default\nUMASK\t\t022\n"}}
    fresh = {"baseline_login_umask": cmd("0022\n"), **defs}
    result = baseline.evaluate_umask(fresh, PARAMS["BASE-11"])
    assert result.status is Status.FAIL and result.observed["login.defs UMASK"] == "022"
    hardened = {"baseline_login_umask": cmd("0027\n"), "baseline_login_defs": {"content": "UMASK\t\t027\n"}}
    assert baseline.evaluate_umask(hardened, PARAMS["BASE-11"]).status is Status.PASS
    stricter = {"baseline_login_umask": cmd("0077\n"), "baseline_login_defs": {"content": "UMASK 077\n"}}
    assert baseline.evaluate_umask(stricter, PARAMS["BASE-11"]).status is Status.PASS


def test_a_failed_command_is_an_error_never_a_pass() -> None:
    with pytest.raises(MissingFact):
        baseline.evaluate_sysctl_persisted({"baseline_sysctl_persisted": cmd("", rc=1)}, PARAMS["BASE-01"])
    with pytest.raises(MissingFact):
        baseline.evaluate_sysctl_kernel_live({"baseline_sysctl_live": live_sysctl()}, PARAMS["BASE-01"])


# What `auditctl -l` (audit 4.0.2, Debian 13 VM lab host) really printed for BASELINE_RULES: a path rule gains
# `-S all`, `-C euid!=uid` comes back as `-C uid!=euid`, syscalls in the kernel's order, unset as -1.
AUDITCTL_L_DEBIAN_13 = """-w /etc/group -p wa -k identity
-w /etc/passwd -p wa -k identity
-w /etc/gshadow -p wa -k identity
-w /etc/shadow -p wa -k identity
-w /etc/security/opasswd -p wa -k identity
-w /etc/nsswitch.conf -p wa -k identity
-w /etc/pam.conf -p wa -k identity
-w /etc/pam.d -p wa -k identity
-w /etc/sudoers -p wa -k scope
-w /etc/sudoers.d -p wa -k scope
-a always,exit -F arch=b64 -S execve -C uid!=euid -F auid!=-1 -F key=user_emulation
-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -F key=time-change
-w /etc/localtime -p wa -k time-change
-a always,exit -F arch=b64 -S init_module,delete_module,finit_module -F auid>=1000 -F auid!=-1 -F key=kernel_modules
-a always,exit -S all -F path=/usr/bin/kmod -F perm=x -F auid>=1000 -F auid!=-1 -F key=kernel_modules
-a always,exit -S all -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=-1 -F key=privileged
-w /srv/customer-data -p rwxa -k stockade-data
"""


def test_the_kernels_printed_form_of_the_persisted_rules_is_the_same_rules() -> None:
    persisted, live = parse_rules(BASELINE_RULES), parse_rules(AUDITCTL_L_DEBIAN_13)
    printed = parse_rule("-a always,exit -S all -F path=/usr/bin/sudo -F perm=x")
    assert printed is not None and printed.syscalls == frozenset() and printed.path == "/usr/bin/sudo"
    for rules in (persisted, live):
        assert audits_execution(rules, "/usr/bin/sudo") and audits_execution(rules, "/usr/bin/kmod")
        assert audits_syscalls(rules, ["execve"], required_fields=["euid!=uid"])
        assert audits_syscalls(rules, ["init_module", "finit_module", "delete_module"])
    assert {r.fields for r in persisted if r.key == "user_emulation"} == \
        {r.fields for r in live if r.key == "user_emulation"}
    # A rule for every syscall of an arch covers any syscall; a path rule (also -S all) covers none.
    assert audits_syscalls(parse_rules("-a always,exit -F arch=b64 -S all -k everything"), ["execve"])
    assert not audits_syscalls(parse_rules("-a always,exit -S all -F arch=b64 -F path=/x -F perm=x"), ["execve"])
    assert not audits_syscalls(live, ["execve"], required_fields=["euid=uid"])

    scan = {"setuid_setgid_files": ["/usr/bin/sudo"]}
    facts = {"baseline_container": SERVER, "baseline_audit_rules_live": cmd(AUDITCTL_L_DEBIAN_13),
             "baseline_filesystem_scan": scan}
    assert baseline.evaluate_audit_rules_live(facts, {}).status is Status.PASS
    # Strict: a persisted rule the kernel does not have is FAIL, named.
    deleted = AUDITCTL_L_DEBIAN_13.replace("-a always,exit -S all -F path=/usr/bin/sudo -F perm=x -F auid>=1000 "
                                           "-F auid!=-1 -F key=privileged\n", "")
    result = baseline.evaluate_audit_rules_live({**facts, "baseline_audit_rules_live": cmd(deleted)}, {})
    assert result.status is Status.FAIL and "path=/usr/bin/sudo" in result.message
    no_comparison = AUDITCTL_L_DEBIAN_13.replace(" -C uid!=euid", "")
    result = baseline.evaluate_audit_rules_live({**facts, "baseline_audit_rules_live": cmd(no_comparison)}, {})
    assert result.status is Status.FAIL and "execve euid!=uid" in result.message
