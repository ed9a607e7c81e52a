"""How `stockade harden` runs ansible-playbook: the command line, and Mitogen's strategy when it is installed."""

from __future__ import annotations

from pathlib import Path

from stockade.harden import MITOGEN_STRATEGY, harden_environment, mitogen_strategy_dir, playbook_command
from stockade.project import SITE_PLAYBOOK


def test_command_is_ansible_playbook_on_the_site_playbook() -> None:
    command = playbook_command(Path("inv.yml"), limit="web,!web-2", tags="ssh_01", check=True, diff=True)
    assert command == ["ansible-playbook", "-i", "inv.yml", str(SITE_PLAYBOOK), "--limit", "web,!web-2",
                       "--tags", "ssh_01", "--check", "--diff"]
    assert playbook_command(Path("i"), limit=None, tags=None, check=False, diff=False)[4:] == []


def test_mitogen_strategy_is_used_when_installed() -> None:
    strategy = mitogen_strategy_dir()
    assert strategy is not None and (strategy / f"{MITOGEN_STRATEGY}.py").is_file()  # a dependency
    env = harden_environment({"PATH": "/usr/bin", "ANSIBLE_STRATEGY_PLUGINS": "/opt/mine"})
    assert env["ANSIBLE_STRATEGY"] == MITOGEN_STRATEGY
    assert env["ANSIBLE_STRATEGY_PLUGINS"] == f"{strategy}:/opt/mine"


def test_mitogen_can_be_turned_off_and_an_own_strategy_wins() -> None:
    assert "ANSIBLE_STRATEGY" not in harden_environment({"STOCKADE_MITOGEN": "0"})
    assert harden_environment({"ANSIBLE_STRATEGY": "free"})["ANSIBLE_STRATEGY"] == "free"
    assert "ANSIBLE_STRATEGY_PLUGINS" not in harden_environment({"ANSIBLE_STRATEGY": "free"})
