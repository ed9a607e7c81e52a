"""The report's headline: what holds and what does not, in one verdict and a few plain statements.

The worst status alone ("MANUAL") tells a reviewer nothing: a run whose automated controls all passed and
whose manual controls are attested holds. The headline is derived from the findings and the clause verdicts
(stockade/engine/verdicts.py), first rule that matches:

- no findings: NO FINDINGS (nothing was evaluated);
- any finding FAIL, or a control not satisfied (an expired attestation): DOES NOT HOLD;
- any finding ERROR: NOT PROVEN (an error is never a pass);
- a clause not assessed or partly assessed (a manual control without attestation, a planned or unselected
  control, a control no host applies to): HOLDS WHERE ASSESSED, naming what was not assessed;
- otherwise: HOLDS (every clause satisfied, attested or waived).

The statements under it always give the automated controls, the manual ones and the clause tally.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from checks.model import Status
from stockade.engine.model import RunResult, Verdict
from stockade.engine.verdicts import HOLDS

HOLDS_STATE = "holds"
PARTIAL_STATE = "holds-where-assessed"
FAILS_STATE = "does-not-hold"
UNPROVEN_STATE = "not-proven"
EMPTY_STATE = "no-findings"

TITLES = {HOLDS_STATE: "HOLDS", PARTIAL_STATE: "HOLDS WHERE ASSESSED", FAILS_STATE: "DOES NOT HOLD",
          UNPROVEN_STATE: "NOT PROVEN", EMPTY_STATE: "NO FINDINGS"}
LISTED = 6  # control ids named in a statement before "and N more"


@dataclass(frozen=True)
class Headline:
    state: str
    statements: tuple[str, ...]

    @property
    def title(self) -> str:
        return TITLES[self.state]

    def text(self) -> str:
        """One line, for the terminal: the verdict and its statements."""
        return f"{self.title}: " + "; ".join(self.statements)


def _ids(ids: Iterable[str]) -> str:
    names = sorted(set(ids))
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def headline(result: RunResult) -> Headline:
    if not result.findings:
        return Headline(EMPTY_STATE, ("nothing was evaluated in this run",))
    # The audited hosts (manual findings are the organisation's, not a host's).
    hosts = len(result.metadata.hosts) or len({f.host for f in result.findings if f.status is not Status.MANUAL})
    controls = {control.control_id: control for clause in result.clauses for control in clause.controls}
    automated = [c for c in controls.values() if c.automation == "automated"]
    manual = [c for c in controls.values() if c.automation == "manual"]
    failing = [f for f in result.findings if f.status is Status.FAIL]
    errors = [f for f in result.findings if f.status is Status.ERROR]
    counts = result.counts()

    statements = []
    if failing:
        statements.append(f"{_plural(len(failing), 'finding')} failed on "
                          f"{len({f.host for f in failing})} of {hosts} host(s): {_ids(f.control_id for f in failing)}")
    if errors:
        statements.append(f"{_plural(len(errors), 'finding')} could not be evaluated (not a pass): "
                          f"{_ids(f.control_id for f in errors)}")
    holding = [c for c in automated if c.verdict in HOLDS]
    tally = ", ".join(f"{counts[s.value]} {s.value}" for s in (Status.PASS, Status.SKIPPED, Status.WAIVED)
                      if counts[s.value])
    statements.append(f"automated controls: {len(holding)} of {len(automated)} hold on {hosts} host(s)"
                      + (f" ({tally})" if tally else ""))
    unheld = [c for c in automated if c.verdict not in HOLDS and c.verdict is not Verdict.NOT_SATISFIED
              and c.control_id not in {f.control_id for f in errors}]
    if unheld:
        statements.append(f"not assessed: {_ids(c.control_id for c in unheld)} "
                          f"({'; '.join(sorted({c.reason for c in unheld}))})")
    if manual:
        attested = [c for c in manual if c.verdict is Verdict.MANUAL_ATTESTED]
        expired = [c for c in manual if c.verdict is Verdict.NOT_SATISFIED]
        missing = [c for c in manual if c.verdict is Verdict.NOT_ASSESSED]
        part = f"manual controls: {len(attested)} of {len(manual)} attested"
        if expired:
            part += f", attestation expired for {_ids(c.control_id for c in expired)}"
        if missing:
            part += f", no attestation for {_ids(c.control_id for c in missing)}"
        statements.append(part)
    verdicts = [clause.verdict for clause in result.clauses]
    if verdicts:
        held = sum(verdict in HOLDS for verdict in verdicts)
        statements.append(f"clauses: {held} of {len(verdicts)} hold")

    if failing or any(control.verdict is Verdict.NOT_SATISFIED for control in controls.values()):
        state = FAILS_STATE
    elif errors:
        state = UNPROVEN_STATE
    elif any(verdict not in HOLDS for verdict in verdicts):
        state = PARTIAL_STATE
    else:
        state = HOLDS_STATE
    return Headline(state, tuple(statements))
