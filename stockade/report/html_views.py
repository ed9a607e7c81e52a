"""What the HTML report draws beyond the raw run: anchors, the per-control drill-down, waivers, attestations,
and the estimated heights of a large page's sections."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from checks.model import STATUS_SEVERITY_ORDER, Status
from stockade.engine.model import ControlResult, Finding, RunResult, Verdict
from stockade.report.ordering import HostGroup, group_by_host

_compact_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def _pretty(value: Any, indent: str) -> str:
    if isinstance(value, dict) and value:
        if not all(isinstance(key, str) for key in value):
            return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False).replace("\n", "\n" + indent)
        inner = indent + "  "
        items = [f"{inner}{_compact_json(key)}: {_pretty(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list | tuple) and value:
        inner = indent + "  "
        return "[\n" + ",\n".join(inner + _pretty(item, inner) for item in value) + "\n" + indent + "]"
    return _compact_json(value)


def pretty_json(value: Any) -> str:
    """Indented JSON for a value in a <pre> (as json.dumps(indent=2) writes it, faster); autoescaped by the page."""
    return _pretty(value, "")


# The browser lays out only the host sections and control drill-downs near the viewport (CSS content-visibility:
# auto); each other one stands in at a height until first shown. On a large page that height is estimated per
# section (its style attribute), so that the scrollbar fits the page and following a link lands where it should.
# CSS pixels at the default width, fitted to the fleet page of bench/render_scale.py as Chromium lays it out.
OPEN_EVIDENCE = frozenset({Status.ERROR, Status.FAIL, Status.WAIVED})  # evidence shown open; the rest collapsed
HOST_HEAD_PX = 140
OPEN_ROW_PX = 76  # the finding's row and the evidence's summary line
EVIDENCE_LINE_PX = 18  # a line of the evidence's JSON
WAIVER_PX = 24
CLOSED_ROW_PX = 66
CONTROL_HEAD_PX = 150
CONTROL_ROW_PX = 40
CONTROL_LINKS_PER_LINE = 13
CONTROL_LINE_PX = 20


@dataclass(frozen=True)
class FindingRow:
    """A finding listed in its host's table: ``anchor`` is its row's id, ``waiver`` the id of its waiver's row.

    ``evidence_json``: on a large page, the observed values as indented JSON (None: no evidence, or a small page).
    """

    anchor: str
    finding: Finding
    waiver: str | None
    evidence_json: str | None = None


@dataclass(frozen=True)
class HostView:
    anchor: str
    group: HostGroup
    rows: tuple[FindingRow, ...]
    height: int  # estimated, in CSS pixels


@dataclass(frozen=True)
class HostsWithStatus:
    """The hosts on which a control's worst finding has ``status``; ``links`` (host, anchor) unless not listed."""

    status: Status
    count: int
    links: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ControlView:
    anchor: str
    control_id: str
    title: str
    automation: str
    verdict: Verdict | None  # None: the run has no verdict for it (a control outside the catalogue)
    reason: str
    clauses: tuple[tuple[str, str], ...]  # (clause id, anchor)
    hosts: tuple[HostsWithStatus, ...]  # worst status first
    height: int  # estimated, in CSS pixels


@dataclass(frozen=True)
class WaiverView:
    anchor: str
    record: dict[str, Any]
    state: str  # active | expired | as recorded
    expires: str
    days_left: int | None  # days from the run's start to the expiry, when both parse
    findings: int
    hosts: int
    control_anchors: tuple[tuple[str, str], ...]  # (control id, anchor) of the controls whose findings it covers


@dataclass(frozen=True)
class AttestationView:
    control: tuple[str, str]  # (control id, anchor)
    title: str
    state: str  # attested | expired | missing
    observed: dict[str, Any]
    days_left: int | None
    message: str


