"""Audit targets from an Ansible inventory, reached through pytest-testinfra's backends."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testinfra.utils.ansible_runner import AnsibleRunner

from stockade.errors import UsageError


@dataclass(frozen=True)
class Target:
    name: str
    host: Any  # testinfra.host.Host; its backend is built from the inventory's connection variables

    @property
    def address(self) -> str:
        backend = self.host.backend
        return f"{backend.NAME}://{getattr(backend, 'host', self.name)}"


def load_targets(inventory: Path, limit: str = "all") -> list[Target]:
    if not inventory.exists():
        raise UsageError(f"{inventory}: inventory not found")
    runner = AnsibleRunner(str(inventory))
    try:
        names = runner.get_hosts(limit)
    except subprocess.CalledProcessError as exc:
        raise UsageError(f"{inventory}: ansible-inventory could not read it (exit {exc.returncode})") from exc
    except RuntimeError as exc:
        raise UsageError(f"{inventory}: no inventory could be parsed from it") from exc
    if not names:
        raise UsageError(f"{inventory}: no host matches --limit {limit!r}")
    targets = []
    for name in names:
        host = runner.get_host(name)
        if host is None:
            connection = runner.get_variables(name).get("ansible_connection")
            raise UsageError(f"{inventory}: host {name}: ansible_connection {connection!r} is not supported")
        targets.append(Target(name, host))
    return targets
