"""ACCT-01, ACCT-02, SSH-03, SSH-04 end to end on real lab hosts of both releases: FAIL fresh, PASS after harden,
idempotent, check mode clean; the lockout matrix (AllowGroups without the automation account, a broken sudoers
fragment, a fragment that takes sudo away) is refused or rolled back and the host stays reachable; planted drift is
caught by exactly the right check; no password hash ever reaches an output."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import REPO, Lab, boot_lab, stockade

from stockade.project import ansible_environment
from stockade.report.json_report import validate_results

CONTROLS = "SSH-01,SSH-03,SSH-04,ACCT-01,ACCT-02"
TAGS = "accounts,sshd"
HASH_FRAGMENT = re.compile(r"\$(y|1|5|6|2b|gy)\$[./0-9A-Za-z$]{4,}")


@pytest.fixture(scope="module", params=["12", "13"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, request.param, hosts=2)


@pytest.fixture(scope="module")
def inventory(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab's inventory plus one declared operator, handed to the role and the audit once (a YAML anchor)."""
    keys = lab.inventory.parent
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@ops", "-f", str(keys / "alice")],
                   check=True)
    document = yaml.safe_load(lab.inventory.read_text())
    ops = [{"name": "alice", "ssh_keys": [(keys / "alice.pub").read_text().strip()], "groups": [], "totp": False}]
    variables = document["all"]["children"]["lab"]["vars"]
    variables["accounts_ops_users"] = ops
    params = variables.setdefault("stockade_params", {})
    params["ACCT-01"] = {**params.get("ACCT-01", {}), "operators": ops}
    params["ACCT-02"] = {**params.get("ACCT-02", {}), "operators": ops}
    path = lab.inventory.with_name("accounts.yml")
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    assert "&id" in path.read_text()  # one list, anchored, not two copies
    return path


OUTPUTS: list[str] = []  # every playbook and audit output of this module, searched for hashes at the end


def audit(inventory: Path, out: Path, *extra: str) -> tuple[int, dict[str, object], Path]:
    result = stockade("audit", "-i", str(inventory), "--controls", CONTROLS, "-o", str(out), *extra)
    OUTPUTS.extend([result.stdout, result.stderr])
    run_dir = sorted(path for path in out.iterdir() if path.is_dir())[-1]
    document = json.loads((run_dir / "results.json").read_text())
    validate_results(document)
    return result.returncode, document, run_dir


def by_check(document: dict[str, object], host: str) -> dict[str, str]:
    findings = document["findings"]
    assert isinstance(findings, list)
    return {f["check_id"]: f["status"] for f in findings if f["host"] == host}


def control_statuses(document: dict[str, object], host: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in document["findings"]:  # type: ignore[attr-defined]
        if f["host"] == host:
            found.setdefault(f["control_id"], set()).add(f["status"])
    return found


def playbook(inventory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
               str(REPO / "playbooks/site.yml"), "--tags", TAGS, *extra]
    result = subprocess.run(command, capture_output=True, text=True, env=ansible_environment(), timeout=600,
                            check=False)
    OUTPUTS.extend([result.stdout, result.stderr])
    return result


def said(result: subprocess.CompletedProcess[str], text: str) -> bool:
    """Ansible's YAML callback folds long messages over lines: compare with whitespace collapsed."""
    return text in " ".join(result.stdout.split())


def changed_counts(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"changed=(\d+)", output)]


def test_fresh_host_fails(lab: Lab, inventory: Path, tmp_path: Path) -> None:
    code, document, _ = audit(inventory, tmp_path)
    for host in ("lab-01", "lab-02"):
        statuses = control_statuses(document, host)
        for control in ("SSH-03", "SSH-04", "ACCT-01", "ACCT-02"):
            assert "fail" in statuses[control], (host, control, statuses)
        checks = by_check(document, host)
        assert checks["accounts_only_declared_logins"] == "fail"  # alice is declared, not there yet
        assert checks["sudo_rights_declared"] == "fail"
        assert checks["sshd_macs_strong"] == "fail" and checks["ssh_wire_offers_strong_crypto"] == "fail"
    assert code == 1


