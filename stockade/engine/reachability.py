"""Is anybody there? One TCP connection to the host's SSH port, read up to its banner, before anything else.

A host whose SSH does not answer within the connect timeout costs that timeout and nothing more: all its
checks are ERROR with the reason at once, and no probe is left to time out against it. The banner is also the
run's positive control: a probe's "nothing answered" can only mean "closed" on a host that answered this.
"""

from __future__ import annotations

import socket
import time

from stockade.engine.targets import Target

DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
_NETWORK_BACKENDS = {"ssh", "paramiko", "ansible"}


def ssh_silence(target: Target, timeout: float) -> str | None:
    """Why the host's SSH did not answer within `timeout`, or None when it sent its banner."""
    if getattr(target.host.backend, "NAME", "") not in _NETWORK_BACKENDS:
        return None  # local:// and the like: nothing to reach
    probe = target.probe_target()
    where = f"SSH at {probe.address}:{probe.ssh_port}"
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((probe.address, probe.ssh_port), timeout=timeout) as connection:
            connection.settimeout(max(0.1, deadline - time.monotonic()))
            banner = connection.recv(256)
    except TimeoutError:
        return f"unreachable: {where} did not answer within {timeout:g}s (--connect-timeout)"
    except OSError as exc:
        return f"unreachable: {where}: {exc.strerror or exc}"
    if not banner.startswith(b"SSH-"):
        return f"unreachable: {where} answered without an SSH banner ({banner[:40]!r})"
    return None
