"""`stockade harden`: run playbooks/site.yml with ansible-playbook, exactly as an operator would.

When Mitogen for Ansible is installed (a dependency: it documents ansible-core 2.19 support since 0.3.25),
the run uses its `mitogen_linear` strategy: one persistent interpreter per host instead of a module upload
and a Python start per task, about 3x less wall time per task on the lab (bench/harden.py measures both).
`STOCKADE_MITOGEN=0`, or an ANSIBLE_STRATEGY of one's own, keeps Ansible's own linear strategy; plain
`ansible-playbook` with the project's ansible.cfg runs the same playbook without Mitogen.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from stockade.project import SITE_PLAYBOOK, ansible_environment, require_ansible_files

MITOGEN_STRATEGY = "mitogen_linear"


def playbook_command(inventory: Path | Sequence[Path], *, limit: str | None, tags: str | None, check: bool,
                     diff: bool) -> list[str]:
    sources = [inventory] if isinstance(inventory, Path) else list(inventory)
    command = ["ansible-playbook", *(arg for source in sources for arg in ("-i", str(source))), str(SITE_PLAYBOOK)]
    if limit:
        command += ["--limit", limit]
    if tags:
        command += ["--tags", tags]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    return command


def mitogen_strategy_dir() -> Path | None:
    """Where ansible_mitogen's strategy plugins are, without importing it (it patches Ansible on import)."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        return None
    strategy = Path(next(iter(spec.submodule_search_locations))) / "plugins" / "strategy"
    return strategy if (strategy / f"{MITOGEN_STRATEGY}.py").is_file() else None


def harden_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Ansible's environment for the run: the project's ansible.cfg, and Mitogen's strategy when available."""
    env = ansible_environment() if base is None else dict(base)
    if env.get("STOCKADE_MITOGEN", "1") == "0" or env.get("ANSIBLE_STRATEGY"):
        return env
    strategy = mitogen_strategy_dir()
    if strategy is None:
        return env
    env["ANSIBLE_STRATEGY_PLUGINS"] = os.pathsep.join(
        part for part in (str(strategy), env.get("ANSIBLE_STRATEGY_PLUGINS", "")) if part)
    env["ANSIBLE_STRATEGY"] = MITOGEN_STRATEGY
    return env


def run_playbook(inventory: Path | Sequence[Path], *, limit: str | None = None, tags: str | None = None,
                 check: bool = False, diff: bool = False) -> int:
    """Several inventories merge as ansible-playbook merges several -i (later sources override). Hostile
    files and invalid host names or addresses are refused (exit 2) before ansible-playbook starts."""
    from stockade.engine.targets import check_inventory

    check_inventory(inventory, templates_allowed=True)  # Ansible templates connection variables when it plays
    require_ansible_files()  # a wheel without its stockade/_ansible, or a wrong STOCKADE_HOME: exit 2, named
    command = playbook_command(inventory, limit=limit, tags=tags, check=check, diff=diff)
    return subprocess.run(command, env=harden_environment(), check=False).returncode
