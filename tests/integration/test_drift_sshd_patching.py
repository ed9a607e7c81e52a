"""Issue 14 items 4-6 on real hardened lab hosts (Debian 13): drift planted where only a check that reads the
configuration the way its consumer does can see it, caught in ONE audit of all hosts, each by the right check
naming the offender; an untouched hardened host beside them has no failure and no error.

- lab-01: untouched.
- lab-02 (sshd in every context): Match blocks appended to the end of sshd_config re-enable passwords for an
  address range, root login for root, TCP forwarding for a local port, and ssh-rsa (SHA-1) signatures for a user.
- lab-03 (patching inputs): the security suite removed from apt's sources; an undeclared unattended-upgrades
  origin, a blacklisted package, the upgrade timer off; and an sshd drop-in read before the role's.
- lab-04 (integrity and pins): a pin demoting the security origin; a byte appended to /usr/bin/tac; a setuid
  copy of bash in /usr/local/bin.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Lab, boot_lab, stockade

from stockade.report.json_report import validate_results

CONTROLS = "SSH-01,SSH-03,SSH-04,PATCH-01,PATCH-02,INT-01"
TAGS = "accounts,sshd,patching"

SSHD_MATCH_BLOCKS = """
Match Address 198.18.0.0/15
    PasswordAuthentication yes
Match User root
    PermitRootLogin yes
Match LocalPort 22
    AllowTcpForwarding yes
Match User alice
    PubkeyAcceptedAlgorithms +ssh-rsa
