"""The fast paths of the reports (issue 8: 1,000 hosts x 150 findings): same documents, same errors.

- ``RunResult.to_dict`` is written by hand: it must stay the ``dataclasses.asdict`` document.
- orjson writes the JSON texts: byte for byte the stdlib's text, NaN and unserialisable evidence refused.
- JUnit is written as text: byte for byte what ElementTree serialises (the old renderer, kept here as oracle).
- write_reports validates the very document it writes, and forks renderers for large runs: same files.
"""

from __future__ import annotations

import enum
import gc
import json
import os
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from report_factory import WAIVER, make_finding, make_result, mixed_result

from stockade.engine.model import (
    ClauseResult,
    ControlResult,
    Evidence,
    Finding,
    RunMetadata,
    RunResult,
    Status,
    Verdict,
)
from stockade.history.context import ReportContext
from stockade.history.diff import diff_snapshots, snapshot_of
from stockade.report import json_report, writer
from stockade.report.json_report import ResultsValidationError, dumps_document, render_json
from stockade.report.junit import render_junit
from stockade.report.ordering import group_by_host
from stockade.report.sarif import render_sarif
from stockade.report.writer import write_reports

FORMATS = ["json", "html", "junit", "sarif"]
FILES = ["results.json", "report.html", "junit.xml", "results.sarif"]


def with_clauses(result: RunResult) -> RunResult:
    control = ControlResult("SSH-01", "Root login disabled", "automated", Verdict.NOT_SATISFIED, "one host fails")
    clause = ClauseResult("DH-4.2", "4", "Administrative access is personal.", Verdict.PARTLY, (control,))
    metadata = replace(result.metadata, selected_controls=("SSH-01", "SSH-02"), policy_id="DH-2025",
                       waivers_file="waivers.yml")
    return replace(result, metadata=metadata, clauses=(clause,))


def asdict_document(result: RunResult) -> dict[str, Any]:
    """The document as RunResult.to_dict() wrote it before it was written by hand."""
    return {"schema_version": 1, "metadata": asdict(result.metadata), "summary": result.counts(),
            "findings": [asdict(finding) for finding in result.findings],
            "clauses": [asdict(clause) for clause in result.clauses]}


def tricky_result() -> RunResult:
    """Characters XML cannot carry, characters it must escape, unicode, a waiver, a host without findings."""
    return make_result(
        make_finding(Status.FAIL, host='h"<&>\t\n\r\x01x', message='say "no" <a> & \x00 \t\r\n done',
                     observed={"line": "v\x02<&>", "values": [1, 2.5, None, True], "clé": "refusée"}),
        make_finding(Status.WAIVED, waiver={**WAIVER, "note": 'a"b<'}, message=""),
        make_finding(Status.MANUAL, host="db01", evidence=False),
        make_finding(Status.ERROR, host="db01", check_id="x]]>y", message="]]> -- "),
        hosts=("empty-host",),
    )


# --- the canonical document ---------------------------------------------------------------------------


def test_to_dict_keeps_the_field_order_of_the_model() -> None:
    document = with_clauses(mixed_result()).to_dict()
    assert list(document["metadata"]) == [f.name for f in fields(RunMetadata)]
    assert list(document["findings"][0]) == [f.name for f in fields(Finding)]
    assert list(document["findings"][0]["evidence"]) == [f.name for f in fields(Evidence)]
    assert list(document["clauses"][0]) == [f.name for f in fields(ClauseResult)]
    assert list(document["clauses"][0]["controls"][0]) == [f.name for f in fields(ControlResult)]


@pytest.mark.parametrize("result", [with_clauses(mixed_result()), tricky_result(), make_result()],
                         ids=["mixed-with-clauses", "tricky", "empty"])
def test_to_dict_is_the_asdict_document_as_plain_data(result: RunResult) -> None:
    document = result.to_dict()
    assert document == json.loads(json.dumps(asdict_document(result)))
    # plain data: lists, not tuples; strings, not enums (jsonschema takes no tuple for an array)
    assert type(document["metadata"]["hosts"]) is list
    assert all(type(f["clause_ids"]) is list and type(f["status"]) is str for f in document["findings"])


@pytest.mark.parametrize("result", [with_clauses(mixed_result()), tricky_result(), make_result()],
                         ids=["mixed-with-clauses", "tricky", "empty"])
