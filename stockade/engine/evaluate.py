"""Facts to findings: pure, so every verdict can be tested without a host."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from checks.model import Check, MissingFact, NotEvaluated, Severity, Status
from stockade.engine.collect import Collection
from stockade.engine.declared import HostPlan
from stockade.engine.model import Evidence, Finding


class ControlInfo(Protocol):
    """What a finding takes from the control a check proves (checks/catalogue)."""

    @property
    def severity(self) -> str: ...

    @property
    def clauses(self) -> tuple[str, ...]: ...


def evaluate(collection: Collection, checks: Sequence[Check], controls: Mapping[str, ControlInfo],
             plan: HostPlan) -> list[Finding]:
    """One finding per check, each judged on exactly the facts, probes and parameters it declared."""
    return [_evaluate_one(collection, check, controls[check.control_id], plan) for check in checks]


def declared_facts(collection: Collection, check: Check, plan: HostPlan) -> dict[str, Any]:
    """The check's facts by their names (a fact with arguments comes back under its request key) and its
    probes' results: an evaluator cannot read what it did not declare."""
    facts = collection.facts or {}
    view = {name: _with_request(facts[key], name, key) for name, key in plan.check_facts.get(check.id, {}).items()
            if key in facts}
    view.update({name: collection.probe_results[name] for name in check.probes if name in collection.probe_results})
    return view


def _with_request(value: Any, name: str, key: str) -> Any:
    """A fact asked with arguments carries them back under "request", taken from what the controller sent."""
    if key == name or not isinstance(value, Mapping) or "error" in value:
        return value
    return {**value, "request": json.loads(key.partition(":")[2])}


def _evaluate_one(collection: Collection, check: Check, control: ControlInfo, plan: HostPlan) -> Finding:
    def finding(status: Status, message: str, observed: dict[str, object]) -> Finding:
        sources = [*check.fact_names, *(f"{name} (from the controller)" for name in check.probes)]
        evidence = Evidence(source=f"{', '.join(sources)} via {collection.source}",
                            observed=observed, collected_at=collection.collected_at)
        return Finding(host=collection.target, control_id=check.control_id, check_id=check.id,
                       clause_ids=control.clauses, status=status, severity=Severity(control.severity),
                       message=message, evidence=evidence)

    if collection.facts is None and (check.facts or collection.unreachable):
        return finding(Status.ERROR, f"could not collect facts: {collection.error}", {"error": collection.error})
    try:
        outcome = check.evaluate(declared_facts(collection, check, plan), plan.check_params.get(check.id, {}))
    except NotEvaluated as exc:
        observed = {"fact": exc.fact, **exc.observed} if isinstance(exc, MissingFact) else exc.observed
        return finding(Status.ERROR, f"could not evaluate: {exc}", observed)
    except Exception as exc:  # noqa: BLE001 - a broken evaluator is an ERROR finding, never a pass
        return finding(Status.ERROR, f"evaluator failed: {type(exc).__name__}: {exc}", {})
    return finding(outcome.status, outcome.message, outcome.observed)
