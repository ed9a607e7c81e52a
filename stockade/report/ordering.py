"""How views order a run: hosts and findings worst status first (``STATUS_SEVERITY_ORDER``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from checks.model import STATUS_SEVERITY_ORDER, Status
from stockade.engine.model import Finding, RunResult

_RANK = {status: rank for rank, status in enumerate(STATUS_SEVERITY_ORDER)}


def status_rank(status: Status) -> int:
    """0 for the worst status (error), rising to pass."""
    return _RANK[status]


def worst_status(findings: Iterable[Finding]) -> Status | None:
    """The worst status among ``findings``; ``None`` when there are none."""
    return min((finding.status for finding in findings), key=status_rank, default=None)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Worst status first, then control id, check id and message for a stable order."""
    return sorted(
        findings,
        key=lambda f: (status_rank(f.status), f.control_id, f.check_id, f.message),
    )


@dataclass(frozen=True)
class HostGroup:
    """One host's findings, sorted, with its counts and worst status."""

    host: str
    findings: tuple[Finding, ...]
    worst: Status | None  # None: the run lists the host but holds no finding for it

    def counts(self) -> dict[Status, int]:
        """Non-zero counts per status, worst status first."""
        counts = {status: 0 for status in STATUS_SEVERITY_ORDER}
        for finding in self.findings:
            counts[finding.status] += 1
        return {status: count for status, count in counts.items() if count}


def group_by_host(result: RunResult) -> list[HostGroup]:
    """Every host of the run (listed in the metadata or named by a finding), worst first.

    A host with no findings comes first: nothing was proven about it, which a reviewer must see.
    """
    by_host: dict[str, list[Finding]] = {host: [] for host in result.metadata.hosts}
    for finding in result.findings:
        by_host.setdefault(finding.host, []).append(finding)
    groups = [
        HostGroup(host=host, findings=tuple(sort_findings(found)), worst=worst_status(found))
        for host, found in by_host.items()
    ]
    return sorted(
        groups,
        key=lambda g: (-1 if g.worst is None else status_rank(g.worst), g.host),
    )
