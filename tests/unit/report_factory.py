"""Build small RunResult objects for the report tests."""

from __future__ import annotations

from typing import Any

from checks.model import Severity, Status
from stockade.engine.model import Evidence, Finding, RunMetadata, RunResult

COLLECTED_AT = "2025-01-31T12:00:05Z"


def make_finding(
    status: Status,
    *,
    host: str = "web01",
    control_id: str = "SSH-01",
    check_id: str = "ssh_root_login_disabled",
    severity: Severity = Severity.HIGH,
    message: str | None = None,
    observed: dict[str, Any] | None = None,
    evidence: bool = True,
    waiver: dict[str, Any] | None = None,
    clause_ids: tuple[str, ...] = ("DH-4.2",),
) -> Finding:
    return Finding(
        host=host,
        control_id=control_id,
        check_id=check_id,
        clause_ids=clause_ids,
        status=status,
        severity=severity,
        message=message if message is not None else f"{check_id} is {status.value}",
        evidence=(
            Evidence(
                source="sshd -T",
                observed=observed if observed is not None else {"permitrootlogin": "no"},
                collected_at=COLLECTED_AT,
            )
            if evidence
            else None
        ),
        waiver=waiver,
    )


def make_result(*findings: Finding, hosts: tuple[str, ...] | None = None) -> RunResult:
    if hosts is None:
        hosts = tuple(dict.fromkeys(finding.host for finding in findings))
    return RunResult(
        metadata=RunMetadata(
            run_id="run-20250131-120000",
            started_at="2025-01-31T12:00:00Z",
            finished_at="2025-01-31T12:00:09.500000+00:00",
            tool_version="0.1.0",
            inventory="inventory/lab/hosts.yml",
            hosts=hosts,
        ),
        findings=tuple(findings),
    )


WAIVER = {
    "check": "tls_min_version",
    "hosts": ["db01"],
    "justification": "legacy client until Q3",
    "approver": "ciso@example.org",
    "expiry": "2025-09-30",
}


def mixed_result() -> RunResult:
    """Two hosts, one finding of every status, nested evidence."""
    return make_result(
        make_finding(Status.PASS, control_id="SSH-01"),
        make_finding(
            Status.FAIL,
            control_id="SSH-02",
            check_id="ssh_ciphers",
            severity=Severity.CRITICAL,
            observed={"ciphers": ["aes128-cbc", "chacha20-poly1305@openssh.com"], "nested": {"a": [1, 2]}},
        ),
        make_finding(
            Status.ERROR,
            control_id="FW-01",
            check_id="nft_default_drop",
            message="could not run nft: permission denied",
            evidence=False,
        ),
        make_finding(Status.SKIPPED, host="db01", control_id="WEB-01", check_id="nginx_tls"),
        make_finding(
            Status.WAIVED, host="db01", control_id="TLS-01", check_id="tls_min_version", waiver=WAIVER
        ),
        make_finding(
            Status.MANUAL, host="db01", control_id="GDPR-01", check_id="data_residency", evidence=False
        ),
        make_finding(Status.PASS, host="db01", control_id="SSH-01"),
    )
