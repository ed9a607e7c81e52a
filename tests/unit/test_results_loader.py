"""results.json read back through the one typed loader: every field survives the round trip."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from report_factory import mixed_result

from stockade.cli import main
from stockade.engine.model import RunResult
from stockade.errors import UsageError
from stockade.report.json_report import render_json
from stockade.report.results_loader import load_results


def _write(result: RunResult, directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "results.json").write_text(render_json(result))
    return directory


def test_write_then_read_gives_back_every_field(tmp_path: Path) -> None:
    written = mixed_result()
    read = load_results(_write(written, tmp_path / "run"))
    assert read == written
    # Equality of frozen dataclasses compares every field; also walk them, so a field added later and
    # left out of the loader fails here by name.
    for before, after in zip(written.findings, read.findings, strict=True):
        for field in dataclasses.fields(before):
            assert getattr(after, field.name) == getattr(before, field.name), field.name
    for field in dataclasses.fields(written.metadata):
        assert getattr(read.metadata, field.name) == getattr(written.metadata, field.name), field.name
    assert read.clauses == written.clauses and read.counts() == written.counts()


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not a readable results document"),
    ("[]", "a JSON object is expected"),
    ('{"schema_version": 1}', "results document is invalid"),
])
def test_a_bad_document_is_refused_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=message) as error:
        load_results(path)
    assert str(path) in str(error.value)


def test_diff_of_two_run_directories_reads_them_through_the_loader(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    base = mixed_result()
    failed = next(f for f in base.findings if f.status.value == "pass")
    head = dataclasses.replace(base, findings=tuple(
        dataclasses.replace(f, status=type(f.status)("fail")) if f is failed else f for f in base.findings))
    code = main(["diff", str(_write(base, tmp_path / "a")), str(_write(head, tmp_path / "b")), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1  # a regression
    assert [(c["host"], c["check_id"]) for c in document["changes"] if c["category"] == "regressed"] == [
        (failed.host, failed.check_id)]
