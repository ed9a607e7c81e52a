"""The vocabulary every check, probe and engine module shares: statuses, outcomes, what a check declares.

A leaf: it imports nothing of Stockade's, so checks/ and stockade/ both build on it and imports run one way
(stockade/ -> checks/ -> here). The import-linter contracts in pyproject.toml keep it so.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    # Could not evaluate: a missing fact, an unreachable host, a failed command. Never a pass.
    ERROR = "error"
    SKIPPED = "skipped"  # not applicable here, with the reason
    WAIVED = "waived"
    MANUAL = "manual"


# Worst first: a run's overall status is the worst status among its findings.
STATUS_SEVERITY_ORDER = (Status.ERROR, Status.FAIL, Status.WAIVED, Status.MANUAL, Status.SKIPPED, Status.PASS)


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


Facts = Mapping[str, Any]  # a check's declared facts and probe results, by their names
Params = Mapping[str, Any]  # a check's or probe's declared parameters, by their keys


class NotEvaluated(Exception):
    """The check could not be evaluated: its finding is ERROR with this reason, never a pass."""

    def __init__(self, reason: str, observed: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.observed = dict(observed or {})


class MissingFact(NotEvaluated):
    """A fact the evaluator needs was not collected or its command failed."""

    def __init__(self, fact: str, detail: str, observed: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{fact}: {detail}", observed)
        self.fact = fact


@dataclass(frozen=True)
class Outcome:
    status: Status
    message: str
    observed: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """A parameter of another control that a check or probe reads, as ``params[key]``.

    A check reads its own control's parameters without declaring them (the catalogue declares them under that
    control); a probe belongs to no control and declares every parameter it reads. Defaults live only in the
    catalogue (checks/catalogue/controls.yml)."""

    control_id: str
    name: str
    alias: str = ""  # the key it is read under when the name alone would be ambiguous

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class FactInputs:
    """What a fact's arguments are built from: the requesting check's parameters and the host's inventory."""

    params: Params
    variables: Mapping[str, Any]


ArgumentBuilder = Callable[[FactInputs], Mapping[str, Any]]


@dataclass(frozen=True)
class Fact:
    """A fact requested with JSON arguments (paths, accounts, directories) built per host.

    The collector receives it as one argument, ``name:{json}`` (``request_key``), runs the host function with
    those keyword arguments, and returns it under the same key; the evaluator reads it as ``facts[name]``."""

    name: str
    arguments: ArgumentBuilder


FactSpec = str | Fact  # a plain fact name, or a fact with arguments


def request_key(name: str, arguments: Mapping[str, Any] | None = None) -> str:
    """How a fact request travels and comes back: the bare name, or name:{canonical JSON}."""
    if not arguments:
        return name
    return f"{name}:{json.dumps(arguments, sort_keys=True, separators=(',', ':'))}"


def fact_name(spec: FactSpec) -> str:
    return spec if isinstance(spec, str) else spec.name


@dataclass(frozen=True)
class Check:
    """The logic of a proof. Severity, clauses, rationale, references and parameter defaults belong to
    the control it proves (checks/catalogue/controls.yml)."""

    id: str
    control_id: str
    title: str  # the state that holds when the check passes
    facts: tuple[FactSpec, ...]  # what the collector gathers on the host (checks/collect/)
    evaluate: Callable[[Facts, Params], Outcome]
    probes: tuple[str, ...] = ()  # what the controller observes from outside (checks/probes/)
    params: tuple[Param, ...] = ()  # other controls' parameters it reads (its own control's come with it)

    @property
    def fact_names(self) -> tuple[str, ...]:
        return tuple(fact_name(spec) for spec in self.facts)


def command_output(facts: Facts, name: str) -> str:
    """stdout of a collected command, or MissingFact when it is absent, failed or timed out."""
    fact = fact_value(facts, name)
    if fact.get("rc") != 0:
        stderr = str(fact.get("stderr", "")).strip()
        raise MissingFact(name, f"exit {fact.get('rc')}: {stderr}", fact)
    return str(fact["stdout"])


def fact_value(facts: Facts, name: str) -> Any:
    """A fact or probe result as collected (a mapping, or a list), or MissingFact when it is absent or failed."""
    fact = facts.get(name)
    if fact is None:
        raise MissingFact(name, "not collected")
    if isinstance(fact, Mapping) and "error" in fact:
        raise MissingFact(name, str(fact["error"]), fact)
    return fact


def fact_field(facts: Facts, name: str, key: str) -> Any:
    """One field of a collected fact, or MissingFact when the fact or the field is absent: a fact without the
    field it always carries is not "nothing found"."""
    fact = fact_value(facts, name)
    if not isinstance(fact, Mapping) or key not in fact:
        raise MissingFact(name, f"no {key!r} in what was collected", {"collected": str(fact)[:200]})
    return fact[key]


def fact_list(facts: Facts, name: str) -> list[Any]:
    """A fact collected as a list (one entry per account, file...), or MissingFact for any other shape."""
    fact = fact_value(facts, name)
    if not isinstance(fact, list):
        raise MissingFact(name, f"expected a list, collected {type(fact).__name__}", {"collected": str(fact)[:200]})
    return fact


def file_content(facts: Facts, name: str) -> str:
    """Content of a collected file, or MissingFact when it is absent or unreadable."""
    return str(fact_value(facts, name)["content"])


def outcome(problems: list[str], passed: str, observed: dict[str, Any]) -> Outcome:
    """FAIL listing the problems, else PASS with the `passed` message; the same evidence either way."""
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, passed, observed)
