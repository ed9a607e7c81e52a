"""The results model every report renders: frozen, typed, serialisable to JSON."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from checks.model import Severity, Status  # the vocabulary: one leaf module both packages import


@dataclass(frozen=True)
class Evidence:
    """What was observed, from where, when."""

    source: str  # e.g. "sshd -T" or "ssh://stockade@198.18.0.11"
    observed: dict[str, Any]
    collected_at: str  # ISO-8601 UTC


@dataclass(frozen=True)
class Finding:
    host: str
    control_id: str
    check_id: str
    clause_ids: tuple[str, ...]
    status: Status
    severity: Severity
    message: str
    evidence: Evidence | None
    waiver: dict[str, Any] | None = None


class Verdict(enum.StrEnum):
    """A control's or a clause's answer, derived from findings (stockade/engine/verdicts.py)."""

    SATISFIED = "satisfied"
    NOT_SATISFIED = "not_satisfied"
    PARTLY = "partly"  # clauses only: some of its controls hold, others do not or were not assessed
    WAIVED = "waived"
    MANUAL_ATTESTED = "manual_attested"
    NOT_ASSESSED = "not_assessed"  # nothing proved it: no check yet, not selected, no attestation, or ERROR


@dataclass(frozen=True)
class ControlResult:
    control_id: str
    title: str
    automation: str  # automated | manual | planned
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class ClauseResult:
    clause_id: str
    section: str
    text: str
    verdict: Verdict
    controls: tuple[ControlResult, ...]


@dataclass(frozen=True)
class RunMetadata:
    run_id: str
    started_at: str
    finished_at: str
    tool_version: str
    inventory: str
    hosts: tuple[str, ...]
    policy_id: str = ""
    catalogue_digest: str = ""  # sha256 of the policy catalogue the run judged against
    selected_controls: tuple[str, ...] | None = None  # None: every control
    waivers_file: str | None = None
    attestations_file: str | None = None


@dataclass(frozen=True)
class RunResult:
    metadata: RunMetadata
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    clauses: tuple[ClauseResult, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for finding in self.findings:
            counts[finding.status.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The canonical results document (``results.schema.json``), as plain JSON data.

        Written out field by field (``dataclasses.asdict`` deep-copies every value: seconds on 150,000
        findings): keys in field order, enums as their values, tuples as lists. The free-form parts
        (``observed``, ``waiver``) are the finding's own dicts, shared, not copied: do not mutate them.
        """
        return {
            "schema_version": 1,
            "metadata": _metadata_dict(self.metadata),
            "summary": self.counts(),
            "findings": [finding_dict(finding) for finding in self.findings],
            "clauses": [_clause_dict(clause) for clause in self.clauses],
        }


def evidence_dict(evidence: Evidence | None) -> dict[str, Any] | None:
    """A finding's evidence in the canonical document; ``observed`` is shared, not copied."""
    if evidence is None:
        return None
    return {"source": evidence.source, "observed": evidence.observed, "collected_at": evidence.collected_at}


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding of the canonical document (see ``RunResult.to_dict``)."""
    return {
        "host": finding.host,
        "control_id": finding.control_id,
        "check_id": finding.check_id,
        "clause_ids": list(finding.clause_ids),
        "status": finding.status.value,
        "severity": finding.severity.value,
        "message": finding.message,
        "evidence": evidence_dict(finding.evidence),
        "waiver": finding.waiver,
    }


def _metadata_dict(meta: RunMetadata) -> dict[str, Any]:
    return {
        "run_id": meta.run_id,
        "started_at": meta.started_at,
        "finished_at": meta.finished_at,
        "tool_version": meta.tool_version,
        "inventory": meta.inventory,
        "hosts": list(meta.hosts),
        "policy_id": meta.policy_id,
        "catalogue_digest": meta.catalogue_digest,
        "selected_controls": None if meta.selected_controls is None else list(meta.selected_controls),
        "waivers_file": meta.waivers_file,
        "attestations_file": meta.attestations_file,
    }


def _control_dict(control: ControlResult) -> dict[str, Any]:
    return {"control_id": control.control_id, "title": control.title, "automation": control.automation,
            "verdict": control.verdict.value, "reason": control.reason}


def _clause_dict(clause: ClauseResult) -> dict[str, Any]:
    return {"clause_id": clause.clause_id, "section": clause.section, "text": clause.text,
            "verdict": clause.verdict.value, "controls": [_control_dict(control) for control in clause.controls]}
