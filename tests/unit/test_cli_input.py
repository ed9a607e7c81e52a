"""Bad input gets one clear line naming what is wrong, a non-zero exit, and nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.cli import main
from stockade.report.json_report import validate_results

REPO = Path(__file__).resolve().parents[2]


def stockade(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stockade", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=60, check=False)


@pytest.mark.parametrize(("args", "message"), [
    (["lab", "up", "--hosts", "0"], "--hosts must be between 1 and 200, got 0"),
    (["lab", "up", "--hosts", "201"], "--hosts must be between 1 and 200, got 201"),
    (["lab", "up", "--release", "11"], "unknown release '11': choose one of 12, 13"),
])
def test_lab_up_rejects_bad_arguments_in_one_line(args: list[str], message: str) -> None:
    result = stockade(*args)
    assert result.returncode == 2
    assert result.stderr.strip() == f"stockade: {message}"


def test_lab_needs_root(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["lab", "up", "--hosts", "1"]) == 2
    expected = "stockade: the lab needs root (namespaces, mounts, systemd-nspawn): run it as root\n"
    assert capsys.readouterr().err == expected


def test_lab_names_missing_tools(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["lab", "up", "--hosts", "1"]) == 2
    assert capsys.readouterr().err.startswith("stockade: missing tools: debootstrap, systemd-nspawn, ip,")


def test_audit_names_a_missing_inventory(tmp_path: Path) -> None:
    result = stockade("audit", "-i", str(tmp_path / "nope.yml"), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"stockade: {tmp_path / 'nope.yml'}: inventory not found"
    assert not (tmp_path / "out").exists()


def test_audit_rejects_an_inventory_that_matches_no_host(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    web-1:\n      ansible_host: 198.18.0.250\n")
    result = stockade("audit", "-i", str(inventory), "--limit", "db-*", "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{inventory}: no host or group matches 'db-*' of --limit 'db-*'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_audit_rejects_an_unknown_format_before_contacting_hosts(tmp_path: Path) -> None:
    result = stockade("audit", "-i", str(tmp_path / "nope.yml"), "--format", "json,pdf")
    assert result.returncode == 2
    assert "unknown format(s) pdf" in result.stderr


def test_harden_names_a_missing_inventory(tmp_path: Path) -> None:
    result = stockade("harden", "-i", str(tmp_path / "nope.yml"))
    assert result.returncode == 2
    assert "nope.yml: inventory not found" in result.stderr


def test_audit_of_the_local_machine_through_testinfra_local_backend(tmp_path: Path) -> None:
    """`--target local://`: the collector runs in place (read-only commands); the verdict may be anything
    but must come with evidence from the local backend, in a schema-valid results.json."""
    result = stockade("audit", "--target", "local://", "--controls", "SSH-01", "-o", str(tmp_path), "--format", "json")
    assert result.returncode in (0, 1, 3), result.stderr
    [run_dir] = [p for p in tmp_path.iterdir() if p.is_dir()]  # beside it: history.sqlite, chain head
    document = json.loads((run_dir / "results.json").read_text())
    validate_results(document)
    findings = document["findings"]
    assert findings and {finding["control_id"] for finding in findings} == {"SSH-01"}
    assert all(finding["evidence"]["source"].endswith("via local://local") for finding in findings)
    assert document["metadata"]["inventory"] == "local://"


def test_audit_needs_exactly_one_of_inventory_and_target(tmp_path: Path) -> None:
    result = stockade("audit", "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "give either -i INVENTORY or --target URL" in result.stderr
