"""The engine's fail-closed rules: no facts, a failed command or a broken evaluator is ERROR, never PASS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.model import Check, Facts, Outcome, Params, Severity, Status
from checks.sshd import SSH_LOGIN
from stockade.engine.collect import Collection
from stockade.engine.declared import HostPlan
from stockade.engine.evaluate import evaluate as evaluate_with
from stockade.engine.model import Finding


@dataclass(frozen=True)
class Control:
    severity: str = "high"
    clauses: tuple[str, ...] = ("SYS-ACCESS",)


def evaluate(collection: Collection, checks: list[Check]) -> list[Finding]:
    controls = {check.control_id: Control() for check in checks}
    plan = HostPlan(check_params={check.id: {} for check in checks},
                    check_facts={check.id: {name: name for name in check.fact_names} for check in checks},
                    probe_params={})
    return evaluate_with(collection, checks, controls, plan)


def collection(facts: dict[str, Any] | None, error: str | None = None) -> Collection:
    return Collection("web-1", "ssh://198.18.0.11", "2026-11-29T06:00:00+00:00", facts, error)


def test_unreachable_host_gives_error_with_the_reason_as_evidence() -> None:
    [finding] = evaluate(collection(None, "unreachable: Connection timed out"), [SSH_LOGIN])
    assert finding.status is Status.ERROR
    assert finding.evidence is not None
    assert finding.evidence.observed == {"error": "unreachable: Connection timed out"}
    assert "unreachable" in finding.message


def test_missing_fact_gives_error() -> None:
    [finding] = evaluate(collection({}), [SSH_LOGIN])
    assert finding.status is Status.ERROR
    assert "sshd_effective" in finding.message


def test_command_not_found_gives_error() -> None:
    facts = {name: {"command": ["/usr/sbin/sshd"], "error": "command not found"} for name in SSH_LOGIN.facts}
    [finding] = evaluate(collection(facts), [SSH_LOGIN])
    assert finding.status is Status.ERROR
    assert finding.evidence is not None and finding.evidence.observed["error"] == "command not found"


def test_evaluator_that_raises_gives_error_not_pass() -> None:
    def explode(facts: Facts, params: Params) -> Outcome:
        raise KeyError("surprise")

    broken = Check(id="broken", control_id="X-01", title="t", facts=(), evaluate=explode)
    [finding] = evaluate(collection({}), [broken])
    assert finding.status is Status.ERROR
    assert "KeyError" in finding.message


def test_finding_carries_control_metadata_and_evidence_source() -> None:
    facts = {name: {"rc": 0, "stdout": "permitrootlogin no\npasswordauthentication no\n"
                    "kbdinteractiveauthentication no\npermitemptypasswords no\nusepam yes\n", "stderr": ""}
             for name in SSH_LOGIN.facts}
    [finding] = evaluate(collection(facts), [SSH_LOGIN])
    assert finding.status is Status.PASS
    assert finding.control_id == "SSH-01"
    assert (finding.clause_ids, finding.severity) == (("SYS-ACCESS",), Severity.HIGH)
    assert finding.evidence is not None and "ssh://198.18.0.11" in finding.evidence.source
