"""Audit targets: from an Ansible inventory, or from pytest-testinfra host URLs (local://, paramiko://...)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

from checks.probes import ProbeTarget, split_ssh_args
from stockade.errors import UsageError


@dataclass(frozen=True)
class Target:
    name: str
    host: Any  # testinfra.host.Host: its backend carries the connection
    variables: Mapping[str, Any] = field(default_factory=dict)  # inventory variables (parameters, ...)

    @property
    def address(self) -> str:
        backend = self.host.backend
        return f"{backend.NAME}://{getattr(backend, 'host', None) or self.name}"

    def probe_target(self) -> ProbeTarget:
        """How probes on the controller reach this host: the inventory's variables first, else the URL's."""
        spec = getattr(self.host.backend, "host", None)  # testinfra HostSpec(name, port, user, password)
        variables = self.variables
        key = variables.get("ansible_ssh_private_key_file") or getattr(self.host.backend, "ssh_identity_file", None)
        options = (*(("-i", str(key)) if key else ()),
                   *split_ssh_args(str(variables.get("ansible_ssh_common_args", ""))))
        return ProbeTarget(
            name=self.name,
            address=str(variables.get("ansible_host") or getattr(spec, "name", None) or self.name),
            ssh_port=int(variables.get("ansible_port") or getattr(spec, "port", None) or 22),
            ssh_user=variables.get("ansible_user") or getattr(spec, "user", None),
            ssh_options=options,
            variables=variables,
        )


def select_hosts(match: Callable[[str], list[str]], limit: str, inventory: Path) -> list[str]:
    """Hosts selected by ``limit`` as Ansible reads it: patterns (host or group globs) separated by commas
    or colons, their union, minus the ``!``-prefixed ones. A pattern that matches nothing is an error, so
    a typo never quietly shrinks an audit."""
    patterns = [part.strip() for part in limit.replace(":", ",").split(",") if part.strip()]
    if not patterns:
        raise UsageError(f"{inventory}: --limit {limit!r} names no host or group")
    chosen: set[str] = set()
    excluded: set[str] = set()
    for pattern in patterns:
        negated = pattern.startswith("!")
        hosts = match(pattern[1:] if negated else pattern)
        if not hosts:
            raise UsageError(f"{inventory}: no host or group matches {pattern!r} of --limit {limit!r}")
        (excluded if negated else chosen).update(hosts)
    if all(pattern.startswith("!") for pattern in patterns):
        chosen = set(match("all"))
    return sorted(chosen - excluded)


def load_targets(inventory: Path, limit: str = "all") -> list[Target]:
    """Hosts of an Ansible inventory; testinfra turns each host's connection variables into an SSH
    (or local, paramiko...) backend, the same way Ansible would connect."""
    if not inventory.exists():
        raise UsageError(f"{inventory}: inventory not found")
    runner = AnsibleRunner(str(inventory))
    try:
        names = select_hosts(runner.get_hosts, limit, inventory)
    except subprocess.CalledProcessError as exc:
        raise UsageError(f"{inventory}: ansible-inventory could not read it (exit {exc.returncode})") from exc
    except RuntimeError as exc:
        raise UsageError(f"{inventory}: no inventory could be parsed from it") from exc
    if not names:
        raise UsageError(f"{inventory}: no host matches --limit {limit!r}")
    targets = []
    for name in names:
        host = runner.get_host(name)
        variables = runner.get_variables(name)
        if host is None:
            connection = variables.get("ansible_connection")
            raise UsageError(f"{inventory}: host {name}: ansible_connection {connection!r} is not supported")
        targets.append(Target(name, host, variables))
    return targets


def url_targets(urls: Sequence[str]) -> list[Target]:
    """Hosts given as testinfra URLs, e.g. `local://` for an audit run on the host itself."""
    targets = []
    for url in urls:
        try:
            host = testinfra.get_host(url)
        except Exception as exc:
            raise UsageError(f"--target {url}: {exc}") from exc
        targets.append(Target(host.backend.get_hostname() or url, host))
    return targets
