"""roles/audit_schedule when Stockade is installed from its wheel or collection (no source tree beside the role):
the pre-flight refuses to build a wheelhouse from nothing and says how to give one, before any change.

The role's own assert task is run by ansible-playbook on localhost (connection local, nothing changed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TASK = "Audit schedule | Pre-flight | Assert a source tree to build the wheelhouse from, or a wheelhouse"


def _assert_task() -> dict[str, Any]:
    main = yaml.safe_load((REPO / "roles" / "audit_schedule" / "tasks" / "main.yml").read_text())
    return next(task for block in main for task in block.get("block", []) if task["name"] == TASK)


def _run(tmp_path: Path, **variables: Any) -> subprocess.CompletedProcess[str]:
    variables = {"audit_schedule_python_version": "3.13", "audit_schedule_glibc_version": "2.41",
                 "audit_schedule_wheelhouse_dir": "", "audit_schedule_build_wheelhouse": True, **variables}
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                         "vars": variables, "tasks": [_assert_task()]}]))
    return subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,",
                           str(playbook)], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def installed_collection(tmp_path: Path) -> Path:
    root = tmp_path / "site-packages" / "stockade" / "_ansible" / "collections" / "ansible_collections" / \
        "stockade" / "hardening"
    (root / "roles" / "audit_schedule").mkdir(parents=True)
    return root


def test_installed_without_a_wheelhouse_is_refused_with_how_to_build_one(tmp_path: Path,
                                                                           installed_collection: Path) -> None:
    result = _run(tmp_path, audit_schedule_project_dir=str(installed_collection))
    assert result.returncode != 0
    assert "is not a Stockade source tree" in result.stdout
    assert "audit_schedule_wheelhouse_dir=DIR" in result.stdout and "--python 3.13 --glibc 2.41" in result.stdout


def test_installed_with_a_given_wheelhouse_and_a_checkout_both_pass(tmp_path: Path,
                                                                     installed_collection: Path) -> None:
    given = _run(tmp_path, audit_schedule_project_dir=str(installed_collection),
                 audit_schedule_build_wheelhouse=False, audit_schedule_wheelhouse_dir=str(tmp_path / "wh"))
    assert given.returncode == 0, given.stdout[-2000:]
    checkout = _run(tmp_path, audit_schedule_project_dir=str(REPO))
    assert checkout.returncode == 0, checkout.stdout[-2000:]
