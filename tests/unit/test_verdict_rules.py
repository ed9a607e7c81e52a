"""The scoring formula as printed (CONTROL_RULES, CLAUSE_RULES) is the formula the code applies: one case per rule.

Adding, removing or rewording a rule without a case here fails; a case whose verdict differs from the rule's, or
that another (earlier) rule would decide differently, fails too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from checks.model import Severity, Status
from stockade.engine.model import Evidence, Finding, Verdict
from stockade.engine.verdicts import CLAUSE_RULES, CONTROL_RULES, clause_verdict, control_verdict


@dataclass(frozen=True)
class Control:
    id: str = "SSH-01"
    automation: str = "automated"
    clauses: tuple[str, ...] = ("SYS-ACCESS",)
    title: str = "a state"


def finding(status: Status, host: str = "web-1", observed: dict[str, object] | None = None) -> Finding:
    evidence = Evidence("sshd -T", observed or {}, "2026-11-29T00:00:00+00:00")
    return Finding(host, "SSH-01", "check", ("SYS-ACCESS",), status, Severity.HIGH, "m", evidence)


def attestation(state: str) -> list[Finding]:
    return [finding(Status.MANUAL, "(organisation)", {"attestation_state": state})]


# rule text -> (automation, findings, selected)
CONTROL_CASES: dict[str, tuple[str, list[Finding], bool]] = {
    "planned: no check built yet": ("planned", [finding(Status.PASS)], True),
    "not selected for this run (--controls)": ("automated", [finding(Status.PASS)], False),
    "no findings": ("automated", [], True),
    "manual, with an attestation valid on the run date": ("manual", attestation("attested"), True),
    "manual, its latest attestation expired": ("manual", attestation("expired"), True),
    "manual, no attestation on record": ("manual", attestation("missing"), True),
    "any finding ERROR (could not be evaluated; never a pass)": (
        "automated", [finding(Status.FAIL), finding(Status.ERROR, "web-2"), finding(Status.PASS, "web-3")], True),
    "any finding FAIL": ("automated", [finding(Status.PASS), finding(Status.WAIVED), finding(Status.FAIL)], True),
    "any finding WAIVED, the others PASS or SKIPPED": (
        "automated", [finding(Status.PASS), finding(Status.SKIPPED, "web-2"), finding(Status.WAIVED, "web-3")], True),
    "at least one PASS, the others SKIPPED": ("automated", [finding(Status.SKIPPED), finding(Status.PASS)], True),
    "every finding SKIPPED (not applicable to any host)": ("automated", [finding(Status.SKIPPED)], True),
}

CLAUSE_CASES: dict[str, set[Verdict]] = {
    "no control serves the clause": set(),
    "a control is not_satisfied and another holds": {Verdict.NOT_SATISFIED, Verdict.NOT_ASSESSED, Verdict.SATISFIED},
    "a control is not_satisfied and none holds": {Verdict.NOT_SATISFIED, Verdict.NOT_ASSESSED},
    "a control is not_assessed and another holds": {Verdict.NOT_ASSESSED, Verdict.WAIVED},
    "a control is not_assessed and none holds": {Verdict.NOT_ASSESSED},
    "every control holds, at least one waived": {Verdict.WAIVED, Verdict.MANUAL_ATTESTED, Verdict.SATISFIED},
    "every control manual_attested": {Verdict.MANUAL_ATTESTED},
    "every control satisfied or manual_attested": {Verdict.SATISFIED, Verdict.MANUAL_ATTESTED},
}


def test_every_rule_has_a_case_and_every_case_a_rule() -> None:
    assert list(CONTROL_CASES) == [condition for condition, _ in CONTROL_RULES]
    assert list(CLAUSE_CASES) == [condition for condition, _ in CLAUSE_RULES]


@pytest.mark.parametrize(("condition", "verdict"), CONTROL_RULES, ids=[c for c, _ in CONTROL_RULES])
def test_control_rule_is_what_control_verdict_does(condition: str, verdict: Verdict) -> None:
    automation, findings, selected = CONTROL_CASES[condition]
    assert control_verdict(Control(automation=automation), findings, selected)[0] is verdict


@pytest.mark.parametrize(("condition", "verdict"), CLAUSE_RULES, ids=[c for c, _ in CLAUSE_RULES])
def test_clause_rule_is_what_clause_verdict_does(condition: str, verdict: Verdict) -> None:
    assert clause_verdict(CLAUSE_CASES[condition]) is verdict
