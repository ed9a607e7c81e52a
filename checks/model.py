"""What a check declares about itself, and what its evaluator returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stockade.engine.model import Status

Facts = Mapping[str, Mapping[str, Any]]


class MissingFact(Exception):
    """A fact the evaluator needs was not collected or its command failed: the verdict is ERROR."""

    def __init__(self, fact: str, detail: str, observed: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{fact}: {detail}")
        self.fact = fact
        self.observed = dict(observed or {})


@dataclass(frozen=True)
class Outcome:
    status: Status
    message: str
    observed: dict[str, Any] = field(default_factory=dict)


Params = Mapping[str, Any]


@dataclass(frozen=True)
class Check:
    """The logic of a proof. Severity, clauses, rationale, references and parameter defaults belong to
    the control it proves (checks/catalogue/controls.yml)."""

    id: str
    control_id: str
    title: str  # the state that holds when the check passes
    facts: tuple[str, ...]  # what the collector gathers on the host (checks/collect/)
    evaluate: Callable[[Facts, Params], Outcome]
    probes: tuple[str, ...] = ()  # what the controller observes from outside (checks/probes/)


def command_output(facts: Facts, name: str) -> str:
    """stdout of a collected command, or MissingFact when it is absent, failed or timed out."""
    fact = facts.get(name)
    if fact is None:
        raise MissingFact(name, "not collected")
    if "error" in fact:
        raise MissingFact(name, str(fact["error"]), fact)
    if fact.get("rc") != 0:
        stderr = str(fact.get("stderr", "")).strip()
        raise MissingFact(name, f"exit {fact.get('rc')}: {stderr}", fact)
    return str(fact["stdout"])


def fact_value(facts: Facts, name: str) -> Any:
    """A fact as collected (a function's mapping), or MissingFact when it is absent or failed."""
    fact = facts.get(name)
    if fact is None:
        raise MissingFact(name, "not collected")
    if isinstance(fact, Mapping) and "error" in fact:
        raise MissingFact(name, str(fact["error"]), fact)
    return fact


def file_content(facts: Facts, name: str) -> str:
    """Content of a collected file, or MissingFact when it is absent or unreadable."""
    return str(fact_value(facts, name)["content"])
