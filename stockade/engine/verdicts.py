"""The scoring formula: from findings to an answer per control and per clause of the policy.

The formula is stated once, as data: ``CONTROL_RULES`` and ``CLAUSE_RULES`` below, in the order they are
applied (the first rule that matches decides). The HTML report prints them, and tests/unit/test_verdict_rules.py
proves each rule against ``control_verdict`` / ``clause_verdict``, so the text and the code cannot drift.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

from checks.model import Status
from stockade.engine.model import ClauseResult, ControlResult, Finding, Verdict

HOLDS = {Verdict.SATISFIED, Verdict.MANUAL_ATTESTED, Verdict.WAIVED}

# (condition, verdict), first match wins. A control's findings are every host's findings for it.
CONTROL_RULES: tuple[tuple[str, Verdict], ...] = (
    ("planned: no check built yet", Verdict.NOT_ASSESSED),
    ("not selected for this run (--controls)", Verdict.NOT_ASSESSED),
    ("no findings", Verdict.NOT_ASSESSED),
    ("manual, with an attestation valid on the run date", Verdict.MANUAL_ATTESTED),
    ("manual, its latest attestation expired", Verdict.NOT_SATISFIED),
    ("manual, no attestation on record", Verdict.NOT_ASSESSED),
    ("any finding ERROR (could not be evaluated; never a pass)", Verdict.NOT_ASSESSED),
    ("any finding FAIL", Verdict.NOT_SATISFIED),
    ("any finding WAIVED, the others PASS or SKIPPED", Verdict.WAIVED),
    ("at least one PASS, the others SKIPPED", Verdict.SATISFIED),
    ("every finding SKIPPED (not applicable to any host)", Verdict.NOT_ASSESSED),
)

# (condition, verdict), first match wins. A control "holds" when its verdict is satisfied, manual_attested or waived.
CLAUSE_RULES: tuple[tuple[str, Verdict], ...] = (
    ("no control serves the clause", Verdict.NOT_ASSESSED),
    ("a control is not_satisfied and another holds", Verdict.PARTLY),
    ("a control is not_satisfied and none holds", Verdict.NOT_SATISFIED),
    ("a control is not_assessed and another holds", Verdict.PARTLY),
    ("a control is not_assessed and none holds", Verdict.NOT_ASSESSED),
    ("every control holds, at least one waived", Verdict.WAIVED),
    ("every control manual_attested", Verdict.MANUAL_ATTESTED),
    ("every control satisfied or manual_attested", Verdict.SATISFIED),
)


class ClauseLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def section(self) -> str: ...
    @property
    def text(self) -> str: ...


class ControlLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def automation(self) -> str: ...
    @property
    def clauses(self) -> tuple[str, ...]: ...


def control_verdict(control: ControlLike, findings: Sequence[Finding], selected: bool) -> tuple[Verdict, str]:
    if control.automation == "planned":
        return Verdict.NOT_ASSESSED, "no check built yet"
    if not selected:
        return Verdict.NOT_ASSESSED, "not selected for this run (--controls)"
    if not findings:
        return Verdict.NOT_ASSESSED, "no findings"
    if control.automation == "manual":
        state = _attestation_state(findings[0])
        verdict = {"attested": Verdict.MANUAL_ATTESTED, "expired": Verdict.NOT_SATISFIED}.get(
            state, Verdict.NOT_ASSESSED)
        return verdict, f"attestation {state}"
    statuses = [finding.status for finding in findings]
    hosts = len({finding.host for finding in findings})
    if Status.ERROR in statuses:
        return Verdict.NOT_ASSESSED, f"{statuses.count(Status.ERROR)} finding(s) could not be evaluated"
    if Status.FAIL in statuses:
        return Verdict.NOT_SATISFIED, f"{statuses.count(Status.FAIL)} failing finding(s) on {hosts} host(s)"
    if Status.WAIVED in statuses:
        return Verdict.WAIVED, f"{statuses.count(Status.WAIVED)} waived finding(s)"
    if Status.PASS in statuses:
        return Verdict.SATISFIED, f"passes on {hosts} host(s)"
    return Verdict.NOT_ASSESSED, "not applicable to any host"


def _attestation_state(finding: Finding) -> str:
    observed = finding.evidence.observed if finding.evidence else {}
    return str(observed.get("attestation_state", "missing"))


def clause_verdict(control_verdicts: Iterable[Verdict]) -> Verdict:
    verdicts = set(control_verdicts)
    some_hold = bool(verdicts & HOLDS)
    if not verdicts:
        return Verdict.NOT_ASSESSED
    if Verdict.NOT_SATISFIED in verdicts:
        return Verdict.PARTLY if some_hold else Verdict.NOT_SATISFIED
    if Verdict.NOT_ASSESSED in verdicts:
        return Verdict.PARTLY if some_hold else Verdict.NOT_ASSESSED
    if Verdict.WAIVED in verdicts:
        return Verdict.WAIVED
    if verdicts == {Verdict.MANUAL_ATTESTED}:
        return Verdict.MANUAL_ATTESTED
    return Verdict.SATISFIED


def clause_results(clauses: Iterable[ClauseLike], controls: Iterable[ControlLike], findings: Sequence[Finding],
                   selected: Collection[str] | None) -> tuple[ClauseResult, ...]:
    """Every clause of the policy, with each control's verdict; `selected` None means all controls ran."""
    by_control: dict[str, list[Finding]] = {}
    for finding in findings:
        by_control.setdefault(finding.control_id, []).append(finding)
    control_results: dict[str, ControlResult] = {}
    clause_controls: dict[str, list[str]] = {}
    for control in controls:
        verdict, reason = control_verdict(control, by_control.get(control.id, []),
                                          selected is None or control.id in selected)
        control_results[control.id] = ControlResult(control.id, control.title, control.automation, verdict, reason)
        for clause_id in control.clauses:
            clause_controls.setdefault(clause_id, []).append(control.id)
    results = []
    for clause in clauses:
        members = tuple(control_results[control_id] for control_id in clause_controls.get(clause.id, []))
        results.append(ClauseResult(clause.id, clause.section, clause.text,
                                    clause_verdict(member.verdict for member in members), members))
    return tuple(results)
