"""The audit engine on real lab hosts: fail-closed errors with evidence, waivers, attestations, clauses."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Lab, boot_lab, stockade

from checks.catalogue import load_catalogue
from stockade.report.json_report import validate_results


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, "13", hosts=3)


def audit(lab: Lab, out: Path, *extra: str) -> tuple[int, dict[str, Any], Path]:
    result = stockade("audit", "-i", str(lab.inventory), "-o", str(out), *extra)
    run_dirs = sorted(p for p in out.iterdir() if p.is_dir())
    assert run_dirs, f"no report written: {result.stderr}"
    document = json.loads((run_dirs[-1] / "results.json").read_text())
    validate_results(document)
    return result.returncode, document, run_dirs[-1]


def ssh_findings(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # SSH-01's check of the general configuration (its Match-context check has its own tests).
    return {f["host"]: f for f in document["findings"] if f["check_id"] == "sshd_no_root_no_password_login"}


def test_failed_command_and_timeout_are_errors_with_evidence(lab: Lab, tmp_path: Path) -> None:
    # lab-01: sshd's configuration is broken, so `sshd -T` fails (the running sshd is untouched).
    assert lab.ssh("lab-01", "echo 'NoSuchOption yes' | sudo tee /etc/ssh/sshd_config.d/99-broken.conf").returncode == 0
    # lab-02: every python3 start on the host hangs, so the collector never answers.
    hang = "import time; time.sleep(90)\n"
    assert lab.ssh("lab-02", "sudo mkdir -p /usr/local/lib/python3.13/dist-packages && echo "
                   f"'{hang.strip()}' | sudo tee /usr/local/lib/python3.13/dist-packages/zz-hang.pth").returncode == 0
    try:
        # Long enough for the healthy hosts' collectors on a loaded 2-core machine (5 s was not, once).
        code, document, _ = audit(lab, tmp_path, "--timeout", "30")
    finally:
        lab.ssh("lab-01", "sudo rm -f /etc/ssh/sshd_config.d/99-broken.conf")
        lab.console("lab-02", "rm -f /usr/local/lib/python3.13/dist-packages/zz-hang.pth")
    findings = ssh_findings(document)
    assert code == 3
    assert findings["lab-01"]["status"] == "error"
    assert "Bad configuration option" in findings["lab-01"]["evidence"]["observed"]["stderr"], findings["lab-01"]
    assert findings["lab-02"]["status"] == "error"
    assert "timed out after 30s" in findings["lab-02"]["message"]
    assert findings["lab-03"]["status"] == "fail"  # the others are judged as usual


def test_waived_fail_is_waived_and_expired_waiver_is_fail(lab: Lab, tmp_path: Path) -> None:
    today = date.today()
    waivers = tmp_path / "waivers.yml"
    waivers.write_text(f"""waivers:
  - id: W-001
    control: SSH-01
    hosts: lab-01
    justification: Password login needed until the bastion migration.
    approver: Jane Reviewer
    expires: {today + timedelta(days=30)}
  - id: W-002
    control: SSH-01
    hosts: lab-02
    justification: Expired exception.
    approver: Jane Reviewer
    expires: {today - timedelta(days=1)}
""")
    code, document, run_dir = audit(lab, tmp_path / "out", "--waivers", str(waivers), "--controls", "SSH-01")
    findings = ssh_findings(document)
    assert findings["lab-01"]["status"] == "waived"
    assert findings["lab-01"]["waiver"]["id"] == "W-001"
    assert findings["lab-01"]["evidence"]["observed"]["root connection"]["permitrootlogin"] == "without-password"
    assert findings["lab-02"]["status"] == "fail"
    assert findings["lab-02"]["waiver"]["state"] == "expired"
    assert findings["lab-03"]["status"] == "fail" and findings["lab-03"]["waiver"] is None
    assert code == 1
    assert "W-001" in (run_dir / "report.html").read_text()


def test_every_clause_appears_with_attested_missing_and_expired_manual_controls(lab: Lab, tmp_path: Path) -> None:
    catalogue = load_catalogue()
    manual = [c.id for c in catalogue.controls if c.automation == "manual"]
    assert len(manual) >= 2
    today = date.today()
    attestations = tmp_path / "attestations.yml"
    attestations.write_text(f"""attestations:
  - control: {manual[0]}
    attested_by: Head of Operations
    date: {today - timedelta(days=10)}
    evidence: DOC-42 hosting contract
    expires: {today + timedelta(days=355)}
  - control: {manual[1]}
    attested_by: DPO
    date: {today - timedelta(days=400)}
    evidence: DPA register 2025
    expires: {today - timedelta(days=35)}