def _day(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def _days_left(run_day: date | None, expires: object) -> int | None:
    day = _day(expires)
    return (day - run_day).days if day is not None and run_day is not None else None


def _waiver_key(waiver: dict[str, Any]) -> str:
    waiver_id = waiver.get("id")
    return waiver_id if isinstance(waiver_id, str) and waiver_id else json.dumps(waiver, sort_keys=True, default=str)


def _controls_of(result: RunResult) -> dict[str, tuple[ControlResult, list[str]]]:
    """Each control with a verdict in this run, with the clauses it serves, by control id."""
    controls: dict[str, tuple[ControlResult, list[str]]] = {}
    for clause in result.clauses:
        for control in clause.controls:
            controls.setdefault(control.control_id, (control, []))[1].append(clause.clause_id)
    return controls


def build_views(result: RunResult, list_passes: bool) -> dict[str, Any]:
    """What the template draws beyond the raw run: anchors, per-control drill-down, waivers, attestations.

    One pass over the findings; the control drill-down links to the findings' rows rather than repeating their
    evidence, so the page grows by one link per (control, host), not by one evidence block.
    """
    groups = group_by_host(result)
    controls = _controls_of(result)
    ids = sorted(controls.keys() | {finding.control_id for finding in result.findings})
    control_anchor = {control_id: f"control-{index}" for index, control_id in enumerate(ids, 1)}
    clause_anchor = {clause.clause_id: f"clause-{index}" for index, clause in enumerate(result.clauses, 1)}
    run_day = _day(result.metadata.started_at)

    waiver_records: dict[str, dict[str, Any]] = {}
    waiver_findings: dict[str, list[Finding]] = {}
    for finding in result.findings:
        if finding.waiver is not None:
            key = _waiver_key(finding.waiver)
            waiver_records.setdefault(key, finding.waiver)
            waiver_findings.setdefault(key, []).append(finding)
    waiver_anchor = {key: f"waiver-{index}" for index, key in enumerate(waiver_records, 1)}

    hosts: list[HostView] = []
    worst: dict[str, dict[str, tuple[Status, str]]] = {control_id: {} for control_id in ids}
    for host_index, group in enumerate(groups, 1):
        host_anchor = f"host-{host_index}"
        rows: list[FindingRow] = []
        height = HOST_HEAD_PX
        for finding in group.findings:  # worst first: the first finding of a control is its worst on the host
            anchor = host_anchor
            if list_passes or finding.status is not Status.PASS:
                anchor = f"f{host_index}-{len(rows) + 1}"
                waiver = waiver_anchor[_waiver_key(finding.waiver)] if finding.waiver is not None else None
                evidence_json = None
                if not list_passes and finding.evidence is not None:
                    evidence_json = pretty_json(finding.evidence.observed)
                rows.append(FindingRow(anchor, finding, waiver, evidence_json))
                if finding.status not in OPEN_EVIDENCE:
                    height += CLOSED_ROW_PX
                else:
                    lines = evidence_json.count("\n") + 1 if evidence_json is not None else 1
                    height += OPEN_ROW_PX + lines * EVIDENCE_LINE_PX + (WAIVER_PX if waiver is not None else 0)
            per_host = worst[finding.control_id]
            if group.host not in per_host:
                per_host[group.host] = (finding.status, anchor)
        hosts.append(HostView(host_anchor, group, tuple(rows), height))

    control_views = []
    for control_id in ids:
        by_status: dict[Status, list[tuple[str, str]]] = {}
        for host, (status, anchor) in worst[control_id].items():
            by_status.setdefault(status, []).append((host, anchor))
        host_groups = tuple(
            HostsWithStatus(status, len(by_status[status]),
                            tuple(by_status[status]) if list_passes or status is not Status.PASS else ())
            for status in STATUS_SEVERITY_ORDER if status in by_status)
        height = CONTROL_HEAD_PX + sum(
            CONTROL_ROW_PX + len(group.links) // CONTROL_LINKS_PER_LINE * CONTROL_LINE_PX for group in host_groups)
        known = controls.get(control_id)
        if known is None:
            control_views.append(ControlView(control_anchor[control_id], control_id, "", "", None,
                                             "not in the policy catalogue of this run", (), host_groups, height))
            continue
        control, clause_ids = known
        control_views.append(ControlView(
            control_anchor[control_id], control_id, control.title, control.automation, control.verdict,
            control.reason, tuple((clause_id, clause_anchor[clause_id]) for clause_id in clause_ids), host_groups,
            height))

    waivers = []
    for key, record in waiver_records.items():
        covered = waiver_findings[key]
        expires = str(record.get("expires", ""))
        state = str(record.get("state") or ("active" if covered[0].status is Status.WAIVED else "unknown"))
        control_ids = dict.fromkeys(finding.control_id for finding in covered)
        waivers.append(WaiverView(
            waiver_anchor[key], record, state, expires, _days_left(run_day, expires), len(covered),
            len({finding.host for finding in covered}),
            tuple((control_id, control_anchor[control_id]) for control_id in control_ids)))

    attestations = []
    for finding in result.findings:
        if finding.status is not Status.MANUAL:
            continue
        observed = dict(finding.evidence.observed) if finding.evidence is not None else {}
        state = str(observed.pop("attestation_state", "missing"))
        known = controls.get(finding.control_id)
        attestations.append(AttestationView(
            (finding.control_id, control_anchor[finding.control_id]), known[0].title if known else "", state,
            observed, _days_left(run_day, observed.get("expires")) if state == "attested" else None,
            finding.message))

    return {
        "hosts": hosts,
        "controls": control_views,
        "control_anchor": control_anchor,
        "clause_anchor": clause_anchor,
        "waivers": waivers,
        "attestations": attestations,
    }
