"""The scheduled-audit wrapper of roles/audit_schedule: when it notifies, what it says, which exit code it keeps."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

WRAPPER = Path(__file__).resolve().parents[2] / "roles/audit_schedule/files/stockade_scheduled_audit.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stockade_scheduled_audit", WRAPPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


wrapper = _load()

PASS = {"status": "pass", "severity": "high", "message": "PermitRootLogin is no", "evidence_sha256": "aa"}
FAIL = {"status": "fail", "severity": "high", "message": "PermitRootLogin is yes", "evidence_sha256": "bb"}
ERROR = {"status": "error", "severity": "medium", "message": "host unreachable", "evidence_sha256": None}


def change(category: str, host: str, control: str, before: dict[str, Any] | None,
           after: dict[str, Any] | None) -> dict[str, Any]:
    return {"category": category, "host": host, "control_id": control, "check_id": control.lower() + "_check",
            "before": before, "after": after}


def diff_document(head: str, *changes: dict[str, Any]) -> dict[str, Any]:
    counts = {c: sum(1 for x in changes if x["category"] == c)
              for c in ("regressed", "new", "resolved", "changed", "gone", "unchanged")}
    return {"base_run_id": "run-1", "head_run_id": head, "counts": counts, "changes": list(changes)}


class FakeRunner:
    """Stands in for subprocess.run: the audit writes a run directory, diff answers, notify is recorded."""

    def __init__(self, reports: Path, *, audit_exit: int = 1, writes_run: str | None = "run-2",
                 diff_exit: int = 1, diff: dict[str, Any] | None = None, notify_exit: int = 0,
                 leaves_hidden: str | None = None) -> None:
        self.reports, self.audit_exit, self.writes_run = reports, audit_exit, writes_run
        self.leaves_hidden = leaves_hidden
        self.diff_exit, self.diff, self.notify_exit = diff_exit, diff, notify_exit
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append((argv, kwargs))
        if argv[1:2] == ["audit"]:
            if self.writes_run:
                (self.reports / self.writes_run).mkdir(parents=True)
            if self.leaves_hidden:
                (self.reports / self.leaves_hidden).mkdir(parents=True)
            return subprocess.CompletedProcess(argv, self.audit_exit, "", "")
        if argv[1:2] == ["diff"]:
            return subprocess.CompletedProcess(argv, self.diff_exit, json.dumps(self.diff or {}), "")
        return subprocess.CompletedProcess(argv, self.notify_exit, "", "")

    @property
    def notified(self) -> list[tuple[list[str], dict[str, Any]]]:
        return [call for call in self.calls if call[0][1:2] not in (["audit"], ["diff"])]


def run(tmp_path: Path, runner: FakeRunner, command: list[str] | None = None) -> int:
    config = tmp_path / "notify.json"
    config.write_text(json.dumps({"command": command if command is not None else ["/bin/notify", "--ops"]}))
    code: int = wrapper.main(["--reports", str(tmp_path / "reports"), "--history", str(tmp_path / "h.sqlite"),
                              "--notify-config", str(config), "--", "/venv/bin/stockade", "audit", "-i", "inv"],
                             run=runner)
    return code


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    (tmp_path / "reports" / "run-1").mkdir(parents=True)
    return tmp_path / "reports"


def test_a_regression_notifies_with_identifiers_only(tmp_path: Path, reports: Path) -> None:
    diff = diff_document("run-2", change("regressed", "web-1", "SSH-01", PASS, FAIL),
                         change("unchanged", "web-1", "FW-01", PASS, PASS),
                         change("resolved", "web-2", "PAM-01", FAIL, PASS))
    runner = FakeRunner(reports, diff=diff)
    assert run(tmp_path, runner) == 1  # the audit's own exit code
    ((argv, kwargs),) = runner.notified
    assert argv == ["/bin/notify", "--ops"]
    summary = json.loads(kwargs["input"])
    assert summary["regressions"] == [{"category": "regressed", "host": "web-1", "control_id": "SSH-01",
                                       "check_id": "ssh-01_check", "before": "pass", "after": "fail",
                                       "severity": "high"}]
    assert summary["report_dir"] == str(reports / "run-2") and summary["head_run_id"] == "run-2"
    assert "message" not in kwargs["input"] and "evidence" not in kwargs["input"]
    env = kwargs["env"]
    assert env["STOCKADE_REGRESSED_CONTROLS"] == "SSH-01" and env["STOCKADE_REGRESSION_COUNT"] == "1"
    assert env["STOCKADE_RUN_ID"] == "run-2" and env["STOCKADE_REGRESSED_HOSTS"] == "web-1"
    assert set(env) - {"PATH", "LANG", "HOME"} == {k for k in env if k.startswith("STOCKADE_")}


def test_a_new_failing_finding_counts_a_new_passing_one_does_not() -> None:
    diff = diff_document("run-2", change("new", "web-3", "SSH-01", None, ERROR),
                         change("new", "web-3", "FW-01", None, PASS),
                         change("changed", "web-1", "TLS-01", FAIL, ERROR))
    assert [(r["host"], r["control_id"], r["after"]) for r in wrapper.regressions(diff)] == [
        ("web-3", "SSH-01", "error")]


def test_no_regression_no_notification(tmp_path: Path, reports: Path) -> None:
    runner = FakeRunner(reports, audit_exit=0, diff_exit=0, diff=diff_document("run-2"))
    assert run(tmp_path, runner) == 0
    assert runner.notified == []


def test_first_run_has_nothing_to_compare(tmp_path: Path) -> None:
    runner = FakeRunner(tmp_path / "reports", diff_exit=2)
    assert run(tmp_path, runner) == 1
    assert runner.notified == []


def test_a_diff_about_another_run_is_not_notified(tmp_path: Path, reports: Path) -> None:
    diff = diff_document("run-0", change("regressed", "web-1", "SSH-01", PASS, FAIL))
    runner = FakeRunner(reports, diff=diff)
    assert run(tmp_path, runner) == 1
    assert runner.notified == []


def test_without_a_command_diff_is_not_even_run(tmp_path: Path, reports: Path) -> None:
    runner = FakeRunner(reports, diff=diff_document("run-2", change("regressed", "h", "SSH-01", PASS, FAIL)))
    assert run(tmp_path, runner, command=[]) == 1
    assert [call[0][1] for call in runner.calls] == ["audit"]


@pytest.mark.parametrize("audit_exit", [0, 1])
def test_an_exit_without_a_written_run_is_an_error(tmp_path: Path, reports: Path, audit_exit: int) -> None:
    # A Python traceback exits 1, like "findings fail": without a new run it must not pass for an audit.
    runner = FakeRunner(reports, audit_exit=audit_exit, writes_run=None)
    assert run(tmp_path, runner) == wrapper.EXIT_ERROR
    assert [call[0][1] for call in runner.calls] == ["audit"]


def test_bad_input_is_passed_through_without_diff(tmp_path: Path, reports: Path) -> None:
    runner = FakeRunner(reports, audit_exit=2, writes_run=None)
    assert run(tmp_path, runner) == 2
    assert len(runner.calls) == 1


def test_errors_still_notify_and_keep_exit_3(tmp_path: Path, reports: Path) -> None:
    diff = diff_document("run-2", change("regressed", "db-1", "PATCH-01", PASS, ERROR))
    runner = FakeRunner(reports, audit_exit=3, diff=diff)
    assert run(tmp_path, runner) == 3
    assert len(runner.notified) == 1


def test_a_failed_notification_fails_the_unit(tmp_path: Path, reports: Path) -> None:
    diff = diff_document("run-2", change("regressed", "web-1", "SSH-01", PASS, FAIL))
    runner = FakeRunner(reports, diff=diff, notify_exit=7)
    assert run(tmp_path, runner) == wrapper.EXIT_NOTIFY_FAILED


def test_a_bad_notify_config_is_bad_input(tmp_path: Path, reports: Path) -> None:
    config = tmp_path / "notify.json"
    config.write_text(json.dumps({"command": "rm -rf / as a string"}))
    code = wrapper.main(["--reports", str(reports), "--history", str(tmp_path / "h"), "--notify-config",
                         str(config), "--", "stockade", "audit"], run=FakeRunner(reports))
    assert code == 2


def test_retention_leftovers_do_not_hide_the_new_run(tmp_path: Path, reports: Path) -> None:
    """A retired run's trash (.run-1.retired) or a staging directory is not a second new run."""
    diff = diff_document("run-2", change("regressed", "web-1", "SSH-01", PASS, FAIL))
    runner = FakeRunner(reports, diff=diff, leaves_hidden=".run-1.retired")
    assert run(tmp_path, runner) == 1
    assert len(runner.notified) == 1
