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


def test_a_subset_audit_resolves_declared_parameters_of_unselected_controls() -> None:
    """`--controls TLS-02,TLS-04` scans the ports TLS-01 declares for the host, not a default in code."""
    import testinfra

    from stockade.engine.audit import host_plan_for, plan_audit
    from stockade.engine.targets import Target

    plan = plan_audit(["TLS-02", "TLS-04"])
    variables = {"stockade_params": {"TLS-01": {"ports": [8443, 9443]}, "TLS-03": {"ca_file": "/lab/ca.crt"},
                                     "TLS-02": {"min_hsts_max_age": 63072000}}}
    host = host_plan_for(plan, Target("web-1", testinfra.get_host("local://"), variables), "inventory.yml")
    assert host.probe_params["tls_scan"] == {"ports": [8443, 9443], "ca_file": "/lab/ca.crt"}
    assert host.check_params["tls_hsts"]["min_hsts_max_age"] == 63072000
    assert set(host.probe_params) == {"tls_scan", "http_redirect"}
