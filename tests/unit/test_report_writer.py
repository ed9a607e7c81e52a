"""write_reports: validated, all formats or nothing, one new directory per run."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from report_factory import make_finding, make_result, mixed_result

from checks.model import Status
from stockade.engine.model import RunMetadata, RunResult
from stockade.report import writer
from stockade.report.json_report import ResultsValidationError, render_json, validate_results
from stockade.report.writer import write_reports


def entries(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_happy_path_writes_the_three_reports(tmp_path: Path) -> None:
    out_dir = tmp_path / "reports" / "run-1"
    result = mixed_result()
    written = write_reports(result, out_dir, ["json", "html", "junit"])
    assert written == [out_dir / "results.json", out_dir / "report.html", out_dir / "junit.xml"]
    assert entries(out_dir) == ["junit.xml", "report.html", "results.json"]
    assert entries(out_dir.parent) == ["run-1"]  # no staging directory left behind
    assert (out_dir / "results.json").read_text(encoding="utf-8") == render_json(result)
    validate_results(json.loads((out_dir / "results.json").read_text(encoding="utf-8")))
    assert "badge-error" in (out_dir / "report.html").read_text(encoding="utf-8")
    assert "<testsuites" in (out_dir / "junit.xml").read_text(encoding="utf-8")


def test_only_requested_formats_are_written_in_request_order(tmp_path: Path) -> None:
    out_dir = tmp_path / "run-1"
    written = write_reports(mixed_result(), out_dir, ["junit", "json", "junit"])
    assert written == [out_dir / "junit.xml", out_dir / "results.json"]
    assert entries(out_dir) == ["junit.xml", "results.json"]


def test_report_directory_is_private(tmp_path: Path) -> None:
    out_dir = tmp_path / "run-1"
    write_reports(mixed_result(), out_dir, ["json"])
    assert stat.S_IMODE(out_dir.stat().st_mode) == 0o700


def test_unknown_format_writes_nothing(tmp_path: Path) -> None:
    out_dir = tmp_path / "run-1"
    with pytest.raises(ValueError, match="'pdf'"):
        write_reports(mixed_result(), out_dir, ["json", "pdf", "html"])
    assert entries(tmp_path) == []


def test_no_format_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no report format"):
        write_reports(mixed_result(), tmp_path / "run-1", [])
    assert entries(tmp_path) == []


def test_a_bare_string_is_not_taken_for_a_list_of_formats(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_reports(mixed_result(), tmp_path / "run-1", "json")
    assert entries(tmp_path) == []


@pytest.mark.parametrize("kind", ["empty-dir", "full-dir", "file"])
def test_existing_out_dir_is_refused_and_left_untouched(tmp_path: Path, kind: str) -> None:
    out_dir = tmp_path / "run-1"
    if kind == "file":
        out_dir.write_text("keep me", encoding="utf-8")
    else:
        out_dir.mkdir()
        if kind == "full-dir":
            (out_dir / "results.json").write_text("previous run", encoding="utf-8")
    with pytest.raises(FileExistsError):
        write_reports(mixed_result(), out_dir, ["json", "html", "junit"])
    assert entries(tmp_path) == ["run-1"]
    if kind == "file":
        assert out_dir.read_text(encoding="utf-8") == "keep me"
    elif kind == "full-dir":
        assert entries(out_dir) == ["results.json"]
        assert (out_dir / "results.json").read_text(encoding="utf-8") == "previous run"
    else:
        assert entries(out_dir) == []


def test_invalid_results_write_nothing(tmp_path: Path) -> None:
    good = mixed_result()
    naive = RunMetadata(**{**good.metadata.__dict__, "started_at": "2025-01-31 12:00"})
    out_dir = tmp_path / "run-1"
    with pytest.raises(ResultsValidationError, match="started_at"):
        write_reports(RunResult(metadata=naive, findings=good.findings), out_dir, ["html"])
    assert entries(tmp_path) == []


def test_waived_finding_without_waiver_is_refused(tmp_path: Path) -> None:
    result = make_result(make_finding(Status.WAIVED, waiver=None))
    with pytest.raises(ResultsValidationError, match="waiver"):
        write_reports(result, tmp_path / "run-1", ["junit"])
    assert entries(tmp_path) == []


def test_renderer_failure_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(result: RunResult) -> str:
        raise RuntimeError("renderer broke")

    monkeypatch.setitem(writer.FORMATS, "junit", ("junit.xml", broken))
    with pytest.raises(RuntimeError, match="renderer broke"):
        write_reports(mixed_result(), tmp_path / "run-1", ["json", "html", "junit"])
    assert entries(tmp_path) == []


def test_failure_while_writing_removes_the_staging_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    real_write = writer._write_durably

    def write_then_fail(path: Path, text: str) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_write(path, text)

    monkeypatch.setattr(writer, "_write_durably", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        write_reports(mixed_result(), tmp_path / "run-1", ["json", "html", "junit"])
    assert len(calls) == 2
    assert calls[0].parent.parent == tmp_path  # staged next to out_dir, on the same filesystem
    assert entries(tmp_path) == []


def test_out_dir_appearing_while_writing_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out_dir = tmp_path / "run-1"
    real_write = writer._write_durably

    def write_and_race(path: Path, text: str) -> None:
        real_write(path, text)
        if not out_dir.exists():
            out_dir.mkdir()
            (out_dir / "results.json").write_text("other run", encoding="utf-8")

    monkeypatch.setattr(writer, "_write_durably", write_and_race)
    with pytest.raises(FileExistsError):
        write_reports(mixed_result(), out_dir, ["json", "html"])
    assert entries(tmp_path) == ["run-1"]
    assert (out_dir / "results.json").read_text(encoding="utf-8") == "other run"


def test_out_dir_appearing_just_before_the_rename_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "run-1"
    real_refuse = writer._refuse_existing
    calls: list[Path] = []

    def refuse_then_lose_the_race(path: Path) -> None:
        calls.append(path)
        real_refuse(path)
        if len(calls) == 2:  # the last check passed; another run renames its reports into place
            path.mkdir()
            (path / "results.json").write_text("other run", encoding="utf-8")

    monkeypatch.setattr(writer, "_refuse_existing", refuse_then_lose_the_race)
    with pytest.raises(FileExistsError, match="appeared while writing"):
        write_reports(mixed_result(), out_dir, ["json", "html"])
    assert len(calls) == 2
    assert entries(tmp_path) == ["run-1"]
    assert entries(out_dir) == ["results.json"]
    assert (out_dir / "results.json").read_text(encoding="utf-8") == "other run"
