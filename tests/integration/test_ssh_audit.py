"""SSH-03 judged by ssh-audit (the reference reviewers use) and by Stockade's own checks, on the same hardened lab
host of each release: ssh-audit finds 0 failures, every warning it gives is a compatibility choice SSH-03 declares,
and when a weak algorithm is planted both flag the same names. The controller's own SSH stack (paramiko for the
audits, the OpenSSH client for Ansible) still logs in after the hardening.

ssh-audit is a test dependency only (pyproject dev extras); Stockade never runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
import yaml
from conftest import Lab, boot_lab, stockade

from checks.catalogue import load_catalogue
from stockade.report.json_report import validate_results

SSH_AUDIT = Path(sys.executable).parent / "ssh-audit"
# ssh-audit's JSON sections beside Stockade's families (checks/sshd_crypto.py WIRE_LISTS).
SECTIONS = {"kex": "kex", "key": "signature", "enc": "cipher", "mac": "mac"}
SSH03 = next(control for control in load_catalogue().controls if control.id == "SSH-03")
COMPATIBLE = set(SSH03.parameters["compatibility_algorithms"].default)


@pytest.fixture(scope="module", params=["13", "12"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, request.param, hosts=1)


@pytest.fixture(scope="module")
def hardened(lab: Lab) -> str:
    """Harden once per module (the sshd role only); the host's address."""
    result = stockade("harden", "-i", str(lab.inventory), "--tags", "sshd")
    assert result.returncode == 0, result.stdout[-3000:]
    document = yaml.safe_load(lab.inventory.read_text())
    return str(document["all"]["children"]["lab"]["hosts"]["lab-01"]["ansible_host"])


def ssh_audit(address: str) -> dict[str, Any]:
    """ssh-audit's verdicts: {"fail": {family: names}, "warn": {family: names}, "compression": [...]}. The rate
    test (DHEat) is skipped here: it floods the host, and its note is information, not a verdict."""
    proc = subprocess.run([str(SSH_AUDIT), "--json", "--skip-rate-test", "--timeout", "10", address],
                          capture_output=True, text=True, timeout=120, check=False)
    report = json.loads(proc.stdout)
    verdicts: dict[str, Any] = {"fail": {}, "warn": {}, "compression": report["compression"]}
    for section, family in SECTIONS.items():
        for entry in report[section]:
            for level in ("fail", "warn"):
                if entry.get("notes", {}).get(level):
                    verdicts[level].setdefault(family, []).append(entry["algorithm"])
    return verdicts


def stockade_wire(lab: Lab, out: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """Stockade's SSH-03 audit: every check's status, and the wire check's evidence."""
    stockade("audit", "-i", str(lab.inventory), "--controls", "SSH-03", "-o", str(out), "--format", "json")
    run_dir = sorted(path for path in out.iterdir() if path.is_dir())[-1]
    document = json.loads((run_dir / "results.json").read_text())
    validate_results(document)
    findings = document["findings"]
    wire = next(f for f in findings if f["check_id"] == "ssh_wire_offers_strong_crypto")
    return {f["check_id"]: f["status"] for f in findings}, wire["evidence"]["observed"]


def names(by_family: dict[str, list[str]]) -> set[str]:
    return {name for family in by_family.values() for name in family}


def test_hardened_host_has_no_ssh_audit_failure_and_only_declared_warnings(lab: Lab, hardened: str,
                                                                            tmp_path: Path) -> None:
    verdicts = ssh_audit(hardened)
    assert verdicts["fail"] == {}, verdicts
    assert names(verdicts["warn"]) <= COMPATIBLE, verdicts  # each warning is a declared choice
    assert verdicts["compression"] == ["none"]
    statuses, observed = stockade_wire(lab, tmp_path)
    assert set(statuses.values()) == {"pass"}, statuses
    # Stockade keeps exactly what ssh-audit warns about, and says why in the evidence.
    assert set(observed["compatibility"]["algorithms"]) == names(verdicts["warn"])
    assert observed["compatibility"]["reason"] == SSH03.parameters["compatibility_reason"].default
    assert "not_allowed" not in observed


def test_the_controllers_ssh_stack_still_logs_in(lab: Lab, hardened: str) -> None:
    """paramiko (testinfra's paramiko backend, the wire probe) and the OpenSSH client (Ansible) both log in."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab.paths.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(hardened, username="stockade", key_filename=str(lab.paths.key), look_for_keys=False,
                   allow_agent=False, timeout=15)
    try:
        transport = client.get_transport()
        assert transport is not None
        _, stdout, _ = client.exec_command("sudo -n true && echo ok")
        assert stdout.read().decode().strip() == "ok"
        assert transport.host_key_type in SSH03.parameters["host_key_algorithms"].default
        assert transport.local_cipher in SSH03.parameters["ciphers"].default
        assert transport.local_mac in SSH03.parameters["macs"].default
    finally:
        client.close()
    assert lab.ssh("lab-01", "sudo -n true").returncode == 0


PLANTS = {
    "NIST-curve key exchange": (
        "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256@libssh.org,ecdh-sha2-nistp256",
        {"kex": ["ecdh-sha2-nistp256"]}, "sshd_kex_strong"),
    "encrypt-and-MAC MAC": (
        "MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
        {"mac": ["hmac-sha2-256"]}, "sshd_macs_strong"),
    "CBC cipher and compression": (
        "Ciphers aes128-ctr,aes128-cbc\\nCompression yes",  # printf's own \\n: one line each
        {"cipher": ["aes128-cbc"], "compression": ["zlib@openssh.com"]}, "sshd_ciphers_strong"),
}


@pytest.mark.parametrize("plant", list(PLANTS))
def test_a_planted_weak_algorithm_is_flagged_by_both(lab: Lab, hardened: str, tmp_path: Path, plant: str) -> None:
    lines, expected, config_check = PLANTS[plant]
    # 00-aaa- sorts before the role's 00-stockade.conf, so its values win.
    do = f"printf '{lines}\\n' > /etc/ssh/sshd_config.d/00-aaa-plant.conf && systemctl reload ssh"
    assert lab.ssh("lab-01", f"sudo sh -c {json.dumps(do)}").returncode == 0
    try:
        verdicts = ssh_audit(hardened)
        statuses, observed = stockade_wire(lab, tmp_path)
    finally:
        undo = "rm -f /etc/ssh/sshd_config.d/00-aaa-plant.conf && systemctl reload ssh"
        assert lab.ssh("lab-01", f"sudo sh -c {json.dumps(undo)}").returncode == 0
    flagged = observed.get("not_allowed", {})
    assert flagged == expected, observed
    assert statuses["ssh_wire_offers_strong_crypto"] == "fail" and statuses[config_check] == "fail", statuses
    # Agreement both ways: what ssh-audit fails Stockade flags; what ssh-audit warns about Stockade flags or
    # keeps as declared; Stockade flags nothing ssh-audit lets pass (compression is ssh-audit's general section).
    assert names(verdicts["fail"]) <= names(flagged), (verdicts, flagged)
    assert names(verdicts["warn"]) <= names(flagged) | COMPATIBLE, (verdicts, flagged)
    algorithms = {name for family, found in flagged.items() if family != "compression" for name in found}
    assert algorithms <= names(verdicts["fail"]) | names(verdicts["warn"]), (verdicts, flagged)
    if "compression" in flagged:
        assert "zlib@openssh.com" in verdicts["compression"]
