"""SARIF 2.1.0: valid against the official OASIS schema; waivers as suppressions; diff as baselineState."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft4Validator
from report_factory import WAIVER, make_finding, make_result, mixed_result

from checks.model import Status
from stockade.engine.model import Finding, RunResult
from stockade.history.context import ReportContext
from stockade.history.diff import diff_snapshots, snapshot_of
from stockade.report.sarif import render_sarif

SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"


def schema_text() -> str:
    return (resources.files("stockade.report") / "schemas" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    schema = json.loads(schema_text())
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def valid(document: dict[str, Any], validator: Draft4Validator) -> dict[str, Any]:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:10]]
    return document


def sarif(result: RunResult, context: ReportContext | None = None) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render_sarif(result, context))
    return document


def context_against(previous: RunResult, current: RunResult) -> ReportContext:
    before = snapshot_of(previous)
    return ReportContext(before, diff_snapshots(before, snapshot_of(current)))


def by_host(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["properties"]["host"], r.get("baselineState", "")): r for r in document["runs"][0]["results"]}


def test_vendored_schema_is_the_official_sarif_2_1_0_schema() -> None:
    text = schema_text()
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == SCHEMA_SHA256
    schema = json.loads(text)
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    assert schema["definitions"]["result"]["properties"]["baselineState"]["enum"] == [
        "new", "unchanged", "updated", "absent"]


def test_the_schema_catches_a_broken_log(validator: Draft4Validator) -> None:
    document = sarif(mixed_result())
    document["runs"][0]["results"][0]["kind"] = "failed"
    del document["runs"][0]["tool"]["driver"]["name"]
    assert len(list(validator.iter_errors(document))) >= 2


def test_every_status_maps_to_a_valid_result(validator: Draft4Validator) -> None:
    document = valid(sarif(mixed_result()), validator)
    run = document["runs"][0]
    kinds = {r["properties"]["status"]: (r["kind"], r["level"]) for r in run["results"]}
    assert kinds == {"pass": ("pass", "none"), "fail": ("fail", "error"), "error": ("open", "none"),
                     "skipped": ("notApplicable", "none"), "waived": ("fail", "error"),
                     "manual": ("review", "none")}
    assert run["invocations"][0]["executionSuccessful"] is False  # one finding could not be evaluated
    assert len(run["invocations"][0]["toolExecutionNotifications"]) == 1
    assert run["invocations"][0]["startTimeUtc"].endswith("Z") or "+" not in run["invocations"][0]["startTimeUtc"]
    assert all("baselineState" not in r for r in run["results"])  # no previous run, no baseline
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    assert {r["locations"][0]["logicalLocations"][0]["name"] for r in run["results"]} == {"web01", "db01"}


def test_waiver_is_an_accepted_suppression_with_its_justification(validator: Draft4Validator) -> None:
    waived = make_finding(Status.WAIVED, waiver={**WAIVER, "state": "active"})
    (result,) = valid(sarif(make_result(waived)), validator)["runs"][0]["results"]
    (suppression,) = result["suppressions"]
    assert suppression["kind"] == "external"
    assert suppression["status"] == "accepted"
    assert suppression["justification"] == "legacy client until Q3"
    assert suppression["properties"]["approver"] == "ciso@example.org"


def test_expired_waiver_is_a_rejected_suppression(validator: Draft4Validator) -> None:
    expired = make_finding(Status.FAIL, waiver={**WAIVER, "state": "expired", "expires": "2024-01-01"})
    (result,) = valid(sarif(make_result(expired)), validator)["runs"][0]["results"]
    assert result["kind"] == "fail"
    assert result["suppressions"][0]["status"] == "rejected"
    assert "expired" in result["suppressions"][0]["justification"]


def finding(host: str, status: Status, **kwargs: Any) -> Finding:
    return make_finding(status, host=host, **kwargs)


def test_regression_is_new_and_the_previous_pass_absent(validator: Draft4Validator) -> None:
    previous = make_result(finding("lab-01", Status.PASS), finding("lab-02", Status.PASS),
                           finding("lab-03", Status.FAIL, observed={"permitrootlogin": "yes"}),
                           finding("lab-04", Status.FAIL))
    current = make_result(finding("lab-01", Status.FAIL), finding("lab-02", Status.PASS),
                          finding("lab-03", Status.FAIL, observed={"permitrootlogin": "prohibit-password"}))
    previous = dataclasses.replace(previous, metadata=dataclasses.replace(previous.metadata, run_id="prev"))
    document = valid(sarif(current, context_against(previous, current)), validator)
    results = by_host(document)
    assert results["lab-01", "new"]["kind"] == "fail"
    assert results["lab-02", "unchanged"]["kind"] == "pass"
    assert results["lab-03", "updated"]["kind"] == "fail"  # same failure, different evidence
    assert results["lab-01", "absent"]["kind"] == "pass"  # the pass it replaced
    assert results["lab-04", "absent"]["kind"] == "fail"  # no longer reported at all
    assert "in run prev" in results["lab-04", "absent"]["message"]["text"]
    assert document["runs"][0]["properties"]["baseline_run_id"] == "prev"
    states = sorted(r["baselineState"] for r in document["runs"][0]["results"])
    assert states == ["absent", "absent", "new", "unchanged", "updated"]


def test_evidence_travels_in_properties(validator: Draft4Validator) -> None:
    document = valid(sarif(make_result(make_finding(Status.FAIL, observed={"permitrootlogin": "yes"}))), validator)
    props = document["runs"][0]["results"][0]["properties"]
    assert props["evidence"]["observed"] == {"permitrootlogin": "yes"}
    assert props["control_id"] == "SSH-01" and props["clause_ids"] == ["DH-4.2"]