def test_check_mode_on_a_fresh_host_runs_clean(lab: Lab, inventory: Path, tmp_path: Path) -> None:
    result = playbook(inventory, "--check", "--diff")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "AllowGroups ops stockade" in result.stdout and "%ops ALL=(ALL:ALL) ALL" in result.stdout
    assert lab.ssh("lab-01", "test -e /etc/ssh/sshd_config.d/00-stockade.conf || id alice").returncode == 1


def test_allowgroups_without_the_automation_account_is_refused(lab: Lab, inventory: Path) -> None:
    result = playbook(inventory, "-e", json.dumps({"sshd_allow_groups": ["ops"]}), "--limit", "lab-01")
    assert result.returncode != 0
    assert said(result, "Refusing to write AllowGroups ops:")
    assert lab.ssh("lab-01", "test -e /etc/ssh/sshd_config.d/00-stockade.conf").returncode == 1
    assert lab.ssh("lab-01", "sudo -n true").returncode == 0


def test_broken_sudoers_fragment_is_refused_before_change(lab: Lab, inventory: Path) -> None:
    rules = {"accounts_sudo_extra_rules": ["%ops ALL=(ALL) NOPASSWD ALL ("], "accounts_sudo_rollback_seconds": 10}
    result = playbook(inventory, "-e", json.dumps(rules), "--limit", "lab-01", "--tags", "acct_02")
    assert result.returncode != 0
    assert said(result, "(the sudoers drop-in was not changed)")
    # sudo still works, and the broken line never reached the drop-in (written, or not, by earlier runs).
    assert lab.ssh("lab-01", "sudo -n true && ! sudo -n grep -qsF 'ALL (' /etc/sudoers.d/stockade-ops").returncode == 0


def test_fragment_taking_sudo_away_is_rolled_back(lab: Lab, inventory: Path) -> None:
    # Valid syntax, read after the lab's own NOPASSWD drop-in, and it takes every right away: visudo accepts
    # it, so only the fresh login + sudo after the change can catch it, and only the timer can undo it.
    rules = {"accounts_sudo_extra_rules": ["stockade ALL=(ALL:ALL) !ALL"], "accounts_sudo_rollback_seconds": 10}
    result = playbook(inventory, "-e", json.dumps(rules), "--limit", "lab-01", "--tags", "acct_02")
    assert result.returncode != 0
    assert said(result, "restored by the rollback timer; sudo works again")
    assert lab.ssh("lab-01", "sudo -n true && ! sudo -n grep -qsF '!ALL' /etc/sudoers.d/stockade-ops").returncode == 0


def test_harden_then_pass_then_idempotent(lab: Lab, inventory: Path, tmp_path: Path) -> None:
    first = stockade("harden", "-i", str(inventory), "--tags", TAGS)
    OUTPUTS.append(first.stdout)
    assert first.returncode == 0, first.stdout[-3000:]
    code, document, _ = audit(inventory, tmp_path)
    for host in ("lab-01", "lab-02"):
        assert set(by_check(document, host).values()) == {"pass"}, by_check(document, host)
    assert code == 0
    second = stockade("harden", "-i", str(inventory), "--tags", TAGS)
    assert second.returncode == 0 and changed_counts(second.stdout) == [0, 0], second.stdout[-3000:]
    check = stockade("harden", "-i", str(inventory), "--tags", TAGS, "--check", "--diff")
    assert check.returncode == 0 and changed_counts(check.stdout) == [0, 0], check.stdout[-3000:]
    # alice logs in with exactly her declared key (she is in ops, which AllowGroups lets in).
    login = subprocess.run(["ssh", "-F", str(lab.paths.ssh_config), "-i", str(inventory.parent / "alice"),
                            "-l", "alice", "lab-01", "id -Gn"], capture_output=True, text=True, timeout=60,
                           check=False)
    assert login.returncode == 0 and "ops" in login.stdout.split(), login.stderr


