"""TLS-01..04 and WEB-01 end to end on real lab hosts of both releases: ERROR/FAIL fresh (no nginx), PASS
after `stockade harden --tags web_edge`, idempotent, --check --diff clean, planted drift caught by exactly
the right checks and repaired by the role."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Lab, boot_lab, stockade

from stockade.report.json_report import validate_results

CONTROLS = "TLS-01,TLS-02,TLS-03,TLS-04,WEB-01"
SITE = "/etc/nginx/conf.d/stockade-web-edge.conf"


@pytest.fixture(scope="module", params=["12", "13"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    for booted in boot_lab(tmp_path_factory, request.param, hosts=1):
        # The audit trusts the internal CA the role keeps beside the inventory (web_edge_ca_dir).
        group_vars = booted.inventory.parent / "group_vars"
        group_vars.mkdir()
        ca_file = booted.inventory.parent / "web_edge_ca" / "ca.crt"
        (group_vars / "all.yml").write_text(f"---\nstockade_params:\n  TLS-03:\n    ca_file: {ca_file}\n")
        yield booted


def audit(lab: Lab, out: Path, controls: str = CONTROLS) -> tuple[int, dict[str, str], dict[str, object]]:
    result = stockade("audit", "-i", str(lab.inventory), "--controls", controls, "-o", str(out),
                      "--format", "json")
    runs = [path for path in out.iterdir() if path.is_dir()] if out.exists() else []
    assert len(runs) == 1, f"audit exited {result.returncode} without a report:\n{result.stderr[-2000:]}"
    [run_dir] = runs
    document = json.loads((run_dir / "results.json").read_text())
    validate_results(document)
    findings = document["findings"]
    assert isinstance(findings, list)
    return result.returncode, {f["check_id"]: f["status"] for f in findings}, document


def changed_counts(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"changed=(\d+)", output)]


def test_fresh_host_fails_or_errors_never_passes(lab: Lab, tmp_path: Path) -> None:
    code, statuses, _ = audit(lab, tmp_path)
    # Nothing listens: the endpoint check and the behaviour checks FAIL (the host answered, refusing);
    # the certificate and protocol properties cannot be judged without a handshake: ERROR, never PASS.
    assert statuses.pop("tls_endpoint_serves") == "fail"
    assert statuses.pop("web_rate_limit_burst_429") == "fail"
    assert statuses.pop("http_redirects_to_https") == "fail"
    assert set(statuses.values()) == {"error"}
    assert code == 3


def test_check_mode_on_a_fresh_host_runs_clean_and_changes_nothing(lab: Lab) -> None:
    result = stockade("harden", "-i", str(lab.inventory), "--tags", "web_edge", "--check", "--diff")
    assert result.returncode == 0, result.stdout[-3000:]
    assert lab.ssh("lab-01", "test -e /etc/nginx/nginx.conf").returncode == 1


def test_harden_then_pass_then_idempotent(lab: Lab, tmp_path: Path) -> None:
    first = stockade("harden", "-i", str(lab.inventory), "--tags", "web_edge")
    assert first.returncode == 0, first.stdout[-3000:]
    assert "PRIVATE KEY" not in first.stdout + first.stderr
    code, statuses, _ = audit(lab, tmp_path / "after")
    assert set(statuses.values()) == {"pass"}, statuses
    assert len(statuses) == 17  # TLS-01..04 (15 incl. tls_forward_secret_key_exchange), http, rate limit
    assert code == 0
    key = lab.ssh("lab-01", "sudo stat -c '%a %U' /etc/nginx/tls/lab-01.key")
    assert key.stdout.strip() == "600 root"
    server = lab.ssh("lab-01", "curl -skI https://127.0.0.1/ | grep -i '^server:'").stdout
    assert server.strip().lower() == "server: nginx"  # server_tokens off: no version
    second = stockade("harden", "-i", str(lab.inventory), "--tags", "web_edge")
    assert second.returncode == 0
    assert changed_counts(second.stdout) == [0]
    check = stockade("harden", "-i", str(lab.inventory), "--tags", "web_edge", "--check", "--diff")
    assert check.returncode == 0 and changed_counts(check.stdout) == [0]


def test_drift_is_caught_by_exactly_the_right_checks_and_repaired(lab: Lab, tmp_path: Path) -> None:
    # Someone drops HSTS and the login rate limit by hand.
    drift = (f"sudo sed -i -e '/Strict-Transport-Security/d' "
             f"-e '/limit_req zone=stockade_login/d' {SITE} && sudo nginx -t -q && sudo systemctl reload nginx")
    assert lab.ssh("lab-01", drift).returncode == 0
    code, statuses, document = audit(lab, tmp_path / "drift")
    failing = {check: status for check, status in statuses.items() if status != "pass"}
    assert failing == {"tls_hsts": "fail", "web_rate_limit_burst_429": "fail"}
    assert code == 1
    [rate] = [f for f in document["findings"] if f["check_id"] == "web_rate_limit_burst_429"]  # type: ignore[union-attr]
    assert "/login: a burst of 50 requests never met 429" in rate["message"]
    assert "/api/" not in rate["message"]
    repair = stockade("harden", "-i", str(lab.inventory), "--tags", "web_edge")
    assert repair.returncode == 0 and changed_counts(repair.stdout) != [0]
    code, statuses, _ = audit(lab, tmp_path / "repaired")
    assert set(statuses.values()) == {"pass"} and code == 0


def test_a_controls_subset_audits_with_the_declared_parameters_of_unselected_controls(lab: Lab,
                                                                                      tmp_path: Path) -> None:
    """TLS-02/TLS-04 scan the ports TLS-01 declares for the host, selected or not: the subset run and the full
    run judge the same endpoints the same way."""
    group_vars = lab.inventory.parent / "group_vars" / "all.yml"
    original = group_vars.read_text()
    group_vars.write_text(original + "  TLS-01:\n    ports: [443, 8443]\n")
    try:
        _, _, full = audit(lab, tmp_path / "full")
        _, statuses, subset = audit(lab, tmp_path / "subset", "TLS-02,TLS-04")
    finally:
        group_vars.write_text(original)
    by_check = {f["check_id"]: f for f in full["findings"]}  # type: ignore[union-attr]
    assert len(statuses) == 10  # TLS-02: protocols, HSTS, redirect; TLS-04: seven
    for finding in subset["findings"]:  # type: ignore[union-attr]
        same = by_check[finding["check_id"]]
        assert (finding["status"], finding["message"]) == (same["status"], same["message"]), finding["check_id"]
    [legacy] = [f for f in subset["findings"] if f["check_id"] == "tls_no_legacy_protocols"]  # type: ignore[union-attr]
    assert "8443" in json.dumps(legacy["evidence"]), legacy
