"""The canonical JSON report and its schema."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from report_factory import make_finding, make_result, mixed_result

from checks.model import Status
from stockade.report.json_report import ResultsValidationError, load_schema, render_json, validate_results


def document() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(render_json(mixed_result()))
    return parsed


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_render_json_is_the_canonical_document_in_insertion_order() -> None:
    result = mixed_result()
    text = render_json(result)
    parsed = json.loads(text)
    assert list(parsed) == ["schema_version", "metadata", "summary", "findings", "clauses"]
    assert list(parsed["findings"][0]) == list(result.to_dict()["findings"][0])
    assert parsed == json.loads(json.dumps(result.to_dict()))
    assert text.startswith('{\n  "schema_version": 1,\n')
    assert text.endswith("}\n")


def test_render_json_keeps_non_ascii_text() -> None:
    result = make_result(make_finding(Status.FAIL, message="clé SSH refusée"))
    assert "clé SSH refusée" in render_json(result)


def test_render_json_refuses_nan() -> None:
    result = make_result(make_finding(Status.FAIL, observed={"ratio": float("nan")}))
    with pytest.raises(ValueError, match="JSON compliant"):
        render_json(result)


@pytest.mark.parametrize(
    "result",
    [mixed_result(), make_result(), make_result(hosts=("web01",))],
    ids=["mixed", "empty", "host-without-findings"],
)
def test_rendered_documents_validate(result: Any) -> None:
    validate_results(json.loads(render_json(result)))


def test_schema_requires_exactly_the_fields_the_model_produces() -> None:
    """Catches drift: a field added to or removed from the model must be added to the schema."""
    defs = load_schema()["$defs"]
    produced = json.loads(render_json(mixed_result()))
    finding = produced["findings"][1]
    assert set(load_schema()["required"]) == set(produced)
    assert set(defs["metadata"]["required"]) == set(produced["metadata"])
    assert set(defs["summary"]["required"]) == set(produced["summary"]) == {s.value for s in Status}
    assert set(defs["finding"]["required"]) == set(finding)
    assert set(defs["evidence"]["required"]) == set(finding["evidence"])
    assert set(defs["status"]["enum"]) == {s.value for s in Status}


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def corrupt(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return corrupt


def _delete(path: tuple[Any, ...]) -> Any:
    def corrupt(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return corrupt


# Finding 0 is the web01 pass, 2 the error without evidence, 4 the waived one.
CORRUPTIONS = {
    "unknown-status": (_set(("findings", 0, "status"), "ok"), "$.findings[0].status"),
    "unknown-severity": (_set(("findings", 0, "severity"), "urgent"), "$.findings[0].severity"),
    "schema-version-2": (_set(("schema_version",), 2), "$.schema_version"),
    "schema-version-true": (_set(("schema_version",), True), "$.schema_version"),
    "extra-top-level-key": (_set(("extra",), 1), "'extra' was unexpected"),
    "extra-finding-key": (_set(("findings", 0, "score"), 3), "'score' was unexpected"),
    "missing-message": (_delete(("findings", 0, "message")), "'message' is a required property"),
    "missing-evidence-key": (_delete(("findings", 0, "evidence")), "'evidence' is a required property"),
    "evidence-without-source": (_delete(("findings", 0, "evidence", "source")), "'source'"),
    "observed-not-object": (_set(("findings", 0, "evidence", "observed"), ["no"]), "observed"),
    "clause-ids-not-list": (_set(("findings", 0, "clause_ids"), "DH-4.2"), "clause_ids"),
    "empty-host": (_set(("findings", 0, "host"), ""), "$.findings[0].host"),
    "naive-timestamp": (_set(("metadata", "started_at"), "2025-01-31T12:00:00"), "started_at"),
    "non-utc-timestamp": (
        _set(("findings", 0, "evidence", "collected_at"), "2025-01-31T13:00:00+01:00"),
        "collected_at",
    ),
    "summary-missing-status": (_delete(("summary", "error")), "'error' is a required property"),
    "summary-negative": (_set(("summary", "pass"), -1), "$.summary.pass"),
    "summary-disagrees-with-findings": (_set(("summary", "pass"), 5), "says 5 but findings hold 2"),
    "waived-without-waiver": (_set(("findings", 4, "waiver"), None), "$.findings[4].waiver"),
    "waiver-not-object": (_set(("findings", 0, "waiver"), "yes"), "$.findings[0].waiver"),
    "metadata-extra-key": (_set(("metadata", "user"), "root"), "'user' was unexpected"),
}


@pytest.mark.parametrize(("corrupt", "expected"), CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupted_document_fails_validation(corrupt: Any, expected: str) -> None:
    doc = document()
    assert doc["findings"][4]["status"] == "waived"
    validate_results(copy.deepcopy(doc))  # the uncorrupted document is valid
    corrupt(doc)
    with pytest.raises(ResultsValidationError) as raised:
        validate_results(doc)
    assert expected in str(raised.value)
    assert raised.value.problems


def test_validation_error_lists_every_problem() -> None:
    doc = document()
    doc["findings"][0]["status"] = "ok"
    doc["findings"][1]["severity"] = "urgent"
    with pytest.raises(ResultsValidationError) as raised:
        validate_results(doc)
    assert len(raised.value.problems) == 2
    assert "2 problem(s)" in str(raised.value)
