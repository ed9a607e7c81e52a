"""Facts to findings: pure, so every verdict can be tested without a host."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from checks.model import Check, MissingFact
from stockade.engine.collect import Collection
from stockade.engine.model import Evidence, Finding, Severity, Status


class ControlInfo(Protocol):
    """What a finding takes from the control a check proves (checks/catalogue)."""

    @property
    def severity(self) -> str: ...

    @property
    def clauses(self) -> tuple[str, ...]: ...


def evaluate(collection: Collection, checks: Sequence[Check], controls: Mapping[str, ControlInfo],
             params: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """One finding per check; `params` holds each control's effective parameters for this host."""
    return [_evaluate_one(collection, check, controls[check.control_id], params.get(check.control_id, {}))
            for check in checks]


def _evaluate_one(collection: Collection, check: Check, control: ControlInfo,
                  params: Mapping[str, Any]) -> Finding:
    def finding(status: Status, message: str, observed: dict[str, object]) -> Finding:
        sources = [*check.facts, *(f"{name} (from the controller)" for name in check.probes)]
        evidence = Evidence(source=f"{', '.join(sources)} via {collection.source}",
                            observed=observed, collected_at=collection.collected_at)
        return Finding(host=collection.target, control_id=check.control_id, check_id=check.id,
                       clause_ids=control.clauses, status=status, severity=Severity(control.severity),
                       message=message, evidence=evidence)

    if check.facts and collection.facts is None:
        return finding(Status.ERROR, f"could not collect facts: {collection.error}",
                       {"error": collection.error})
    try:
        outcome = check.evaluate({**(collection.facts or {}), **collection.probe_results}, params)
    except MissingFact as exc:
        return finding(Status.ERROR, f"could not evaluate: {exc}", {"fact": exc.fact, **exc.observed})
    except Exception as exc:  # noqa: BLE001 - a broken evaluator is an ERROR finding, never a pass
        return finding(Status.ERROR, f"evaluator failed: {type(exc).__name__}: {exc}", {})
    return finding(outcome.status, outcome.message, outcome.observed)
