"""Parameters as the engine hands them to a check or probe: the catalogue's defaults, and overrides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checks.catalogue import load_catalogue
from checks.registry import ALL_CHECKS
from stockade.engine.declared import check_params, probe_params
from stockade.engine.params import resolve_params


def host_defaults(variables: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    catalogue = load_catalogue()
    return resolve_params({control.id: control for control in catalogue.controls}, variables or {}, "test")


def params_of(evaluate: Callable[..., Any], **overrides: Any) -> dict[str, Any]:
    """What the engine gives the check whose evaluator this is, with `overrides` on top."""
    check = next(check for check in ALL_CHECKS if check.evaluate is evaluate)
    return {**check_params(check, host_defaults()), **overrides}


def probe_params_of(name: str, **overrides: Any) -> dict[str, Any]:
    return {**probe_params(name, host_defaults()), **overrides}
