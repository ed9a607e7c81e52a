"""stockade/project.py: STOCKADE_HOME, then the checkout, then the installed package's stockade/_ansible."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade import project
from stockade.errors import UsageError


def checkout(root: Path) -> Path:
    (root / "playbooks").mkdir(parents=True)
    (root / "playbooks" / "site.yml").write_text("---\n")
    (root / "ansible.cfg").write_text("[defaults]\n")
    return root


def installed(root: Path) -> Path:
    site = root / project.INSTALLED_COLLECTION / "playbooks"
    site.mkdir(parents=True)
    (site / "site.yml").write_text("---\n")
    (root / "ansible.cfg").write_text("[defaults]\n")
    return root


def test_the_checkout_is_used_when_running_from_it() -> None:
    files = project.ansible_files({})
    assert files.layout == "checkout" and files.present
    assert files.site_playbook == Path(__file__).resolve().parents[2] / "playbooks" / "site.yml"


def test_stockade_home_wins_and_is_never_silently_replaced(tmp_path: Path) -> None:
    home = checkout(tmp_path / "home")
    assert project.ansible_files({"STOCKADE_HOME": str(home)}).site_playbook == home / "playbooks" / "site.yml"
    empty = project.ansible_files({"STOCKADE_HOME": str(tmp_path / "nothing")})
    assert empty.layout == "STOCKADE_HOME" and not empty.present


def test_outside_a_checkout_the_installed_package_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project, "CHECKOUT_ROOT", tmp_path / "site-packages")
    monkeypatch.setattr(project, "INSTALLED_ROOT", installed(tmp_path / "site-packages" / "stockade" / "_ansible"))
    files = project.ansible_files({})
    assert files.layout == "installed package" and files.present
    assert files.ansible_config == project.INSTALLED_ROOT / "ansible.cfg"


def test_nothing_found_is_bad_input_naming_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project, "CHECKOUT_ROOT", tmp_path / "a")
    monkeypatch.setattr(project, "INSTALLED_ROOT", tmp_path / "b")
    monkeypatch.delenv("STOCKADE_HOME", raising=False)
    with pytest.raises(UsageError, match=r"no playbooks/site\.yml"):
        project.require_ansible_files()
