"""Probes run ON THE CONTROLLER and meet a host from outside, as a client would: a port scan, an SSH login,
a TLS handshake, a burst of requests. Their results join the host's facts under the probe's name, so
evaluators stay pure functions of facts. A probe that raises yields {"error": ...} for that probe only.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.model import Outcome, Param, Params, Status


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


# `tls_endpoints: []` declares that the host serves no TLS: TLS-01..04 and WEB-01 are not applicable there.
NO_TLS_DECLARED = "not applicable: the host declares no TLS endpoint (tls_endpoints: [])"


def declares_no_tls(target: ProbeTarget) -> bool:
    """The inventory says, in so many words, that the host serves no TLS (`tls_endpoints: []`). An absent
    `tls_endpoints` is not that: it means TLS-01 `ports`."""
    declared = target.variables.get("tls_endpoints")
    return isinstance(declared, list | tuple) and len(declared) == 0


def not_applicable_result(target: ProbeTarget) -> dict[str, Any] | None:
    """What the TLS and HTTP probes return, instead of connecting, for a host that declares no TLS."""
    return {"endpoints": [], "not_applicable": NO_TLS_DECLARED} if declares_no_tls(target) else None


def not_applicable_outcome(result: object) -> Outcome | None:
    """SKIPPED when the probe result is exactly `not_applicable_result`'s; None for anything else (an empty
    scan, an error), which the check judges as usual."""
    declared = isinstance(result, Mapping) and result.get("not_applicable") == NO_TLS_DECLARED \
        and not result.get("endpoints") and "error" not in result
    return Outcome(Status.SKIPPED, NO_TLS_DECLARED, {"tls_endpoints": []}) if declared else None


ProbeFunction = Callable[[ProbeTarget, Params], Any]

# Limiters on a host that a probe's burst trips, and that other connections then meet (dropped, or 429):
SSH_CONNECTION_RATE = "ssh-connection-rate"  # SSH-02's per-source meter on new connections to the SSH port
HTTP_RATE_LIMIT = "http-rate-limit"  # WEB-01's 429 buckets of the rate-limited paths
# The collector's own SSH session is a new connection to the SSH port too.
COLLECTOR_MEETS = (SSH_CONNECTION_RATE,)


@dataclass(frozen=True)
class Probe:
    name: str
    function: ProbeFunction
    params: tuple[Param, ...] = ()  # every parameter it reads, as params[param.key]
    # The limiter it trips on the host (a connection-rate meter, a 429 bucket), which would turn away the
    # connections that meet it: it runs after the collector and every probe that declares it in `meets`.
    trips: str | None = None
    meets: tuple[str, ...] = ()  # the limiters its own connections pass through

    @property
    def trips_limiter(self) -> bool:
        return self.trips is not None


PROBES: dict[str, Probe] = {}


def probe(name: str, params: tuple[Param, ...] = (), trips: str | None = None, meets: tuple[str, ...] = (),
          ) -> Callable[[ProbeFunction], ProbeFunction]:
    def register(function: ProbeFunction) -> ProbeFunction:
        if name in PROBES:
            raise ValueError(f"probe {name!r} registered twice")
        if trips and meets:  # it waits for its limiter's other users; waiting on another limiter could cycle
            raise ValueError(f"probe {name!r}: a probe that trips a limiter cannot also wait for another")
        PROBES[name] = Probe(name, function, params, trips, meets)
        return function

    return register


def run_probe(target: ProbeTarget, name: str, params: Params) -> Any:
    """One probe's result, or {"error": ...}: one broken probe never costs the others."""
    known = PROBES.get(name)
    if known is None:
        return {"error": f"unknown probe {name!r}"}
    try:
        return known.function(target, params)
    except Exception as exc:  # noqa: BLE001 - a probe's failure is its own ERROR, never the run's crash
        return {"error": f"{type(exc).__name__}: {exc}"}


def split_ssh_args(text: str) -> tuple[str, ...]:
    """Ansible's ansible_ssh_common_args string as an argv fragment."""
    return tuple(shlex.split(text or ""))
