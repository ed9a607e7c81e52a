"""What the selected checks and their probes declared, resolved for one host before any host is contacted.

A check receives its own control's parameters and the other controls' parameters it declared (``Param``);
a probe receives exactly the parameters it declared. They are resolved from the catalogue and inventory for
every control, selected or not, so `--controls TLS-02` scans the ports TLS-01 declares. A fact with arguments
is turned into its request key here, so a bad inventory value stops the run before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checks.model import Check, Fact, FactInputs, Param, request_key
from checks.probes import PROBES
from stockade.errors import UsageError

HostParams = Mapping[str, Mapping[str, Any]]  # control id -> effective parameters on this host


@dataclass(frozen=True)
class HostPlan:
    """For one host: each check's parameters and fact keys, and each probe's parameters."""

    check_params: Mapping[str, Mapping[str, Any]]  # check id -> what it reads as params[...]
    check_facts: Mapping[str, Mapping[str, str]]  # check id -> fact name -> request key sent to the collector
    probe_params: Mapping[str, Mapping[str, Any]]  # probe name -> what it reads as params[...]

    @property
    def fact_keys(self) -> set[str]:
        return {key for facts in self.check_facts.values() for key in facts.values()}


def _declared(params: tuple[Param, ...], host: HostParams, owner: str) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for param in params:
        control = host.get(param.control_id)
        if control is None or param.name not in control:
            raise ValueError(f"{owner} declares {param.control_id}.{param.name}, which the catalogue does not have")
        resolved[param.key] = control[param.name]
    return resolved


def check_params(check: Check, host: HostParams) -> dict[str, Any]:
    own = dict(host.get(check.control_id, {}))
    declared = _declared(check.params, host, f"check {check.id}")
    clash = sorted(set(own) & set(declared))
    if clash:
        raise ValueError(f"check {check.id}: declared parameters {clash} clash with its own control's; alias them")
    return {**own, **declared}


def probe_params(name: str, host: HostParams) -> dict[str, Any]:
    known = PROBES.get(name)
    return _declared(known.params, host, f"probe {name}") if known else {}


def fact_keys(check: Check, params: Mapping[str, Any], variables: Mapping[str, Any], where: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for spec in check.facts:
        if isinstance(spec, Fact):
            try:
                arguments = spec.arguments(FactInputs(params, variables))
            except (TypeError, ValueError, KeyError) as exc:
                raise UsageError(f"{where}: fact {spec.name} of check {check.id}: {exc}") from exc
            keys[spec.name] = request_key(spec.name, arguments)
        else:
            keys[spec] = spec
    return keys


def host_plan(checks: Sequence[Check], host: HostParams, variables: Mapping[str, Any], where: str) -> HostPlan:
    params = {check.id: check_params(check, host) for check in checks}
    return HostPlan(
        check_params=params,
        check_facts={check.id: fact_keys(check, params[check.id], variables, where) for check in checks},
        probe_params={name: probe_params(name, host) for check in checks for name in check.probes})
