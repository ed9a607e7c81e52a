"""Each control's parameters for one host: the catalogue's defaults, overridden by inventory variables.

An inventory sets them per group or host as
    stockade_params: {CONTROL-ID: {parameter: value}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from checks.catalogue.param_schema import parameter_problem
from stockade.errors import UsageError

INVENTORY_KEY = "stockade_params"


class ParameterSpec(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def default(self) -> Any: ...


class ParameterisedControl(Protocol):
    @property
    def parameters(self) -> Mapping[str, ParameterSpec]: ...


def resolve_params(controls: Mapping[str, ParameterisedControl], variables: Mapping[str, Any],
                   where: str) -> dict[str, dict[str, Any]]:
    """Effective parameters per control id; `where` names the inventory and host for error messages."""
    overrides = variables.get(INVENTORY_KEY) or {}
    if not isinstance(overrides, Mapping):
        raise UsageError(f"{where}: {INVENTORY_KEY} must be a mapping of control id to parameters")
    for control_id, values in overrides.items():
        if control_id not in controls:
            raise UsageError(f"{where}: {INVENTORY_KEY}.{control_id}: unknown control")
        if not isinstance(values, Mapping):
            raise UsageError(f"{where}: {INVENTORY_KEY}.{control_id} must be a mapping of parameters")
        declared = controls[control_id].parameters
        for name, value in values.items():
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                raise UsageError(f"{where}: {INVENTORY_KEY}.{control_id}.{name}: unknown parameter "
                                 f"(declared: {known})")
            problem = parameter_problem(declared[name], value)  # its schema: type, range, elements...
            if problem is not None:
                raise UsageError(f"{where}: {INVENTORY_KEY}.{control_id}.{name}{problem}")
    return {
        control_id: {name: (overrides.get(control_id) or {}).get(name, spec.default)
                     for name, spec in control.parameters.items()}
        for control_id, control in controls.items()
    }