PLANTS = {
    "undeclared account with a key": (
        "useradd -m -s /bin/bash mallory && install -d -o mallory -m 700 ~mallory/.ssh && "
        "cp ~stockade/.ssh/authorized_keys ~mallory/.ssh/ && chown mallory ~mallory/.ssh/authorized_keys",
        "userdel -r mallory",
        {"accounts_only_declared_logins"}),
    "PermitRootLogin yes read before 00-stockade.conf": (
        "echo 'PermitRootLogin yes' > /etc/ssh/sshd_config.d/00-aaa-plant.conf && systemctl reload ssh",
        "rm /etc/ssh/sshd_config.d/00-aaa-plant.conf && systemctl reload ssh",
        {"sshd_no_root_no_password_login"}),
    "PermitRootLogin yes read after 00-stockade.conf (not effective)": (
        "echo 'PermitRootLogin yes' > /etc/ssh/sshd_config.d/99-plant.conf && systemctl reload ssh",
        "rm /etc/ssh/sshd_config.d/99-plant.conf && systemctl reload ssh",
        set()),
    "ssh-rsa host-key algorithm": (
        "echo 'HostKeyAlgorithms ssh-ed25519,rsa-sha2-256,ssh-rsa' > /etc/ssh/sshd_config.d/00-aaa-plant.conf"
        " && systemctl reload ssh",
        "rm /etc/ssh/sshd_config.d/00-aaa-plant.conf && systemctl reload ssh",
        {"sshd_host_key_algorithms_sha2", "ssh_wire_offers_strong_crypto"}),
}


@pytest.mark.parametrize("plant", list(PLANTS))
def test_planted_drift_is_caught_by_exactly_the_right_check(lab: Lab, inventory: Path, tmp_path: Path,
                                                            plant: str) -> None:
    do, undo, expected = PLANTS[plant]
    assert lab.ssh("lab-01", f"sudo sh -c {json.dumps(do)}").returncode == 0
    try:
        _, document, _ = audit(inventory, tmp_path, "--limit", "lab-01")
    finally:
        assert lab.ssh("lab-01", f"sudo sh -c {json.dumps(undo)}").returncode == 0
    failing = {check for check, status in by_check(document, "lab-01").items() if status != "pass"}
    assert failing == expected


def test_weak_hash_is_named_by_scheme_and_no_hash_reaches_any_output(lab: Lab, inventory: Path,
                                                                     tmp_path: Path) -> None:
    md5 = subprocess.run(["openssl", "passwd", "-1", "lab-password"], capture_output=True, text=True,
                         check=True).stdout.strip()
    plant = f"useradd -M -s /usr/sbin/nologin legacy && usermod -p '{md5}' legacy"
    encoded = base64.b64encode(plant.encode()).decode()  # no shell on the way may expand the $ of the hash
    assert lab.ssh("lab-01", f"echo {encoded} | base64 -d | sudo sh").returncode == 0
    try:
        _, document, run_dir = audit(inventory, tmp_path, "--limit", "lab-01")
    finally:
        assert lab.ssh("lab-01", "sudo userdel legacy").returncode == 0
    [finding] = [f for f in document["findings"]  # type: ignore[attr-defined]
                 if f["check_id"] == "accounts_password_storage"]
    assert finding["status"] == "fail" and "legacy (md5crypt)" in finding["message"]
    reports = [path.read_text(errors="replace") for path in run_dir.iterdir() if path.is_file()]
    leaks = [m.group(0)[:6] for text in [*reports, *OUTPUTS] for m in HASH_FRAGMENT.finditer(text)]
    assert md5[:3] == "$1$" and not leaks
    assert not any(md5[3:] in text for text in [*reports, *OUTPUTS])
