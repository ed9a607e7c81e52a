"""Facts to findings: pure, so every verdict can be tested without a host."""

from __future__ import annotations

from collections.abc import Sequence

from checks.model import Check, MissingFact
from stockade.engine.collect import Collection
from stockade.engine.model import Evidence, Finding, Status


def evaluate(collection: Collection, checks: Sequence[Check]) -> list[Finding]:
    return [_evaluate_one(collection, check) for check in checks]


def _evaluate_one(collection: Collection, check: Check) -> Finding:
    def finding(status: Status, message: str, observed: dict[str, object]) -> Finding:
        evidence = Evidence(source=f"{', '.join(check.facts)} via {collection.source}",
                            observed=observed, collected_at=collection.collected_at)
        return Finding(host=collection.target, control_id=check.control_id, check_id=check.id,
                       clause_ids=check.clause_ids, status=status, severity=check.severity,
                       message=message, evidence=evidence)

    if collection.facts is None:
        return finding(Status.ERROR, f"could not collect facts: {collection.error}",
                       {"error": collection.error})
    try:
        outcome = check.evaluate(collection.facts)
    except MissingFact as exc:
        return finding(Status.ERROR, f"could not evaluate: {exc}", {"fact": exc.fact, **exc.observed})
    except Exception as exc:  # noqa: BLE001 - a broken evaluator is an ERROR finding, never a pass
        return finding(Status.ERROR, f"evaluator failed: {type(exc).__name__}: {exc}", {})
    return finding(outcome.status, outcome.message, outcome.observed)