""")
    _, document, run_dir = audit(lab, tmp_path / "out", "--attestations", str(attestations))
    states = {f["control_id"]: f["evidence"]["observed"]["attestation_state"]
              for f in document["findings"] if f["status"] == "manual"}
    assert states[manual[0]] == "attested" and states[manual[1]] == "expired"
    assert set(states.values()) == {"attested", "expired", "missing"}
    assert [c["clause_id"] for c in document["clauses"]] == [c.id for c in catalogue.clauses]
    html = (run_dir / "report.html").read_text()
    assert all(clause.id in html for clause in catalogue.clauses)
    assert document["metadata"]["catalogue_digest"] == catalogue.digest


def test_controls_selection_and_bad_input_leave_no_report(lab: Lab, tmp_path: Path) -> None:
    _, document, _ = audit(lab, tmp_path / "one", "--controls", "SSH-01")
    assert {f["control_id"] for f in document["findings"]} == {"SSH-01"}
    assert document["metadata"]["selected_controls"] == ["SSH-01"]
    bad = tmp_path / "bad-waivers.yml"
    bad.write_text("waivers:\n  - id: W-1\n    control: SSH-99\n")
    result = stockade("audit", "-i", str(lab.inventory), "-o", str(tmp_path / "bad"), "--waivers", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr and "waivers[0]" in result.stderr
    assert not (tmp_path / "bad").exists()


def test_a_silent_host_and_an_unused_address_are_errors_never_passes(lab: Lab, tmp_path: Path) -> None:
    """lab-03 black-holed by nftables in its own namespace, and an address of the lab network nobody uses:
    every check of both is ERROR with the connect-timeout reason; the healthy hosts are judged as usual."""
    import yaml

    document = yaml.safe_load(lab.inventory.read_text())
    unused = str(lab.paths.site.network.network_address + 250)
    document["all"]["children"]["lab"]["hosts"]["ghost"] = {"ansible_host": unused}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(document))
    blackhole = ("table inet stockade_test_blackhole { chain input { type filter hook input priority -10; "
                 "policy drop; }; }")
    netns = lab.netns("lab-03")
    subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input=blackhole, text=True, check=True)
    try:
        result = stockade("audit", "-i", str(inventory), "-o", str(tmp_path / "out"), "--format", "json",
                          "--connect-timeout", "3")
    finally:
        subprocess.run(["ip", "netns", "exec", netns, "nft", "delete", "table", "inet", "stockade_test_blackhole"],
                       check=True)
    [run_dir] = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    results = json.loads((run_dir / "results.json").read_text())
    by_host: dict[str, list[dict[str, Any]]] = {}
    for finding in results["findings"]:
        by_host.setdefault(finding["host"], []).append(finding)
    assert result.returncode == 3
    for host in ("lab-03", "ghost"):
        assert by_host[host] and {f["status"] for f in by_host[host]} == {"error"}, host
        assert all("did not answer within 3s" in f["message"] for f in by_host[host]), by_host[host][0]["message"]
    for host in ("lab-01", "lab-02"):
        assert {f["status"] for f in by_host[host]} - {"error"}, host  # judged, not swept up with the dead
        assert not [f for f in by_host[host] if "did not answer" in f["message"]]
