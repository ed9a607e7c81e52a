"""The example data files in inventory/examples/ stay valid against the shipped catalogue."""

from __future__ import annotations

from pathlib import Path

from checks.catalogue import load_catalogue
from checks.registry import ALL_CHECKS
from stockade.engine.attestations import load_attestations
from stockade.engine.waivers import load_waivers

EXAMPLES = Path(__file__).resolve().parents[2] / "inventory" / "examples"


def test_example_waivers_load() -> None:
    catalogue = load_catalogue()
    waivers = load_waivers(EXAMPLES / "waivers.yml", {c.id for c in catalogue.controls}, {c.id for c in ALL_CHECKS})
    assert [w.id for w in waivers] == ["W-2026-001"]


def test_example_attestations_name_manual_controls() -> None:
    manual = {c.id for c in load_catalogue().controls if c.automation == "manual"}
    attestations = load_attestations(EXAMPLES / "attestations.yml", manual)
    assert {a.control_id for a in attestations} <= manual
    assert attestations
