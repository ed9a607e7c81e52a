"""Retention removes old run directories without breaking the hash chain that `stockade verify` walks."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from report_factory import make_finding, make_result

from checks.model import Status
from stockade.cli import main
from stockade.engine.model import RunResult
from stockade.history.store import HistoryStore, Retention, open_history
from stockade.history_commands import Recorder
from stockade.integrity.keys import Signer, load_or_create_signer
from stockade.integrity.manifest import MANIFEST, SIGNATURE, previous_link, sha256_file, write_manifest
from stockade.integrity.retention import (
    RETIRED_SUFFIX,
    RetiredRun,
    Retirement,
    remove_run_directory,
    runs_to_retire,
    scan_chain,
)
from stockade.integrity.verify import verify_run
from stockade.report.writer import write_reports

FORMATS = ["json", "html"]


def result_named(run_id: str) -> RunResult:
    result = make_result(make_finding(Status.PASS, host="lab-01"))
    return dataclasses.replace(result, metadata=dataclasses.replace(
        result.metadata, run_id=run_id, started_at=f"2025-01-0{run_id[-1]}T00:00:00+00:00"))


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return load_or_create_signer(tmp_path / "keys")


def audit(reports: Path, signer: Signer, run_id: str, keep_runs: int | None = None,
          keep_days: int | None = None, history: bool = True) -> Path:
    """What `stockade audit -o REPORTS --keep-runs N` does once the hosts are audited."""
    store = HistoryStore(reports / "history.sqlite") if history else None
    recorder = Recorder(store, signer, Retention(keep_runs, keep_days))
    try:
        recorder.write(result_named(run_id), reports / run_id, FORMATS)
    finally:
        recorder.close()
    return reports / run_id


def runs_in(reports: Path) -> list[str]:
    return sorted(p.name for p in reports.iterdir() if p.is_dir())


def retired_of(run_dir: Path) -> list[dict[str, str]]:
    retired: list[dict[str, str]] = json.loads((run_dir / MANIFEST).read_text())["retired"]
    return retired


def test_keep_runs_removes_the_oldest_directory_and_verify_says_where_the_chain_starts(
        reports: Path, signer: Signer, capsys: pytest.CaptureFixture[str]) -> None:
    audit(reports, signer, "run-1", keep_runs=2)
    audit(reports, signer, "run-2", keep_runs=2)
    assert retired_of(reports / "run-2") == []
    digest = sha256_file(reports / "run-1" / MANIFEST)
    capsys.readouterr()
    newest = audit(reports, signer, "run-3", keep_runs=2)
    assert "retention: removed run directory" in capsys.readouterr().err
    assert runs_in(reports) == ["run-2", "run-3"]
    assert retired_of(newest) == [{"run_id": "run-1", "dir": "run-1", "manifest_sha256": digest}]
    assert json.loads((newest / MANIFEST).read_text())["manifest_version"] == 2
    for run_dir in (newest, reports / "run-2"):
        report = verify_run(run_dir)
        assert report.problems == []
        assert report.notes == ["chain starts at run-2 (earlier runs retired by run-3 under retention)"]
    with open_history(reports / "history.sqlite") as store:
        assert [run.run_id for run in store.runs()] == ["run-2", "run-3"]
    assert main(["verify", str(newest)]) == 0
    assert "chain starts at run-2 (earlier runs retired by run-3" in capsys.readouterr().out


def test_retention_over_many_runs_keeps_a_verifiable_chain(reports: Path, signer: Signer) -> None:
    for number in range(1, 7):
        audit(reports, signer, f"run-{number}", keep_runs=3, history=False)
    assert runs_in(reports) == ["run-4", "run-5", "run-6"]
    report = verify_run(reports / "run-6")
    assert report.problems == []
    assert report.runs_checked == ["run-6", "run-5", "run-4"]
    assert report.notes == ["chain starts at run-4 (earlier runs retired by run-6 under retention)"]


def test_keep_days_retires_runs_created_before_the_cutoff(reports: Path, signer: Signer) -> None:
    for number in (1, 2, 3):
        audit(reports, signer, f"run-{number}", history=False)
    scan = scan_chain(reports, previous_link(reports))
    assert [run.retired.run_id for run in scan.runs] == ["run-3", "run-2", "run-1"]
    now = datetime.now(UTC)
    assert runs_to_retire(scan, None, 1, now=now) == []
    assert [r.run_id for r in runs_to_retire(scan, None, 1, now=now + timedelta(days=2))] == ["run-3", "run-2",
                                                                                             "run-1"]
    assert [r.run_id for r in runs_to_retire(scan, 2, None)] == ["run-2", "run-1"]  # the new run takes a slot
    assert [r.run_id for r in runs_to_retire(scan, 1, 400)] == ["run-3", "run-2", "run-1"]


def test_removing_a_run_that_was_not_retired_is_still_named(reports: Path, signer: Signer) -> None:
    for number in (1, 2, 3):
        audit(reports, signer, f"run-{number}", keep_runs=2, history=False)
    shutil.rmtree(reports / "run-2")
    problems = verify_run(reports / "run-3").problems
    assert any("run run-2 (run-2) was removed: run-3 names it" in problem for problem in problems), problems


def test_editing_a_retired_entry_is_caught(reports: Path, signer: Signer) -> None:
    for number in (1, 2, 3):
        audit(reports, signer, f"run-{number}", keep_runs=2, history=False)
    manifest = reports / "run-3" / MANIFEST
    manifest.write_text(manifest.read_text().replace('"run_id": "run-1"', '"run_id": "run-2"'))
    problems = verify_run(reports / "run-3").problems
    assert any(f"run-3/{SIGNATURE}: the signature does not match" in problem for problem in problems), problems


def test_a_retired_entry_with_another_digest_does_not_excuse_a_removal(reports: Path, signer: Signer,
                                                                       tmp_path: Path) -> None:
    """Even signed by the right key, a retirement must name the very manifest the chain recorded."""
    for number in (1, 2):
        audit(reports, signer, f"run-{number}", history=False)
    staging = reports / "run-3"
    staging.mkdir()
    (staging / "results.json").write_text("{}\n")
    write_manifest(staging, "run-3", signer, previous_link(reports),
                   retired=[{"run_id": "run-2", "dir": "run-2", "manifest_sha256": "0" * 64}])
    problems = verify_run(staging).problems
    assert any("run-3/manifest.json: retires run run-2 with manifest digest 0000000000000000…, but "
               "run-2/manifest.json has" in problem for problem in problems), problems
    shutil.rmtree(reports / "run-2")
    problems = verify_run(staging).problems
    assert any("retires run run-2 with manifest digest 0000000000000000…, but run-3 recorded" in problem
               for problem in problems), problems


def test_a_crash_between_publishing_and_deleting_still_verifies(reports: Path, signer: Signer,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    for number in (1, 2):
        audit(reports, signer, f"run-{number}", keep_runs=2, history=False)
    # Published, then the process dies before Retirement.apply.
    write_reports(result_named("run-3"), reports / "run-3", FORMATS, signer=signer, retire=Retirement(2, None).plan)
    assert [entry["run_id"] for entry in retired_of(reports / "run-3")] == ["run-1"]
    assert runs_in(reports) == ["run-1", "run-2", "run-3"]
    for run in ("run-3", "run-2"):
        assert verify_run(reports / run).problems == []
    leftover = verify_run(reports / "run-1")
    assert leftover.problems == []
    # The next run retires run-2 and removes what run-3 retired but left behind.
    audit(reports, signer, "run-4", keep_runs=2, history=False)
    assert "retired by an earlier run" in capsys.readouterr().err
    assert runs_in(reports) == ["run-3", "run-4"]
    assert verify_run(reports / "run-4").problems == []


def test_a_crash_halfway_through_a_deletion_still_verifies(reports: Path, signer: Signer) -> None:
    for number in (1, 2):
        audit(reports, signer, f"run-{number}", keep_runs=2, history=False)
    write_reports(result_named("run-3"), reports / "run-3", FORMATS, signer=signer, retire=Retirement(2, None).plan)
    trash = reports / f".run-1{RETIRED_SUFFIX}"
    (reports / "run-1").rename(trash)  # renamed aside, then died while deleting its files
    (trash / "results.json").unlink()
    report = verify_run(reports / "run-3")
    assert report.problems == []
    assert report.notes == ["chain starts at run-2 (earlier runs retired by run-3 under retention)"]
    audit(reports, signer, "run-4", keep_runs=3, history=False)
    assert not trash.exists()
    assert verify_run(reports / "run-4").problems == []


def test_a_symlink_put_in_place_of_a_retired_run_is_not_followed(reports: Path, signer: Signer,
                                                                  tmp_path: Path) -> None:
    for number in (1, 2):
        audit(reports, signer, f"run-{number}", keep_runs=2, history=False)
    retirement = Retirement(2, None)
    write_reports(result_named("run-3"), reports / "run-3", FORMATS, signer=signer, retire=retirement.plan)
    outside = tmp_path / "elsewhere"
    (reports / "run-1").rename(outside)  # same files, same manifest: only the place differs
    (reports / "run-1").symlink_to(outside)
    (removal,) = retirement.apply(reports / "run-3")
    assert not removal.removed and "symbolic link" in removal.reason
    assert (outside / MANIFEST).is_file() and (reports / "run-1").is_symlink()


def test_only_a_run_directory_inside_the_reports_directory_is_deleted(reports: Path, signer: Signer,
                                                                      tmp_path: Path) -> None:
    audit(reports, signer, "run-1", history=False)
    digest = sha256_file(reports / "run-1" / MANIFEST)
    outside = tmp_path / "outside"
    shutil.copytree(reports / "run-1", outside)
    for directory in ("../outside", str(outside), ".", ".."):
        removal = remove_run_directory(reports, RetiredRun("run-1", directory, digest))
        assert not removal.removed and "not a directory name" in removal.reason
    (reports / "not-a-run").mkdir()
    (reports / "not-a-run" / "data").write_text("keep me")
    removal = remove_run_directory(reports, RetiredRun("run-1", "not-a-run", digest))
    assert not removal.removed and "does not hold run run-1's signed manifest.json" in removal.reason
    removal = remove_run_directory(reports, RetiredRun("run-0", "run-1", digest))  # another run id
    assert not removal.removed
    assert (outside / MANIFEST).is_file() and (reports / "not-a-run" / "data").is_file()
    assert (reports / "run-1" / MANIFEST).is_file()
    assert remove_run_directory(reports, RetiredRun("run-1", "run-1", digest)).removed
    assert not (reports / "run-1").exists()


def test_a_broken_chain_is_not_retired_away(reports: Path, signer: Signer,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Retiring the runs around a removal would erase the evidence verify reports."""
    for number in (1, 2, 3):
        audit(reports, signer, f"run-{number}", history=False)
    shutil.rmtree(reports / "run-2")
    (reports / "run-1").rename(reports.parent / "run-1-moved")
    (reports / "run-1").symlink_to(reports.parent / "run-1-moved")
    capsys.readouterr()
    audit(reports, signer, "run-4", keep_runs=1, history=False)
    assert "no run directory retired: the chain is broken (run run-2 (run-2) is missing" in capsys.readouterr().err
    assert retired_of(reports / "run-4") == []
    assert runs_in(reports) == ["run-1", "run-3", "run-4"]
    assert any("run run-2 (run-2) was removed" in p for p in verify_run(reports / "run-4").problems)


