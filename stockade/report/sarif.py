"""SARIF 2.1.0 view of a run, for code-scanning dashboards and CI.

- One rule per check (``ruleId`` = check id), carrying its control, severity and policy clauses.
- One result per finding, located at its host (a logical location). ``kind``: pass -> ``pass``,
  fail and waived -> ``fail``, error -> ``open`` (could not be evaluated: never a pass), skipped ->
  ``notApplicable``, manual -> ``review``. A failing result's ``level`` follows the severity (critical and
  high: ``error``, medium: ``warning``, low: ``note``); every other kind has level ``none``, as SARIF requires.
- A waiver is a suppression (``kind: external``) with its justification, approver and expiry: ``accepted``
  while active, ``rejected`` once expired (the result is then not suppressed).
- With a previous run: ``baselineState`` of each result, by identity (host, control, check, kind): ``new``,
  ``unchanged``, ``updated`` (message or evidence moved), and ``absent`` results for the previous run's
  results that are gone.
- Findings in error are also tool execution notifications, and the invocation is not successful.

Validated in the tests against the official OASIS SARIF 2.1.0 schema (``schemas/sarif-schema-2.1.0.json``).
"""

from __future__ import annotations

import hashlib
from operator import itemgetter
from typing import Any

from checks.model import Status
from stockade.engine.model import Finding, RunResult, evidence_dict
from stockade.history.context import ReportContext
from stockade.history.diff import FindingKey, FindingState, Snapshot, finding_state, keyed
from stockade.report.json_report import check_strict_json, encode_json, free_form_parts

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT = "stockadeFinding/v1"

KIND = {
    "pass": "pass",
    "fail": "fail",
    "waived": "fail",
    "error": "open",
    "skipped": "notApplicable",
    "manual": "review",
}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


def _level(status: str, severity: str) -> str:
    return LEVEL.get(severity, "warning") if KIND[status] == "fail" else "none"


def _utc(timestamp: str) -> str:
    """SARIF wants UTC times with a ``Z``."""
    return timestamp[:-6] + "Z" if timestamp.endswith("+00:00") else timestamp


def _fingerprint(key: FindingKey) -> str:
    return hashlib.sha256("\x1f".join(key).encode("utf-8")).hexdigest()


def _location(host: str) -> dict[str, Any]:
    return {"logicalLocations": [{"name": host, "fullyQualifiedName": host, "kind": "host"}]}


def _suppression(waiver: dict[str, Any]) -> dict[str, Any]:
    active = waiver.get("state", "active") == "active"
    expiry = waiver.get("expires", waiver.get("expiry"))
    justification = str(waiver.get("justification", ""))
    if not active:
        justification = f"waiver expired on {expiry}: {justification}"
    return {
        "kind": "external",
        "status": "accepted" if active else "rejected",
        "justification": justification,
        "properties": {key: waiver[key] for key in ("id", "approver", "expires", "expiry", "state")
                       if key in waiver},
    }


def _rules(result: RunResult) -> list[dict[str, Any]]:
    titles = {control.control_id: control.title for clause in result.clauses for control in clause.controls}
    rules: dict[str, dict[str, Any]] = {}
    for finding in result.findings:
        if finding.check_id in rules:
            continue
        title = titles.get(finding.control_id)
        text = f"{finding.control_id}: {title}" if title else f"{finding.control_id} / {finding.check_id}"
        rules[finding.check_id] = {
            "id": finding.check_id,
            "name": finding.check_id,
            "shortDescription": {"text": text},
            "defaultConfiguration": {"level": LEVEL.get(finding.severity.value, "warning")},
            "properties": {"control_id": finding.control_id, "severity": finding.severity.value,
                           "clause_ids": list(finding.clause_ids),
                           "tags": ["security", "compliance", finding.control_id]},
        }
    return sorted(rules.values(), key=lambda rule: rule["id"])


class _Locations:
    """One ``locations`` list per host, shared by that host's results (150 results, one list)."""

    def __init__(self) -> None:
        self._by_host: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, host: str) -> list[dict[str, Any]]:
        locations = self._by_host.get(host)
        if locations is None:
            locations = self._by_host[host] = [_location(host)]
        return locations


