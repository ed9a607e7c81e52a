"""`stockade harden`: run playbooks/site.yml with ansible-playbook, exactly as an operator would."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from stockade.project import SITE_PLAYBOOK, ansible_environment


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


def run_playbook(inventory: Path | Sequence[Path], *, limit: str | None = None, tags: str | None = None,
                 check: bool = False, diff: bool = False) -> int:
    """Several inventories merge as ansible-playbook merges several -i (later sources override). Hostile
    files and invalid host names or addresses are refused (exit 2) before ansible-playbook starts."""
    from stockade.engine.targets import check_inventory

    check_inventory(inventory, templates_allowed=True)  # Ansible templates connection variables when it plays
    command = playbook_command(inventory, limit=limit, tags=tags, check=check, diff=diff)
    return subprocess.run(command, env=ansible_environment(), check=False).returncode
