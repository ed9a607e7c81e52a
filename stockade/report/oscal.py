"""OSCAL assessment-results (1.1.2) view of a run, for GRC tools (compliance-trestle loads it).

- One result per run: its start and end, the reviewed controls (every control, or the ``--controls``
  selection), one inventory item per host in its local definitions.
- One observation per finding (method TEST, or EXAMINE for an attestation), with the host as subject and
  the evidence (source, collection time, observed values as JSON) as relevant evidence.
- One finding per finding, targeting the control's objective: pass -> satisfied; fail, error (not
  evaluated, never a pass), waived -> not-satisfied; skipped -> satisfied as not applicable; manual ->
  satisfied only when attested.
- A waiver is a risk with status ``deviation-approved`` (justification, approver, deadline = expiry),
  related to its finding.

UUIDs are derived from the run id (uuid5), so a run renders the same document every time.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from checks.model import Status
from stockade.engine.model import Finding, RunResult
from stockade.report.json_report import encode_json

OSCAL_VERSION = "1.1.2"
_NAMESPACE = uuid.UUID("6f0c2a55-3f79-4c1d-9e43-5d7d1b0f8a21")
PROPS_NS = "https://stockade.invalid/ns/oscal"


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def _time(timestamp: str) -> str:
    """OSCAL wants a date-time with a timezone."""
    if len(timestamp) == 10:  # a bare date
        return f"{timestamp}T00:00:00+00:00"
    return timestamp.replace("Z", "+00:00") if timestamp.endswith("Z") else timestamp


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": PROPS_NS, "value": value}


def _objective(finding: Finding) -> tuple[str, str, str]:
    """(state, reason, remarks) of the finding's objective status."""
    status = finding.status
    if status is Status.PASS:
        return "satisfied", "pass", "evaluated: the host meets the control"
    if status is Status.SKIPPED:
        return "satisfied", "other", "not applicable to this host"
    if status is Status.MANUAL:
        attested = (finding.evidence is not None
                    and finding.evidence.observed.get("attestation_state") == "attested")
        return ("satisfied" if attested else "not-satisfied"), "other", finding.message
    if status is Status.ERROR:
        return "not-satisfied", "other", "could not be evaluated: not a pass"
    if status is Status.WAIVED:
        return "not-satisfied", "fail", "fails, under an approved waiver (see the related risk)"
    return "not-satisfied", "fail", "evaluated: the host does not meet the control"


def _evidence(finding: Finding) -> list[dict[str, Any]]:
    if finding.evidence is None:
        return [{"description": "No evidence was recorded for this finding."}]
    observed = json.dumps(finding.evidence.observed, ensure_ascii=False, sort_keys=True, default=str)
    return [{"description": f"{finding.evidence.source} at {finding.evidence.collected_at}: {observed}"}]


def assessment_results(result: RunResult) -> dict[str, Any]:
    meta = result.metadata
    run = meta.run_id
    hosts = list(dict.fromkeys([*meta.hosts, *(f.host for f in result.findings)]))
    host_uuid = {host: _uuid(run, "host", host) for host in hosts}
    titles = {c.control_id: c.title for clause in result.clauses for c in clause.controls}
    observations, findings, risks = [], [], []
    for index, finding in enumerate(result.findings):
        key = (run, finding.host, finding.control_id, finding.check_id, str(index))
        observation_uuid, finding_uuid = _uuid(*key, "observation"), _uuid(*key, "finding")
        observations.append({
            "uuid": observation_uuid,
            "title": f"{finding.control_id} {finding.check_id} on {finding.host}",
            "description": finding.message or finding.status.value,
            "props": [_prop("status", finding.status.value), _prop("severity", finding.severity.value)],
            "methods": ["EXAMINE" if finding.status is Status.MANUAL else "TEST"],
            "types": ["finding"],
            "subjects": [{"subject-uuid": host_uuid[finding.host], "type": "inventory-item",
                          "title": finding.host}],
            "relevant-evidence": _evidence(finding),
            "collected": _time(finding.evidence.collected_at if finding.evidence else meta.started_at),
        })
        state, reason, remarks = _objective(finding)
        entry: dict[str, Any] = {
            "uuid": finding_uuid,
            "title": f"{finding.control_id}: {titles.get(finding.control_id, finding.check_id)} ({finding.host})",
            "description": finding.message or finding.status.value,
            "props": [_prop("status", finding.status.value), _prop("host", finding.host),
                      _prop("check-id", finding.check_id)],
            "target": {"type": "objective-id", "target-id": f"{finding.control_id}_obj",
                       "status": {"state": state, "reason": reason, "remarks": remarks}},
            "related-observations": [{"observation-uuid": observation_uuid}],
        }
        waiver = finding.waiver
        if finding.status is Status.WAIVED and waiver is not None:
            risk_uuid = _uuid(*key, "risk")
            risk: dict[str, Any] = {
                "uuid": risk_uuid,
                "title": f"Waiver {waiver.get('id', '')} for {finding.control_id} on {finding.host}".replace("  ", " "),
                "description": str(waiver.get("justification") or "waived"),
                "statement": finding.message or "waived",
                "props": [_prop("approver", str(waiver.get("approver") or "unknown"))],
                "status": "deviation-approved",
                "related-observations": [{"observation-uuid": observation_uuid}],
            }
            expiry = waiver.get("expires") or waiver.get("expiry")
            if expiry:
                risk["deadline"] = _time(str(expiry))
            risks.append(risk)
            entry["related-risks"] = [{"risk-uuid": risk_uuid}]
        findings.append(entry)
    if meta.selected_controls is None:
        selection: dict[str, Any] = {"include-all": {}}
    else:
        selection = {"include-controls": [{"control-id": control} for control in meta.selected_controls]}
    body: dict[str, Any] = {
        "uuid": _uuid(run, "result"),
        "title": f"Stockade audit {run}",
        "description": f"Automated audit of {len(hosts)} host(s) from {meta.inventory} against policy "
                       f"{meta.policy_id or 'unknown'} (catalogue sha256 {meta.catalogue_digest or 'unknown'}).",
        "start": _time(meta.started_at),
        "end": _time(meta.finished_at),
        "reviewed-controls": {"control-selections": [selection]},
    }
    if hosts:
        body["local-definitions"] = {"inventory-items": [
            {"uuid": host_uuid[host], "description": f"Host {host}", "props": [_prop("hostname", host)]}
            for host in hosts]}
    if observations:
        body["observations"] = observations
    if findings:
        body["findings"] = findings
    if risks:
        body["risks"] = risks
    return {"assessment-results": {
        "uuid": _uuid(run, "assessment-results"),
        "metadata": {"title": f"Stockade audit {run}", "last-modified": _time(meta.finished_at),
                     "version": meta.tool_version, "oscal-version": OSCAL_VERSION},
        "import-ap": {"href": "#stockade-assessment-plan",
                      "remarks": "No separate assessment plan: the policy catalogue is the plan."},
        "results": [body],
    }}


def render_oscal(result: RunResult) -> str:
    """The assessment results as JSON text, indented by 2. Every value in them is a string (evidence is
    rendered into descriptions), so there is no free-form part to check before orjson writes them."""
    return encode_json(assessment_results(result), indent=True) + "\n"