def _result(key: FindingKey, finding: Finding, rule_index: int, locations: _Locations) -> dict[str, Any]:
    status = finding.status.value
    severity = finding.severity.value
    result: dict[str, Any] = {
        "ruleId": finding.check_id,
        "ruleIndex": rule_index,
        "kind": KIND[status],
        "level": _level(status, severity),
        "message": {"text": finding.message or status},
        "locations": locations(finding.host),
        "partialFingerprints": {FINGERPRINT: _fingerprint(key)},
        "properties": {"host": finding.host, "control_id": finding.control_id, "status": status,
                       "severity": severity, "clause_ids": list(finding.clause_ids),
                       "evidence": evidence_dict(finding.evidence)},
    }
    if finding.waiver is not None:
        result["suppressions"] = [_suppression(finding.waiver)]
        result["properties"]["waiver"] = finding.waiver
    return result


def _absent(key: FindingKey, state: FindingState, rule_ids: dict[str, int], previous_run: str,
            locations: _Locations) -> dict[str, Any]:
    host, control_id, check_id = key
    result: dict[str, Any] = {
        "ruleId": check_id.split("#", 1)[0],
        "kind": KIND.get(state.status, "open"),
        "level": _level(state.status, state.severity) if state.status in KIND else "none",
        "message": {"text": f"in run {previous_run}: {state.message or state.status}"},
        "locations": locations(host),
        "partialFingerprints": {FINGERPRINT: _fingerprint(key)},
        "baselineState": "absent",
        "properties": {"host": host, "control_id": control_id, "status": state.status,
                       "severity": state.severity, "from_run": previous_run},
    }
    if result["ruleId"] in rule_ids:
        result["ruleIndex"] = rule_ids[result["ruleId"]]
    return result


def _current_states(result: RunResult, context: ReportContext, previous: Snapshot) -> dict[FindingKey, FindingState]:
    """The findings' states as the diff already computed them (``snapshot_of(result)``: an evidence digest
    per finding), when the context's diff is this run's against ``previous``; otherwise none."""
    diff = context.diff
    if diff is None or diff.head_run_id != result.metadata.run_id or diff.base_run_id != previous.run_id:
        return {}
    return {(change.host, change.control_id, change.check_id): change.after
            for change in diff.changes if change.after is not None}


def sarif_document(result: RunResult, context: ReportContext | None = None) -> dict[str, Any]:
    """The SARIF log as data. Results of one host share one ``locations`` list: copy before mutating."""
    meta = result.metadata
    rules = _rules(result)
    rule_ids = {rule["id"]: index for index, rule in enumerate(rules)}
    locations = _Locations()
    previous = context.previous if context is not None else None
    states = _current_states(result, context, previous) if context is not None and previous is not None else {}
    kinds: dict[FindingKey, str] = {}  # the kind of each current result, by identity
    results = []
    for key, finding in keyed(result.findings).items():
        entry = _result(key, finding, rule_ids[finding.check_id], locations)
        kind = kinds[key] = entry["kind"]
        if previous is not None:
            before = previous.findings.get(key)
            if before is None or KIND.get(before.status) != kind:
                entry["baselineState"] = "new"
            else:
                state = states.get(key) or finding_state(finding)
                entry["baselineState"] = "unchanged" if before == state else "updated"
        results.append(entry)
    if previous is not None:
        gone = []
        for key, before in previous.findings.items():
            now = kinds.get(key)
            if now is None or KIND.get(before.status) != now:
                gone.append((key, before))
        gone.sort(key=itemgetter(0))
        results.extend(_absent(key, before, rule_ids, previous.run_id, locations) for key, before in gone)
    errors = [finding for finding in result.findings if finding.status is Status.ERROR]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "Stockade", "version": meta.tool_version, "semanticVersion": meta.tool_version,
                            "rules": rules}},
        "automationDetails": {"id": f"stockade/{meta.run_id}"},
        "invocations": [{
            "executionSuccessful": not errors,
            "startTimeUtc": _utc(meta.started_at),
            "endTimeUtc": _utc(meta.finished_at),
            "toolExecutionNotifications": [
                {"level": "error", "message": {"text": f"{f.host} {f.control_id} {f.check_id}: {f.message}"},
                 "descriptor": {"id": f.check_id}}
                for f in errors],
        }],
        "results": results,
        "properties": {"run_id": meta.run_id, "inventory": meta.inventory, "hosts": list(meta.hosts),
                       "policy_id": meta.policy_id, "catalogue_digest": meta.catalogue_digest,
                       "summary": result.counts(),
                       "baseline_run_id": previous.run_id if previous is not None else None},
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render_sarif(result: RunResult, context: ReportContext | None = None) -> str:
    """The SARIF log as compact JSON text (UTF-8, one line: at 150,000 results indentation doubles the size).

    Strict JSON, as the results document: ``TypeError``/``ValueError`` for evidence JSON cannot represent.
    """
    check_strict_json(free_form_parts(result.findings))
    return encode_json(sarif_document(result, context)) + "\n"
