"""The results model every report renders: frozen, typed, serialisable to JSON."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    # Could not evaluate: a missing fact, an unreachable host, a failed command. Never a pass.
    ERROR = "error"
    SKIPPED = "skipped"
    WAIVED = "waived"
    MANUAL = "manual"


# Worst first: a run's overall status is the worst status among its findings.
STATUS_SEVERITY_ORDER = (Status.ERROR, Status.FAIL, Status.WAIVED, Status.MANUAL, Status.SKIPPED, Status.PASS)


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


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
        return {
            "schema_version": 1,
            "metadata": asdict(self.metadata),
            "summary": self.counts(),
            "findings": [asdict(finding) for finding in self.findings],
            "clauses": [asdict(clause) for clause in self.clauses],
        }