def test_render_json_is_the_stdlib_text_byte_for_byte(result: RunResult) -> None:
    expected = json.dumps(asdict_document(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    assert render_json(result) == expected


@pytest.mark.parametrize(
    "observed",
    [{"big": 2**70}, {1: "int key", None: "null key", 2.5: "float key"}, {"nested": {"big": [-(2**64)]}}],
    ids=["beyond-64-bits", "non-string-keys", "nested-big"],
)
def test_what_orjson_refuses_the_stdlib_writes(observed: dict[Any, Any]) -> None:
    result = make_result(make_finding(Status.FAIL, observed=observed))
    expected = json.dumps(asdict_document(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    assert render_json(result) == expected


def test_floats_may_be_spelled_otherwise_but_are_the_same_numbers() -> None:
    values = [0.1, 1.0, -0.0, 2.5e-7, 1e16, 1.7976931348623157e308, 5e-324]
    result = make_result(make_finding(Status.PASS, observed={"values": values}))
    assert json.loads(render_json(result))["findings"][0]["evidence"]["observed"]["values"] == values


class Colour(enum.Enum):
    RED = 1


UNSERIALISABLE = {
    "object": object(),
    "set": {1, 2},
    "bytes": b"\x00",
    "datetime": datetime(2025, 1, 31, tzinfo=UTC),
    "uuid": uuid.UUID(int=1),
    "enum": Colour.RED,
    "evidence-dataclass": Evidence("x", {}, "2025-01-31T12:00:00Z"),
}


@pytest.mark.parametrize("value", UNSERIALISABLE.values(), ids=UNSERIALISABLE.keys())
@pytest.mark.parametrize("renderer", [render_json, render_sarif, render_junit], ids=["json", "sarif", "junit"])
def test_unserialisable_evidence_is_a_type_error(renderer: Any, value: Any) -> None:
    """As with json.dumps: orjson alone would write datetimes, UUIDs and enums."""
    with pytest.raises(TypeError, match="not JSON serializable"):
        renderer(make_result(make_finding(Status.FAIL, observed={"nested": [{"value": value}]})))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("where", ["observed", "waiver"])
@pytest.mark.parametrize("renderer", [render_json, render_sarif, render_junit], ids=["json", "sarif", "junit"])
def test_nan_and_infinity_are_refused_not_written_as_null(renderer: Any, where: str, value: float) -> None:
    """orjson alone would write null: a lossy report."""
    if where == "observed":
        finding = make_finding(Status.FAIL, observed={"ratio": [value]})
    else:
        finding = make_finding(Status.WAIVED, waiver={**WAIVER, "score": value})
    with pytest.raises(ValueError, match="JSON compliant"):
        renderer(make_result(finding))


def test_dumps_document_parses_back_to_the_document() -> None:
    document = with_clauses(tricky_result()).to_dict()
    assert json.loads(dumps_document(document)) == document


# --- SARIF -------------------------------------------------------------------------------------------


def test_sarif_uses_the_diff_states_only_for_this_run() -> None:
    """The diff already holds each finding's state (evidence digest): same log with it or without it."""
    previous = make_result(make_finding(Status.PASS, host="a"), make_finding(Status.FAIL, host="b"),
                           make_finding(Status.FAIL, host="c", observed={"permitrootlogin": "yes"}))
    previous = replace(previous, metadata=replace(previous.metadata, run_id="prev"))
    current = make_result(make_finding(Status.PASS, host="a"), make_finding(Status.PASS, host="b"),
                          make_finding(Status.FAIL, host="c", observed={"permitrootlogin": "without-password"}))
    before, after = snapshot_of(previous), snapshot_of(current)
    with_diff = render_sarif(current, ReportContext(before, diff_snapshots(before, after)))
    assert with_diff == render_sarif(current, ReportContext(before, None))
    states = {r["properties"]["host"]: r["baselineState"] for r in json.loads(with_diff)["runs"][0]["results"]
              if r["baselineState"] != "absent"}
    assert states == {"a": "unchanged", "b": "new", "c": "updated"}
    # A diff of other runs (whose states would make c unchanged) is not trusted.
    other_head = snapshot_of(replace(previous, metadata=replace(previous.metadata, run_id="x")))
    assert render_sarif(current, ReportContext(before, diff_snapshots(before, other_head))) == with_diff
    other_base = replace(before, run_id="older")
    same_ids = snapshot_of(replace(previous, metadata=current.metadata))
    assert render_sarif(current, ReportContext(before, diff_snapshots(other_base, same_ids))) == with_diff


# --- JUnit: ElementTree is the oracle --------------------------------------------------------------------


def _oracle_junit(result: RunResult) -> str:
    """The JUnit renderer as it was, on ElementTree."""
    import re

    not_xml = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

    def text(value: str) -> str:
        return not_xml.sub(lambda match: f"\\x{ord(match.group()):02x}", value)

    def compact(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    def set_counts(element: ET.Element, statuses: Counter[Status], total: int) -> None:
        skipped = statuses[Status.SKIPPED] + statuses[Status.WAIVED] + statuses[Status.MANUAL]
        for name, count in (("tests", total), ("failures", statuses[Status.FAIL]),
                            ("errors", statuses[Status.ERROR]), ("skipped", skipped)):
            element.set(name, str(count))

    meta = result.metadata
    root = ET.Element("testsuites", {"name": text(f"stockade {meta.run_id}")})
    set_counts(root, Counter(f.status for f in result.findings), len(result.findings))
    for group in group_by_host(result):
        suite = ET.SubElement(root, "testsuite", {"name": text(group.host)})
        set_counts(suite, Counter(f.status for f in group.findings), len(group.findings))
        properties = ET.SubElement(suite, "properties")
        for name in ("run_id", "started_at", "finished_at", "tool_version", "inventory"):
            ET.SubElement(properties, "property", {"name": name, "value": text(getattr(meta, name))})
        for f in group.findings:
            case = ET.SubElement(suite, "testcase", {"classname": text(f.host),
                                                     "name": text(f"{f.control_id} {f.check_id}")})
            if f.status is Status.FAIL:
                child = ET.SubElement(case, "failure", {"message": text(f.message), "type": f.severity.value})
            elif f.status is Status.ERROR:
                child = ET.SubElement(case, "error", {"message": text(f.message), "type": "could-not-evaluate"})
            elif f.status in (Status.SKIPPED, Status.WAIVED, Status.MANUAL):
                child = ET.SubElement(case, "skipped", {"message": text(f"{f.status.value}: {f.message}")})
            else:
                child = ET.SubElement(case, "system-out")
            lines = [f.message, f"evidence: {compact(None if f.evidence is None else asdict(f.evidence))}"]
            if f.waiver is not None:
                lines.append(f"waiver: {compact(f.waiver)}")
            child.text = text("\n".join(lines))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


@pytest.mark.parametrize(
    "result",
    [mixed_result(), tricky_result(), make_result(), make_result(hosts=("web01",))],
    ids=["mixed", "tricky", "empty", "host-without-findings"],
)
def test_junit_text_is_what_elementtree_serialises(result: RunResult) -> None:
    text = render_junit(result)
    assert text == _oracle_junit(result)
    ET.fromstring(text.encode("utf-8"))  # well-formed


# --- write_reports ----------------------------------------------------------------------------------


def big_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every run take the forked path, even on a one-CPU machine."""
    monkeypatch.setattr(writer, "PARALLEL_FROM_FINDINGS", 0)
    monkeypatch.setattr(writer, "_cpus", lambda: 2)


def record_children(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pids: list[int] = []
    real = writer._ChildRender.__init__

    def init(self: Any, render: Any, file_name: str) -> None:
        real(self, render, file_name)
        pids.append(self.pid)

    monkeypatch.setattr(writer._ChildRender, "__init__", init)
    return pids


def assert_reaped(pids: list[int]) -> None:
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def open_fds() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def test_what_is_validated_is_what_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    validated: list[dict[str, Any]] = []
    real_validate = writer.validate_results

    def recording_validate(document: dict[str, Any]) -> None:
        validated.append(document)
        real_validate(document)

    monkeypatch.setattr(writer, "validate_results", recording_validate)
    result = with_clauses(tricky_result())
    write_reports(result, tmp_path / "run", ["json"])
    (document,) = validated
    text = (tmp_path / "run" / "results.json").read_text(encoding="utf-8")
    assert text == dumps_document(document)
    assert json.loads(text) == document


def test_forked_renderers_write_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    previous = replace(mixed_result(), metadata=replace(mixed_result().metadata, run_id="prev"))
    result = with_clauses(tricky_result())
    before = snapshot_of(previous)
    context = ReportContext(before, diff_snapshots(before, snapshot_of(result)))
    write_reports(result, tmp_path / "serial", FORMATS, context=context)
    big_enough(monkeypatch)
    pids = record_children(monkeypatch)
    fds = open_fds()
    written = write_reports(result, tmp_path / "forked", FORMATS, context=context)
    assert len(pids) == 3  # html, junit, sarif; the JSON stays in this process
    assert_reaped(pids)
    assert open_fds() == fds  # every pipe closed
    assert written == [tmp_path / "forked" / name for name in FILES]
    for name in FILES:
        assert (tmp_path / "forked" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes(), name


class RendererBrokeError(Exception):
    pass


def test_a_forked_renderer_failure_is_raised_here_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(result: RunResult) -> str:
        raise RendererBrokeError(f"no junit for {result.metadata.run_id}")

    big_enough(monkeypatch)
    pids = record_children(monkeypatch)
    monkeypatch.setitem(writer.FORMATS, "junit", ("junit.xml", broken))
    fds = open_fds()
    with pytest.raises(RendererBrokeError, match="no junit for run-20250131-120000") as raised:
        write_reports(mixed_result(), tmp_path / "run-1", FORMATS)
    assert any("raised in the report renderer process" in note for note in raised.value.__notes__)
    assert list(tmp_path.iterdir()) == []
    assert_reaped(pids)
    assert open_fds() == fds


def test_an_exception_that_does_not_pickle_arrives_as_its_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class LocalError(Exception):  # a local class does not pickle
        pass

    def broken(result: RunResult) -> str:
        raise LocalError("no sarif today")

    big_enough(monkeypatch)
    monkeypatch.setitem(writer.FORMATS, "sarif", ("results.sarif", broken))
    with pytest.raises(RuntimeError, match=r"(?s)report renderer failed.*LocalError: no sarif today"):
        write_reports(mixed_result(), tmp_path / "run-1", FORMATS)
    assert list(tmp_path.iterdir()) == []


def test_a_renderer_process_that_dies_is_an_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dies(result: RunResult) -> str:
        os._exit(3)

    big_enough(monkeypatch)
    monkeypatch.setitem(writer.FORMATS, "html", ("report.html", dies))
    with pytest.raises(RuntimeError, match=r"died \(exit status 3\)"):
        write_reports(mixed_result(), tmp_path / "run-1", FORMATS)
    assert list(tmp_path.iterdir()) == []


def test_a_forked_write_failure_is_raised_here_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = writer._write_durably

    def disk_full_for_sarif(path: Path, text: str | bytes) -> None:
        if path.name == "results.sarif":
            raise OSError(28, "No space left on device")
        real_write(path, text)

    big_enough(monkeypatch)
    pids = record_children(monkeypatch)
    monkeypatch.setattr(writer, "_write_durably", disk_full_for_sarif)  # the children inherit it
    with pytest.raises(OSError, match="No space left"):
        write_reports(mixed_result(), tmp_path / "run-1", FORMATS)
    assert_reaped(pids)
    assert list(tmp_path.iterdir()) == []


def test_invalid_results_stop_the_forked_renderers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big_enough(monkeypatch)
    pids = record_children(monkeypatch)
    result = make_result(make_finding(Status.WAIVED, waiver=None), make_finding(Status.PASS, host="db01"))
    fds = open_fds()
    with pytest.raises(ResultsValidationError, match="waiver"):
        write_reports(result, tmp_path / "run-1", FORMATS)
    assert len(pids) == 3
    assert_reaped(pids)
    assert open_fds() == fds
    assert list(tmp_path.iterdir()) == []


def test_when_a_fork_fails_the_rest_is_rendered_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_reports(mixed_result(), tmp_path / "serial", FORMATS)
    big_enough(monkeypatch)
    real_fork, forks = os.fork, []

    def fork_once() -> int:
        if forks:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", fork_once)
    pids = record_children(monkeypatch)
    write_reports(mixed_result(), tmp_path / "forked", FORMATS)
    assert len(pids) == 1
    assert_reaped(pids)
    for name in FILES:
        assert (tmp_path / "forked" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes(), name


def test_small_runs_are_rendered_in_this_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "_cpus", lambda: 2)
    pids = record_children(monkeypatch)
    write_reports(mixed_result(), tmp_path / "run-1", FORMATS)
    assert pids == []
    assert len(mixed_result().findings) < writer.PARALLEL_FROM_FINDINGS


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(tmp_path: Path, enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with pytest.raises(ResultsValidationError):
            write_reports(make_result(make_finding(Status.WAIVED, waiver=None)), tmp_path / "bad", ["json"])
        assert gc.isenabled() is enabled
        write_reports(mixed_result(), tmp_path / "good", ["json"])
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_json_report_module_keeps_one_strict_encoder() -> None:
    """The free-form check is the stdlib's own C encoder: the rules the report had before orjson."""
    encoder = json_report._STRICT_ENCODER
    assert (encoder.allow_nan, encoder.ensure_ascii, encoder.indent) == (False, False, None)
