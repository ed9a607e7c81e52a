"""History, drift and tamper-evidence on real lab hosts: two audits with a planted regression between them.

Harden SSH-01 on both hosts, audit, plant `PermitRootLogin yes` on lab-01 in a drop-in that sshd reads
before Stockade's, audit again: `stockade diff` shows exactly that regression, the HTML shows it, SARIF
marks it new; `stockade verify` passes untouched and fails, naming the file or the run, after a one-byte
change and after a run is removed from the chain.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Lab, boot_lab, stockade
from jsonschema import Draft4Validator

from stockade.report.json_report import validate_results

# sshd reads sshd_config.d/*.conf in byte order and the first value wins: "0-" sorts before "00-stockade".
REGRESSION_DROPIN = "/etc/ssh/sshd_config.d/0-regress.conf"
SCHEMA = Path(__file__).resolve().parents[2] / "stockade/report/schemas/sarif-schema-2.1.0.json"


@dataclass(frozen=True)
class Runs:
    out: Path
    keys: Path
    first: Path
    second: Path

    def cli(self, *args: str) -> Any:
        return stockade(*args, "--history", str(self.out / "history.sqlite"))


def audit(lab: Lab, out: Path, keys: Path) -> Path:
    before = {p.name for p in out.iterdir()} if out.exists() else set()
    result = stockade("audit", "-i", str(lab.inventory), "-o", str(out), "--key-dir", str(keys))
    assert result.returncode in (0, 1, 3), result.stderr[-3000:]  # 3: other controls may not be evaluable
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and p.name not in before]
    validate_results(json.loads((run_dir / "results.json").read_text()))
    return run_dir


def ssh01(run_dir: Path) -> dict[str, str]:
    document = json.loads((run_dir / "results.json").read_text())
    # SSH-01's check of the general configuration, where the planted drop-in lands.
    return {f["host"]: f["status"] for f in document["findings"]
            if f["check_id"] == "sshd_no_root_no_password_login"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, "13", hosts=2)


@pytest.fixture(scope="module")
def runs(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    base = tmp_path_factory.mktemp("history")
    out, keys = base / "reports", base / "keys"
    harden = stockade("harden", "-i", str(lab.inventory), "--tags", "ssh_01")
    assert harden.returncode == 0, harden.stdout[-3000:]
    first = audit(lab, out, keys)
    assert ssh01(first) == {"lab-01": "pass", "lab-02": "pass"}
    planted = lab.ssh("lab-01", f"echo 'PermitRootLogin yes' | sudo tee {REGRESSION_DROPIN} >/dev/null && "
                                "sudo sshd -T -C user=root,host=x,addr=127.0.0.1 | grep -i '^permitrootlogin'")
    assert planted.stdout.strip() == "permitrootlogin yes", planted.stderr
    second = audit(lab, out, keys)
    assert ssh01(second) == {"lab-01": "fail", "lab-02": "pass"}
    return Runs(out, keys, first, second)


def test_diff_shows_exactly_the_planted_regression(runs: Runs) -> None:
    result = runs.cli("diff", "--json")
    assert result.returncode == 1, result.stderr  # 1: a regression
    diff = json.loads(result.stdout)
    assert diff["base_run_id"] == runs.first.name and diff["head_run_id"] == runs.second.name
    notable = [(c["category"], c["host"], c["control_id"]) for c in diff["changes"] if c["category"] != "unchanged"]
    assert notable == [("regressed", "lab-01", "SSH-01")]
    (change,) = [c for c in diff["changes"] if c["category"] == "regressed"]
    assert (change["before"]["status"], change["after"]["status"]) == ("pass", "fail")
    text = runs.cli("diff").stdout
    assert "1 regressed, 0 new, 0 resolved, 0 changed, 0 gone" in text
    assert [line.split()[:3] for line in text.splitlines()[1:]] == [["REGRESSED", "lab-01", "SSH-01"]]
    history = runs.cli("history")
    assert history.returncode == 0
    assert [line.split()[0] for line in history.stdout.splitlines()[1:]] == [runs.first.name, runs.second.name]


def test_html_shows_the_regression_and_the_trend(runs: Runs) -> None:
    html = (runs.second / "report.html").read_text()
    changes = html.split('<section id="changes">')[1].split("</section>")[0]
    assert runs.first.name in changes
    rows = changes.split('<tr class="change-row ')[1:]
    assert len(rows) == 1
    assert "change-row-regressed" in rows[0] and "lab-01" in rows[0] and "SSH-01" in rows[0]
    trend = html.split('<section id="trend">')[1].split("</section>")[0]
    assert trend.count('<g class="bar">') == 2
    first_html = (runs.first / "report.html").read_text()
    assert "first recorded run" in first_html


def test_sarif_marks_the_regression_new(runs: Runs) -> None:
    document = json.loads((runs.second / "results.sarif").read_text())
    validator = Draft4Validator(json.loads(SCHEMA.read_text()))
    assert not list(validator.iter_errors(document))
    results = document["runs"][0]["results"]
    ssh = {(r["properties"]["host"], r["kind"], r["baselineState"]) for r in results
           if r["properties"]["control_id"] == "SSH-01"}
    assert ("lab-01", "fail", "new") in ssh
    assert ("lab-01", "pass", "absent") in ssh
    assert ("lab-02", "pass", "unchanged") in ssh
    new = [r for r in results if r["baselineState"] == "new"]
    assert [(r["properties"]["host"], r["properties"]["control_id"]) for r in new] == [("lab-01", "SSH-01")]


def test_verify_untouched_then_one_byte_change_then_removed_run(runs: Runs) -> None:
    for run_dir in (runs.first, runs.second):
        ok = stockade("verify", str(run_dir))
        assert ok.returncode == 0, ok.stdout + ok.stderr
    pinned = stockade("verify", str(runs.second), "--public-key", str(runs.keys / "stockade-signing.pub"))
    assert pinned.returncode == 0, pinned.stdout
    for name in ("results.json", "report.html", "junit.xml", "results.sarif", "manifest.json"):
        path = runs.second / name
        original = path.read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 0x20
        path.write_bytes(bytes(changed))
        try:
            tampered = stockade("verify", str(runs.second))
        finally:
            path.write_bytes(original)
        assert tampered.returncode == 1
        assert f"{runs.second.name}/{name}" in tampered.stdout, tampered.stdout
    assert stockade("verify", str(runs.second)).returncode == 0  # restored
    parked = runs.out.parent / "parked-run"
    shutil.move(str(runs.first), parked)
    try:
        removed = stockade("verify", str(runs.second))
    finally:
        shutil.move(str(parked), runs.first)
    assert removed.returncode == 1
    assert f"({runs.first.name}) was removed" in removed.stdout
