"""The scoring formula from findings to control and clause verdicts (stockade/engine/verdicts.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from checks.model import Severity, Status
from stockade.engine.model import Evidence, Finding, Verdict
from stockade.engine.verdicts import clause_results, clause_verdict, control_verdict


@dataclass(frozen=True)
class Clause:
    id: str
    section: str = "System security"
    text: str = "text"


@dataclass(frozen=True)
class Control:
    id: str
    automation: str = "automated"
    clauses: tuple[str, ...] = ("SYS-ACCESS",)
    title: str = "a state"


def finding(status: Status, host: str = "web-1", control: str = "SSH-01",
            observed: dict[str, object] | None = None) -> Finding:
    evidence = Evidence("sshd -T", observed or {}, "2026-11-29T00:00:00+00:00")
    return Finding(host, control, "check", ("SYS-ACCESS",), status, Severity.HIGH, "m", evidence)


@pytest.mark.parametrize(("statuses", "expected"), [
    ([Status.PASS, Status.PASS], Verdict.SATISFIED),
    ([Status.PASS, Status.FAIL], Verdict.NOT_SATISFIED),
    ([Status.PASS, Status.ERROR], Verdict.NOT_ASSESSED),
    ([Status.FAIL, Status.ERROR], Verdict.NOT_ASSESSED),
    ([Status.PASS, Status.WAIVED], Verdict.WAIVED),
    ([Status.SKIPPED], Verdict.NOT_ASSESSED),
    ([Status.PASS, Status.SKIPPED], Verdict.SATISFIED),
    ([], Verdict.NOT_ASSESSED),
])
def test_automated_control_verdict(statuses: list[Status], expected: Verdict) -> None:
    verdict, _ = control_verdict(Control("SSH-01"), [finding(s) for s in statuses], selected=True)
    assert verdict is expected


def test_error_never_counts_as_satisfied() -> None:
    verdict, reason = control_verdict(Control("SSH-01"), [finding(Status.ERROR)], selected=True)
    assert verdict is Verdict.NOT_ASSESSED
    assert "could not be evaluated" in reason


def test_planned_and_unselected_controls_are_not_assessed() -> None:
    assert control_verdict(Control("FW-01", "planned"), [], True) == (Verdict.NOT_ASSESSED, "no check built yet")
    assert control_verdict(Control("SSH-01"), [finding(Status.PASS)], False)[0] is Verdict.NOT_ASSESSED


@pytest.mark.parametrize(("state", "expected"), [
    ("attested", Verdict.MANUAL_ATTESTED), ("expired", Verdict.NOT_SATISFIED), ("missing", Verdict.NOT_ASSESSED)])
def test_manual_control_verdict_follows_its_attestation(state: str, expected: Verdict) -> None:
    manual = finding(Status.MANUAL, "(organisation)", "LOC-01", {"attestation_state": state})
    assert control_verdict(Control("LOC-01", "manual"), [manual], True)[0] is expected


@pytest.mark.parametrize(("verdicts", "expected"), [
    ({Verdict.SATISFIED}, Verdict.SATISFIED),
    ({Verdict.SATISFIED, Verdict.MANUAL_ATTESTED}, Verdict.SATISFIED),
    ({Verdict.MANUAL_ATTESTED}, Verdict.MANUAL_ATTESTED),
    ({Verdict.SATISFIED, Verdict.NOT_SATISFIED}, Verdict.PARTLY),
    ({Verdict.NOT_SATISFIED}, Verdict.NOT_SATISFIED),
    ({Verdict.NOT_ASSESSED, Verdict.NOT_SATISFIED}, Verdict.NOT_SATISFIED),
    ({Verdict.SATISFIED, Verdict.NOT_ASSESSED}, Verdict.PARTLY),
    ({Verdict.NOT_ASSESSED}, Verdict.NOT_ASSESSED),
    ({Verdict.SATISFIED, Verdict.WAIVED}, Verdict.WAIVED),
    (set(), Verdict.NOT_ASSESSED),
])
def test_clause_verdict(verdicts: set[Verdict], expected: Verdict) -> None:
    assert clause_verdict(verdicts) is expected


def test_every_clause_appears_even_without_controls() -> None:
    results = clause_results([Clause("SYS-ACCESS"), Clause("SYS-FIREWALL")],
                             [Control("SSH-01"), Control("FW-01", "planned", ("SYS-FIREWALL",))],
                             [finding(Status.PASS)], selected=None)
    assert [(r.clause_id, r.verdict) for r in results] == [
        ("SYS-ACCESS", Verdict.SATISFIED), ("SYS-FIREWALL", Verdict.NOT_ASSESSED)]
    assert results[1].controls[0].reason == "no check built yet"