def test_a_left_over_retired_run_verifies_as_retired(reports: Path, signer: Signer) -> None:
    for number in (1, 2):
        audit(reports, signer, f"run-{number}", history=False)
    # Retires run-2 and run-1; died after deleting run-2 only.
    write_reports(result_named("run-3"), reports / "run-3", FORMATS, signer=signer, retire=Retirement(1, None).plan)
    assert [entry["run_id"] for entry in retired_of(reports / "run-3")] == ["run-2", "run-1"]
    shutil.rmtree(reports / "run-2")
    report = verify_run(reports / "run-1")
    assert report.problems == []
    assert sorted(report.notes) == [
        "chain starts at run-3 (earlier runs retired by run-3 under retention)",
        "run-1 was retired by run-3 under retention (its directory is left over and will be deleted)"]
    assert verify_run(reports / "run-3").notes == [
        "chain starts at run-3 (earlier runs retired by run-3 under retention)"]


def test_a_run_changed_since_it_was_signed_is_not_retired_away(reports: Path, signer: Signer,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A one-byte edit of an old report is evidence too: retention keeps it for verify to name."""
    for number in (1, 2):
        audit(reports, signer, f"run-{number}", history=False)
    edited = reports / "run-1" / "results.json"
    edited.write_bytes(edited.read_bytes().replace(b"{", b"[", 1))
    capsys.readouterr()
    audit(reports, signer, "run-3", keep_runs=2, history=False)
    err = capsys.readouterr().err
    assert "no run directory retired: run-1/results.json: changed since the run was signed" in err
    assert retired_of(reports / "run-3") == []
    assert runs_in(reports) == ["run-1", "run-2", "run-3"]
    assert "run-1/results.json: changed since the run was signed (SHA-256 differs)" in \
        verify_run(reports / "run-3").problems
