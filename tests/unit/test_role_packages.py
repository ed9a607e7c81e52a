"""site.yml installs every role's packages in one apt transaction: each role's `<role>_packages` must name
every package its own tasks install, or the fold would leave that install to the role (slow, not wrong)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
SITE = ROLES.parent / "playbooks" / "site.yml"


def _tasks(node: Any) -> list[dict[str, Any]]:
    """Every task of a task file, blocks and rescues included."""
    found: list[dict[str, Any]] = []
    for task in node or []:
        found.append(task)
        for key in ("block", "rescue", "always"):
            found.extend(_tasks(task.get(key)))
    return found


def _installed_by_tasks(role: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted((role / "tasks").glob("*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text())):
            apt = task.get("ansible.builtin.apt")
            if isinstance(apt, dict) and apt.get("state", "present") == "present" and "name" in apt:
                listed = apt["name"] if isinstance(apt["name"], list) else [apt["name"]]
                names.update(name for name in listed if "{{" not in name)
    return names


ROLES_THAT_INSTALL = sorted(role.name for role in ROLES.iterdir()
                            if role.name != "audit_schedule" and _installed_by_tasks(role))


@pytest.mark.parametrize("role", ROLES_THAT_INSTALL)
def test_the_role_declares_every_package_its_tasks_install(role: str) -> None:
    defaults = (ROLES / role / "defaults" / "main.yml").read_text()
    declared = yaml.safe_load(defaults)[f"{role}_packages"]
    missing = {name for name in _installed_by_tasks(ROLES / role) if f"'{name}'" not in declared}
    assert not missing, f"roles/{role}/defaults/main.yml {role}_packages does not name {sorted(missing)}"


def test_site_folds_the_packages_of_every_role_it_runs() -> None:
    plays = yaml.safe_load(SITE.read_text())
    harden = next(play for play in plays if play.get("roles"))
    run = {entry["role"].rsplit(".", 1)[-1] for entry in harden["roles"]}
    folded = harden["vars"]["stockade_role_packages"]
    assert set(ROLES_THAT_INSTALL) <= run
    for role in ROLES_THAT_INSTALL:
        assert f"{role}_packages" in folded, f"playbooks/site.yml does not fold {role}_packages"