"""
DROP_SECURITY_SUITE = (
    "python3 -c \"import pathlib; p = pathlib.Path('/etc/apt/sources.list.d/debian.sources'); "
    "p.write_text('\\n\\n'.join(s for s in p.read_text().split('\\n\\n') if 'debian-security' not in s))\"")
PLANTS = {
    "lab-02": [f"printf %s {shlex.quote(SSHD_MATCH_BLOCKS)} >> /etc/ssh/sshd_config",
               "sshd -t && systemctl reload ssh"],
    "lab-03": [DROP_SECURITY_SUITE,
               "echo 'Unattended-Upgrade::Origins-Pattern:: \"origin=Stockade-Drift\";' "
               "> /etc/apt/apt.conf.d/52zz-drift",
               "echo 'Unattended-Upgrade::Package-Blacklist:: \"openssh-server\";' > /etc/apt/apt.conf.d/52zz-hold",
               "systemctl disable --now apt-daily-upgrade.timer",
               # a drop-in read before the role's (sshd keeps the first value it reads)
               "echo 'PasswordAuthentication yes' > /etc/ssh/sshd_config.d/00-early.conf",
               "sshd -t && systemctl reload ssh"],
    "lab-04": ["printf 'Package: *\\nPin: release l=Debian-Security\\nPin-Priority: 100\\n' "
               "> /etc/apt/preferences.d/zz-drift",
               "printf x >> /usr/bin/tac",
               "printf x >> /usr/sbin/nologin",
               "cp /usr/bin/bash /usr/local/bin/.rootsh && chmod 4755 /usr/local/bin/.rootsh",
               "cp /usr/bin/dash /var/tmp/.x && chmod 2755 /var/tmp/.x"],
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, "13", hosts=4)


def sudo(lab: Lab, host: str, command: str) -> None:
    result = lab.ssh(host, f"sudo sh -c {shlex.quote(command)}")
    assert result.returncode == 0, f"{host}: {command}: {result.stderr[-2000:]}"


@pytest.fixture(scope="module")
def document(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    harden = stockade("harden", "-i", str(lab.inventory), "--tags", TAGS)
    assert harden.returncode == 0, harden.stdout[-4000:] + harden.stderr[-2000:]
    for host, commands in PLANTS.items():
        for command in commands:
            sudo(lab, host, command)
    out = tmp_path_factory.mktemp("drift-audit")
    result = stockade("audit", "-i", str(lab.inventory), "--controls", CONTROLS, "-o", str(out))
    run_dir = sorted(p for p in out.iterdir() if (p / "results.json").is_file())[-1]
    found: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    validate_results(found)
    errors = [(f["host"], f["check_id"], f["message"][:300]) for f in found["findings"] if f["status"] == "error"]
    assert result.returncode == 1 and not errors, (result.returncode, errors, result.stderr[-1000:])
    return found


def findings(document: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    return {f["check_id"]: f for f in document["findings"] if f["host"] == host}


def failing(document: dict[str, Any], host: str) -> dict[str, str]:
    return {check: f["message"] for check, f in findings(document, host).items() if f["status"] != "pass"}


def test_untouched_hardened_host_has_no_failure_and_no_error(document: dict[str, Any]) -> None:
    statuses = {check: f["status"] for check, f in findings(document, "lab-01").items()}
    assert "fail" not in statuses.values() and "error" not in statuses.values(), failing(document, "lab-01")
    # The new checks ran and say what they enumerated.
    integrity = findings(document, "lab-01")["integrity_packaged_files_unchanged"]
    assert "packaged files in /usr/bin/" in integrity["evidence"]["observed"]["enumerated"]
    contexts = findings(document, "lab-01")["sshd_match_contexts_no_root_no_password"]
    assert "/etc/ssh/sshd_config.d/00-stockade.conf" in contexts["evidence"]["observed"]["files read"]


def test_sshd_match_blocks_are_caught_naming_file_line_and_block(document: dict[str, Any]) -> None:
    failed = failing(document, "lab-02")
    login = failed["sshd_match_contexts_no_root_no_password"]
    assert "Match Address 198.18.0.0/15 (/etc/ssh/sshd_config:" in login
    assert "PasswordAuthentication is not no (set at /etc/ssh/sshd_config:" in login
    assert "Match User root (/etc/ssh/sshd_config:" in login and "PermitRootLogin yes (set at" in login
    assert "Match LocalPort 22" in failed["sshd_match_contexts_limits"]
    assert "allowtcpforwarding yes (set at /etc/ssh/sshd_config:" in failed["sshd_match_contexts_limits"]
    crypto = failed["sshd_match_contexts_strong_crypto"]
    assert "Match User alice" in crypto and "pubkeyacceptedalgorithms allows SHA-1 signatures: ssh-rsa" in crypto
    # The general configuration's root connection meets `Match User root` too; nothing outside sshd fails.
    assert set(failed) <= {"sshd_match_contexts_no_root_no_password", "sshd_match_contexts_limits",
                           "sshd_match_contexts_strong_crypto", "sshd_no_root_no_password_login"}, failed


def test_patching_inputs_are_caught(document: dict[str, Any]) -> None:
    failed = failing(document, "lab-03")
    assert "trixie-security is not among apt's sources" in failed["patching_security_suite_configured"]
    assert "undeclared origin(s): origin=Stockade-Drift" in failed["patching_unattended_origins_declared"]
    assert "openssh-server" in failed["patching_unattended_origins_declared"]
    assert "apt-daily-upgrade.timer" in failed["patching_auto_update_timers_active"]
    assert "PasswordAuthentication is not no" in failed["sshd_no_root_no_password_login"]
    assert set(failed) <= {"patching_security_suite_configured", "patching_unattended_origins_declared",
                           "sshd_no_root_no_password_login", "sshd_match_contexts_no_root_no_password",
                           "patching_auto_update_timers_active",
                           # a timer stopped now also means no fresh run: the recency check may see it
                           "patching_unattended_upgrades_recent_success"}, failed


def test_pin_modified_binary_and_setuid_shell_are_caught(document: dict[str, Any]) -> None:
    failed = failing(document, "lab-04")
    assert "trixie-security" in failed["patching_no_pin_or_hold_blocks_updates"]
    assert "has priority 100 (< 500" in failed["patching_no_pin_or_hold_blocks_updates"]
    assert "/usr/bin/tac (coreutils)" in failed["integrity_packaged_files_unchanged"]
    assert "apt-get install --reinstall coreutils" in failed["integrity_packaged_files_unchanged"]
    assert "/usr/sbin/nologin" in failed["integrity_packaged_files_unchanged"]
    assert "/var/tmp/.x (mode 2755" in failed["integrity_setid_files_packaged"]
    assert "/usr/local/bin/.rootsh (mode 4755, root:root) is shipped by no package" in \
        failed["integrity_setid_files_packaged"]
    # A demoted security origin also means its updates are never candidates: nothing else is expected to fail.
    assert set(failed) <= {"patching_no_pin_or_hold_blocks_updates", "integrity_packaged_files_unchanged",
                           "integrity_setid_files_packaged"}, failed
