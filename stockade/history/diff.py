"""Compare two runs finding by finding: new, resolved, regressed, changed, unchanged, gone.

A finding is identified across runs by (host, control id, check id). Its status is *bad* when the run
could not show the control holds: FAIL or ERROR (an error is never a pass). Categories, for the run
being compared (head) against an earlier run (base):

- ``regressed``: in both runs; was not bad, is bad now (pass -> fail, waived -> fail, pass -> error).
- ``resolved``: in both runs; was bad, is not bad now (fail -> pass, error -> pass, fail -> waived).
- ``changed``: in both runs; another change of status (fail -> error, pass -> skipped, ...).
- ``unchanged``: same status in both runs (``updated`` says whether its message or evidence moved).
- ``new``: only in head (a new host, control or check).
- ``gone``: only in base (a host or check no longer audited: not proven resolved).

Pure functions over ``Snapshot``s; a snapshot comes from a ``RunResult`` or from the history store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from stockade.engine.model import Finding, RunResult

BAD_STATUSES = frozenset({"fail", "error"})
CATEGORIES = ("regressed", "new", "resolved", "changed", "gone", "unchanged")

FindingKey = tuple[str, str, str]  # host, control id, check id


@dataclass(frozen=True)
class FindingState:
    """What the history keeps of one finding: enough to compare runs, never the evidence itself."""

    status: str
    severity: str
    message: str
    evidence_sha256: str | None


@dataclass(frozen=True)
class Snapshot:
    run_id: str
    started_at: str
    findings: Mapping[FindingKey, FindingState]


@dataclass(frozen=True)
class Change:
    category: str
    host: str
    control_id: str
    check_id: str
    before: FindingState | None
    after: FindingState | None

    @property
    def key(self) -> FindingKey:
        return (self.host, self.control_id, self.check_id)

    @property
    def updated(self) -> bool:
        """Present in both runs with a different message, evidence or status."""
        return self.before is not None and self.after is not None and self.before != self.after

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "host": self.host,
            "control_id": self.control_id,
            "check_id": self.check_id,
            "before": None if self.before is None else asdict(self.before),
            "after": None if self.after is None else asdict(self.after),
        }


@dataclass(frozen=True)
class RunDiff:
    base_run_id: str
    head_run_id: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    def of(self, category: str) -> list[Change]:
        if category not in CATEGORIES:
            raise ValueError(f"unknown diff category {category!r}")
        return [change for change in self.changes if change.category == category]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(CATEGORIES, 0)
        for change in self.changes:
            counts[change.category] += 1
        return counts

    def notable(self) -> list[Change]:
        """Every change but the unchanged ones, in category order."""
        return [change for change in self.changes if change.category != "unchanged"]

    @property
    def has_regression(self) -> bool:
        """A finding became bad, or a new finding is bad."""
        return any(change.category == "regressed"
                   or (change.category == "new" and change.after is not None
                       and change.after.status in BAD_STATUSES)
                   for change in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_run_id": self.base_run_id,
            "head_run_id": self.head_run_id,
            "counts": self.counts(),
            "changes": [change.to_dict() for change in self.changes],
        }


def evidence_digest(finding: Finding) -> str | None:
    """SHA-256 of the finding's observed evidence as canonical JSON (sorted keys); None without evidence."""
    if finding.evidence is None:
        return None
    canonical = json.dumps(finding.evidence.observed, sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"), allow_nan=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def finding_state(finding: Finding) -> FindingState:
    return FindingState(finding.status.value, finding.severity.value, finding.message, evidence_digest(finding))


def keyed(findings: Iterable[Finding]) -> dict[FindingKey, Finding]:
    """Findings by (host, control, check); a repeated key gets a ``#2``, ``#3`` suffix on its check id."""
    result: dict[FindingKey, Finding] = {}
    for finding in findings:
        key = (finding.host, finding.control_id, finding.check_id)
        n = 1
        while key in result:
            n += 1
            key = (finding.host, finding.control_id, f"{finding.check_id}#{n}")
        result[key] = finding
    return result


def snapshot_of(result: RunResult) -> Snapshot:
    return Snapshot(
        run_id=result.metadata.run_id,
        started_at=result.metadata.started_at,
        findings={key: finding_state(finding) for key, finding in keyed(result.findings).items()},
    )


def _category(before: FindingState | None, after: FindingState | None) -> str:
    if before is None:
        return "new"
    if after is None:
        return "gone"
    if before.status == after.status:
        return "unchanged"
    was_bad, is_bad = before.status in BAD_STATUSES, after.status in BAD_STATUSES
    if is_bad and not was_bad:
        return "regressed"
    if was_bad and not is_bad:
        return "resolved"
    return "changed"


def diff_snapshots(base: Snapshot, head: Snapshot) -> RunDiff:
    """Every finding of either run, categorised; ordered by category (worst first), host, control, check."""
    order = {category: rank for rank, category in enumerate(CATEGORIES)}
    changes = []
    for key in set(base.findings) | set(head.findings):
        before, after = base.findings.get(key), head.findings.get(key)
        changes.append(Change(_category(before, after), *key, before=before, after=after))
    changes.sort(key=lambda change: (order[change.category], change.host, change.control_id, change.check_id))
    return RunDiff(base.run_id, head.run_id, tuple(changes))
