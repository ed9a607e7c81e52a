"""Network behaviour from the controller (FW-01, SSH-02): which TCP ports answer, and whether a burst of new
SSH connections from this controller is cut off.

A port is `open` (handshake completed), `refused` (RST: reachable, nothing listening) or `filtered` (no
answer within the timeout: dropped by a firewall). The burst stops at the first dropped connection, so a
limited host sees only burst + 1 connection attempts and sshd's own per-source penalties (OpenSSH 10)
are not provoked by the probe.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from checks.model import Param, Params
from checks.probes import ProbeTarget, probe

CONNECT_TIMEOUT_SECONDS = 2.0
BURST_EXTRA_ATTEMPTS = 2


def port_number(value: Any) -> int | None:
    """A declared port as one number to probe: 22 -> 22, "8000-8010" -> 8000; None if unreadable."""
    text = str(value).split("-", 1)[0].strip()
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def connect(address: str, port: int, timeout: float = CONNECT_TIMEOUT_SECONDS) -> tuple[str, str | None]:
    """(state, local address): state is open, refused or filtered."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
        except TimeoutError:
            return "filtered", None
        except ConnectionRefusedError:
            return "refused", None
        except OSError as exc:  # host or network unreachable: an ICMP error, the firewall rejected it
            return f"unreachable ({exc.strerror or exc})", None
        return "open", str(sock.getsockname()[0])


def scan(address: str, ports: Iterable[int]) -> dict[int, tuple[str, str | None]]:
    wanted = sorted(set(ports))
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(wanted)))) as pool:
        return dict(zip(wanted, pool.map(lambda port: connect(address, port), wanted), strict=True))


@probe("fw_port_scan", params=(Param("FW-01", "allowed_tcp_ports"), Param("FW-01", "probe_closed_tcp_ports")))
def port_scan(target: ProbeTarget, params: Params) -> dict[str, Any]:
    """Every declared TCP port and every candidate that must stay closed, probed at once."""
    declared = {number for number in map(port_number, params["allowed_tcp_ports"]) if number}
    candidates = {number for number in map(port_number, params["probe_closed_tcp_ports"]) if number}
    results = scan(target.address, declared | candidates | {target.ssh_port})
    sources = {local for _, local in results.values() if local}
    return {
        "address": target.address,
        "ports": {str(port): state for port, (state, _) in sorted(results.items())},
        "declared": sorted(declared),
        "candidates": sorted(candidates - declared),
        # The controller's own address on the way to this host, as the host sees it (no NAT in between).
        "source": sorted(sources)[0] if sources else None,
        "timeout_seconds": CONNECT_TIMEOUT_SECONDS,
    }


# Trips the per-source SSH meter: the collector's and the login probes' connections would be dropped after it.
@probe("ssh_new_connection_burst", params=(Param("SSH-02", "probe_burst"), Param("SSH-02", "port"),
                                           Param("SSH-02", "burst")), trips_limiter=True)
def ssh_burst(target: ProbeTarget, params: Params) -> dict[str, Any]:
    """New TCP connections to the SSH port one after another, until one is dropped or burst + 2 are made."""
    if not params["probe_burst"]:
        return {"skipped": "probe_burst is false for this host"}
    port = int(params["port"])
    attempts = int(params["burst"]) + BURST_EXTRA_ATTEMPTS
    outcomes: list[str] = []
    source = None
    started = time.monotonic()
    for _ in range(attempts):
        state, local = connect(target.address, port)
        outcomes.append(state)
        source = source or local
        if state != "open":
            break
    return {
        "address": target.address, "port": port, "source": source, "attempts": len(outcomes),
        "max_attempts": attempts, "outcomes": outcomes, "accepted": outcomes.count("open"),
        "seconds": round(time.monotonic() - started, 2),
    }
