"""Probes run ON THE CONTROLLER and meet a host from outside, as a client would: a port scan, an SSH login,
a TLS handshake, a burst of requests. Their results join the host's facts under the probe's name, so
evaluators stay pure functions of facts. A probe that raises yields {"error": ...} for that probe only.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProbeTarget:
    """How the controller reaches the host: the inventory's address and SSH settings."""

    name: str
    address: str
    ssh_port: int = 22
    ssh_user: str | None = None
    ssh_options: tuple[str, ...] = ()  # e.g. ("-i", key, "-o", "UserKnownHostsFile=...")
    variables: Mapping[str, Any] = field(default_factory=dict)

    def ssh_command(self, *remote: str, extra_options: Iterable[str] = ()) -> list[str]:
        """An `ssh` command line that logs in as the inventory says (a fresh connection, never shared)."""
        user = ["-l", self.ssh_user] if self.ssh_user else []
        return ["ssh", "-p", str(self.ssh_port), *user, *self.ssh_options, "-o", "BatchMode=yes",
                "-o", "ControlMaster=no", "-o", "ControlPath=none", *extra_options, self.address, *remote]


HostParams = Mapping[str, Mapping[str, Any]]  # control id -> effective parameters for this host
ProbeFunction = Callable[[ProbeTarget, HostParams], Any]
PROBES: dict[str, ProbeFunction] = {}


def probe(name: str) -> Callable[[ProbeFunction], ProbeFunction]:
    def register(function: ProbeFunction) -> ProbeFunction:
        if name in PROBES:
            raise ValueError(f"probe {name!r} registered twice")
        PROBES[name] = function
        return function

    return register


def run_probes(target: ProbeTarget, names: Iterable[str], params: HostParams) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in sorted(set(names)):
        function = PROBES.get(name)
        if function is None:
            results[name] = {"error": f"unknown probe {name!r}"}
            continue
        try:
            results[name] = function(target, params)
        except Exception as exc:  # noqa: BLE001 - one broken probe must not cost the others
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


def split_ssh_args(text: str) -> tuple[str, ...]:
    """Ansible's ansible_ssh_common_args string as an argv fragment."""
    return tuple(shlex.split(text or ""))
