"""Audit targets: from an Ansible inventory, or from pytest-testinfra host URLs (local://, paramiko://...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

from checks.probes import ProbeTarget, split_ssh_args
from stockade.engine.inventory import (
    InventoryFile,
    audit_variable_problems,
    host_problems,
    inventory_hosts,
    origin,
    preflight,
    read_inventory,
)
from stockade.engine.params import INVENTORY_KEY, ParameterisedControl, resolve_params
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


def select_hosts(match: Callable[[str], list[str]], limit: str, inventory: Path | str) -> list[str]:
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


def _sources(inventory: Path | Sequence[Path]) -> list[Path]:
    return [inventory] if isinstance(inventory, Path) else list(inventory)


def check_inventory(inventory: Path | Sequence[Path], *, templates_allowed: bool = False,
                    files: list[InventoryFile] | None = None) -> tuple[list[InventoryFile], dict[str, Any]]:
    """The inventory's files checked before Ansible parses them (unless `files` says they were), then the
    merged inventory (later sources override) with every host name, ansible_host and ansible_port valid:
    UsageError naming file and host."""
    sources = _sources(inventory)
    files = preflight(sources) if files is None else files
    data = read_inventory(sources)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    for name in inventory_hosts(data):
        variables = hostvars.get(name) or {}
        for key, problem in host_problems(name, variables, templates_allowed=templates_allowed):
            where = origin(files, name, key, sources)
            raise UsageError(f"{where}: host {name!r}: " + (f"{key}: " if key else "")
                             + f"{problem} (refused before any connection)")
    return files, data


def load_targets(inventory: Path | Sequence[Path], limit: str = "all",
                 controls: Mapping[str, ParameterisedControl] | None = None,
                 files: list[InventoryFile] | None = None) -> list[Target]:
    """Hosts of an Ansible inventory (one or several sources, merged as ansible-playbook merges several -i);
    testinfra turns each host's connection variables into an SSH (or local, paramiko...) backend, the same
    way Ansible would connect. Hostile files, invalid names or addresses and malformed variables that the
    audit reads (and, with `controls`, `stockade_params`) are refused first, naming file, host and key.
    `files`: the sources' files, already checked by `stockade.engine.inventory.preflight`."""
    sources = _sources(inventory)
    files, data = check_inventory(sources, files=files)
    label = ", ".join(map(str, sources))
    runner = AnsibleRunner(None)
    runner.inventory = data  # already read: testinfra would run ansible-inventory again
    try:
        names = select_hosts(runner.get_hosts, limit, label)
    except RuntimeError as exc:
        raise UsageError(f"{label}: no inventory could be parsed from it") from exc
    if not names:
        raise UsageError(f"{label}: no host matches --limit {limit!r}")
    targets = []
    for name in names:
        variables = runner.get_variables(name)
        for key, problem in audit_variable_problems(variables):
            raise UsageError(f"{origin(files, name, key.split('.')[0].split('[')[0], sources)}: host {name}: "
                             f"{key}: {problem}")
        if controls is not None:
            resolve_params(controls, variables, f"{origin(files, name, INVENTORY_KEY, sources)}: host {name}")
        host = runner.get_host(name)
        if host is None:
            connection = variables.get("ansible_connection")
            raise UsageError(f"{label}: host {name}: ansible_connection {connection!r} is not supported")
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
