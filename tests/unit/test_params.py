"""Control parameters: catalogue defaults, inventory overrides, and clear errors for bad overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from stockade.engine.params import resolve_params
from stockade.errors import UsageError


@dataclass(frozen=True)
class Spec:
    type: str
    default: Any


@dataclass(frozen=True)
class Control:
    parameters: dict[str, Spec] = field(default_factory=dict)


CONTROLS = {"PATCH-01": Control({"max_pending_days": Spec("int", 7), "reboot": Spec("bool", False)}),
            "SSH-01": Control()}
WHERE = "inventory.yml: host web-1"


def test_defaults_apply_without_overrides() -> None:
    assert resolve_params(CONTROLS, {}, WHERE) == {"PATCH-01": {"max_pending_days": 7, "reboot": False},
                                                   "SSH-01": {}}


def test_inventory_overrides_one_parameter() -> None:
    params = resolve_params(CONTROLS, {"stockade_params": {"PATCH-01": {"max_pending_days": 3}}}, WHERE)
    assert params["PATCH-01"] == {"max_pending_days": 3, "reboot": False}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"PATCH-02": {}}, "stockade_params.PATCH-02: unknown control"),
    ({"PATCH-01": {"max_days": 3}}, "stockade_params.PATCH-01.max_days: unknown parameter"),
    ({"PATCH-01": {"max_pending_days": "3"}},
     "stockade_params.PATCH-01.max_pending_days: expected int, got a string '3'"),
    ({"PATCH-01": {"max_pending_days": True}}, "expected int, got a boolean True"),
    ({"PATCH-01": [1]}, "stockade_params.PATCH-01 must be a mapping"),
])
def test_bad_overrides_name_the_inventory_host_and_key(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=r"^inventory\.yml: host web-1: ") as error:
        resolve_params(CONTROLS, {"stockade_params": overrides}, WHERE)
    assert message in str(error.value)


def test_audit_plan_accepts_inventory_parameters_of_unselected_controls() -> None:
    import testinfra

    from stockade.engine.audit import host_params, plan_audit
    from stockade.engine.targets import Target

    plan = plan_audit(["SSH-01"])
    other = next(c for c in plan.catalogue.controls if c.parameters and c.id != "SSH-01")
    name, spec = next(iter(other.parameters.items()))
    target = Target("web-1", testinfra.get_host("local://"), {"stockade_params": {other.id: {name: spec.default}}})
    assert host_params(plan, target, "inventory.yml") == {"SSH-01": {}}
