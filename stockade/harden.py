"""`stockade harden`: run playbooks/site.yml with ansible-playbook, exactly as an operator would."""

from __future__ import annotations

import subprocess
from pathlib import Path

from stockade.errors import UsageError
from stockade.project import SITE_PLAYBOOK, ansible_environment


def playbook_command(inventory: Path, *, limit: str | None, tags: str | None, check: bool,
                     diff: bool) -> list[str]:
    command = ["ansible-playbook", "-i", str(inventory), str(SITE_PLAYBOOK)]
    if limit:
        command += ["--limit", limit]
    if tags:
        command += ["--tags", tags]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    return command


def run_playbook(inventory: Path, *, limit: str | None = None, tags: str | None = None,
                 check: bool = False, diff: bool = False) -> int:
    if not inventory.exists():
        raise UsageError(f"{inventory}: inventory not found")
    command = playbook_command(inventory, limit=limit, tags=tags, check=check, diff=diff)
    return subprocess.run(command, env=ansible_environment(), check=False).returncode
