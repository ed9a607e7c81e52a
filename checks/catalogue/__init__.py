"""The policy's clauses and the controls that serve them: data files, validated when they are loaded.

`policy.yml` quotes every clause of the data-handling policy under a stable id; `controls.yml` says, for each
control, which clauses it serves, how it is enforced (role and tags), how it is proven (checks, an attestation,
or checks still to be built), its severity, framework references and parameters. `load_catalogue()` refuses a
catalogue with any inconsistency, naming the file and the key path of each problem.

The data model is in `checks.catalogue.model`, the reading and validation in `checks.catalogue.loader`.
"""

from __future__ import annotations

from checks.catalogue.loader import CATALOGUE_DIR, CONTROLS_FILE, POLICY_FILE, SCHEMA_FILE, load_catalogue
from checks.catalogue.model import (
    REFERENCE_FRAMEWORKS,
    Automation,
    Catalogue,
    CatalogueError,
    CheckRef,
    Clause,
    Control,
    Enforcement,
    Parameter,
    control_tag,
    key_path,
)

__all__ = [
    "CATALOGUE_DIR",
    "CONTROLS_FILE",
    "POLICY_FILE",
    "REFERENCE_FRAMEWORKS",
    "SCHEMA_FILE",
    "Automation",
    "Catalogue",
    "CatalogueError",
    "CheckRef",
    "Clause",
    "Control",
    "Enforcement",
    "Parameter",
    "control_tag",
    "key_path",
    "load_catalogue",
]
