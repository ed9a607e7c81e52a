"""FW-01 and SSH-02 end to end on real lab hosts of both releases: FAIL fresh (with a planted listener),
PASS after `stockade harden --tags firewall`, idempotent, check mode clean, drift caught, a burst from a
non-exempt host cut off, a ruleset that blocks SSH rolled back, and the machine's own ruleset untouched."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import REPO, Lab, boot_lab, stockade

from stockade.project import ansible_environment

CONTROLS = "FW-01,SSH-02"
PLANT = "systemd-run --unit=stockade-test-plant python3 -m http.server 8081"
BURST = ("python3 -c 'import socket,sys\n"
         "r=[]\n"
         "for _ in range(12):\n"
         "    s=socket.socket(); s.settimeout(2)\n"
         "    try: s.connect((sys.argv[1], 22)); r.append(\"o\")\n"
         "    except OSError: r.append(\"x\")\n"
         "    finally: s.close()\n"
         "print(\"\".join(r))' ")


def machine_ruleset() -> str:
    nft = shutil.which("nft")
    if nft is None:
        return "(no nft on this machine)"
    return subprocess.run([nft, "list", "ruleset"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module", params=["12", "13"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    before = machine_ruleset()
    yield from boot_lab(tmp_path_factory, request.param, hosts=2)
    assert machine_ruleset() == before, "the machine's own nftables ruleset changed"


def audit(lab: Lab, out: Path, *extra: str, inventory: Path | None = None) -> tuple[int, dict[str, dict[str, str]]]:
    result = stockade("audit", "-i", str(inventory or lab.inventory), "-o", str(out), "--controls", CONTROLS, *extra)
    run_dir = sorted(path for path in out.iterdir() if (path / "results.json").exists())[-1]
    document = json.loads((run_dir / "results.json").read_text())
    found: dict[str, dict[str, str]] = {}
    for finding in document["findings"]:
        found.setdefault(finding["host"], {})[finding["check_id"]] = finding["status"]
        found[finding["host"]][finding["check_id"] + ":message"] = finding["message"]
    return result.returncode, found


def status(found: dict[str, dict[str, str]], host: str) -> dict[str, str]:
    return {key: value for key, value in found[host].items() if ":" not in key}


def playbook(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab.inventory),
               str(REPO / "playbooks/site.yml"), "--tags", "firewall", *args]
    return subprocess.run(command, capture_output=True, text=True, env=ansible_environment(), timeout=600,
                          check=False)


def changed_counts(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"changed=(\d+)", output)]


def live_table(lab: Lab, host: str) -> str:
    return lab.ssh(host, "sudo nft -s -t list ruleset").stdout


def test_fresh_host_fails_and_the_planted_listener_is_seen(lab: Lab, tmp_path: Path) -> None:
    assert lab.ssh("lab-01", f"sudo {PLANT}").returncode == 0
    code, found = audit(lab, tmp_path)
    assert code == 1
    lab01 = status(found, "lab-01")
    for check in ("fw_input_default_drop", "fw_openings_match_declared", "fw_ruleset_persisted",
                  "fw_no_undeclared_listeners", "fw_undeclared_ports_closed", "ssh_rate_limit_in_ruleset",
                  "ssh_burst_is_limited"):
        assert lab01[check] == "fail", (check, found["lab-01"])
    assert "tcp/8081" in found["lab-01"]["fw_no_undeclared_listeners:message"]
    assert "tcp/8081" in found["lab-01"]["fw_undeclared_ports_closed:message"]
    assert status(found, "lab-02")["fw_no_undeclared_listeners"] == "pass"  # nothing planted there


def test_check_mode_on_a_fresh_host_runs_clean_and_changes_nothing(lab: Lab) -> None:
    before = live_table(lab, "lab-01")
    result = playbook(lab, "--check", "--diff")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "policy drop" in result.stdout  # the diff shows the ruleset that would be written
    assert live_table(lab, "lab-01") == before
    assert lab.ssh("lab-01", "systemctl is-enabled nftables.service").stdout.strip() == "disabled"


def test_preflight_refuses_a_ruleset_without_the_ssh_port(lab: Lab) -> None:
    result = playbook(lab, "--limit", "lab-01", "-e", json.dumps({"sshd_firewall_openings": []}))
    assert result.returncode != 0
    assert "Refusing to load a ruleset that opens no tcp/22" in result.stdout
    assert "table inet stockade" not in live_table(lab, "lab-01")


def test_harden_then_pass_then_idempotent_and_check_clean(lab: Lab, tmp_path: Path) -> None:
    first = playbook(lab)
    assert first.returncode == 0, first.stdout[-3000:]
    assert all(count > 0 for count in changed_counts(first.stdout))
    code, found = audit(lab, tmp_path)
    for host in ("lab-02", "lab-01"):
        checks = status(found, host)
        assert checks.pop("ssh_burst_is_limited") == "skipped"  # the controller is exempt: its burst proves nothing
        if host == "lab-01":  # the planted listener still listens, and the firewall keeps it unreachable
            assert checks.pop("fw_no_undeclared_listeners") == "fail"
            assert "filtered" in found[host]["fw_undeclared_ports_closed:message"]
        assert set(checks.values()) == {"pass"}, found[host]
    assert code == 1
    assert lab.ssh("lab-01", "sudo systemctl stop stockade-test-plant").returncode == 0
    code, found = audit(lab, tmp_path, "--limit", "lab-01")
    assert code == 0 and status(found, "lab-01")["fw_no_undeclared_listeners"] == "pass"
    second = playbook(lab)
    assert second.returncode == 0 and changed_counts(second.stdout) == [0, 0], second.stdout[-3000:]
    check = playbook(lab, "--check", "--diff")
    assert check.returncode == 0 and changed_counts(check.stdout) == [0, 0], check.stdout[-3000:]


def test_drift_is_caught_by_the_openings_check_and_repaired(lab: Lab, tmp_path: Path) -> None:
    assert lab.ssh("lab-02", "sudo nft insert rule inet stockade input tcp dport 3306 accept").returncode == 0
    _, found = audit(lab, tmp_path, "--limit", "lab-02")
    checks = status(found, "lab-02")
    assert checks["fw_openings_match_declared"] == "fail"
    assert "tcp/3306" in found["lab-02"]["fw_openings_match_declared:message"]
    assert {key for key, value in checks.items() if value == "fail"} == {"fw_openings_match_declared"}
    repaired = playbook(lab, "--limit", "lab-02")
    assert repaired.returncode == 0 and changed_counts(repaired.stdout) != [0], repaired.stdout[-3000:]
    assert status(audit(lab, tmp_path, "--limit", "lab-02")[1], "lab-02")["fw_openings_match_declared"] == "pass"


def test_burst_from_a_non_exempt_host_is_cut_off_and_the_controller_is_not(lab: Lab) -> None:
    result = lab.ssh("lab-02", BURST + host_address(lab, "lab-01"))
    outcomes = result.stdout.strip()
    assert result.returncode == 0 and len(outcomes) == 12, result.stderr
    assert outcomes.startswith("ooooo") and "x" in outcomes, outcomes  # the burst (5) passes, then drops
    for _ in range(3):  # the controller is exempt: fresh connections right after are never throttled
        assert lab.ssh("lab-01", "true").returncode == 0


def host_address(lab: Lab, host: str) -> str:
    inventory = yaml.safe_load(lab.inventory.read_text())
    return str(inventory["all"]["children"]["lab"]["hosts"][host]["ansible_host"])


def test_probe_burst_is_limited_when_the_controller_is_not_exempt(lab: Lab, tmp_path: Path) -> None:
    unexempt = playbook(lab, "--limit", "lab-01", "-e", json.dumps({"firewall_ssh_rate_exempt_sources": []}))
    assert unexempt.returncode == 0, unexempt.stdout[-3000:]
    try:
        _, found = audit(lab, tmp_path, "--limit", "lab-01")
        assert status(found, "lab-01")["ssh_burst_is_limited"] == "pass", found["lab-01"]
        assert status(found, "lab-01")["ssh_rate_limit_in_ruleset"] == "pass", found["lab-01"]
    finally:
        restored = playbook(lab, "--limit", "lab-01")
        assert restored.returncode == 0, restored.stdout[-3000:]


def test_a_ruleset_that_blocks_ssh_is_rolled_back(lab: Lab) -> None:
    before = live_table(lab, "lab-01")
    config_before = lab.ssh("lab-01", "sudo sha256sum /etc/nftables.conf").stdout
    blocking = {"sshd_firewall_openings": [], "firewall_extra_openings": [{"port": 8443, "proto": "tcp"}],
                "firewall_ssh_rate_exempt_sources": [], "firewall_require_ssh_opening": False}
    result = playbook(lab, "--limit", "lab-01", "-e", json.dumps(blocking))
    assert result.returncode != 0
    assert "A fresh SSH login from the controller failed under the new ruleset" in result.stdout
    assert "rolled back" in result.stdout
    assert lab.ssh("lab-01", "true").returncode == 0  # still reachable, with a fresh connection
    assert live_table(lab, "lab-01") == before
    assert lab.ssh("lab-01", "sudo sha256sum /etc/nftables.conf").stdout == config_before
    again = playbook(lab, "--limit", "lab-01")  # and the next run is a no-op
    assert again.returncode == 0 and changed_counts(again.stdout) == [0], again.stdout[-3000:]
