"""Network behaviour from the controller (FW-01, SSH-02): which TCP ports answer, and whether a burst of new
SSH connections from this controller is cut off.

A port is `open` (handshake completed), `refused` (RST: reachable, nothing listening) or `filtered` (no
answer within the deadline: dropped by a firewall). Every port of a scan is connected at once (non-blocking
sockets, one selector), so a scan costs one per-port deadline however many ports it covers; a declared port
that stays silent that long is asked once more with the long timeout before it is called filtered, so a slow
answer is never mistaken for a drop where a drop would be a FAIL. The burst stops at the first dropped
connection, so a limited host sees only burst + 1 connection attempts and sshd's own per-source penalties
(OpenSSH 10) are not provoked by the probe.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import time
from collections.abc import Iterable
from typing import Any

from checks.model import Param, Params
from checks.probes import SSH_CONNECTION_RATE, ProbeTarget, probe

CONNECT_TIMEOUT_SECONDS = 2.0  # a declared port's second chance, and each burst connection's
# A SYN-ACK on the way back from a server comes in milliseconds; a port silent this long is dropped (the
# kernel retransmits an unanswered SYN only after 1 s, so within this deadline the port is asked once).
PORT_DEADLINE_SECONDS = 1.0
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


def _refusal(code: int) -> str:
    if code == errno.ECONNREFUSED:
        return "refused"
    return f"unreachable ({os.strerror(code)})"  # host or network unreachable: an ICMP error, a reject


def connect_all(address: str, ports: Iterable[int], deadline: float) -> dict[int, tuple[str, str | None]]:
    """Every port's (state, local address), all connected at once: a scan costs one `deadline`."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    results: dict[int, tuple[str, str | None]] = {}
    pending: dict[int, socket.socket] = {}
    with selectors.DefaultSelector() as selector:
        try:
            for port in sorted(set(ports)):
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setblocking(False)
                code = sock.connect_ex((address, port))
                if code in (0, errno.EINPROGRESS):
                    pending[port] = sock
                    selector.register(sock, selectors.EVENT_WRITE, port)
                else:
                    sock.close()
                    results[port] = (_refusal(code), None)
            ends = time.monotonic() + deadline
            while pending and (remaining := ends - time.monotonic()) > 0:
                for key, _ in selector.select(remaining):
                    port = key.data
                    sock = pending.pop(port)
                    selector.unregister(sock)
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    results[port] = ("open", str(sock.getsockname()[0])) if code == 0 else (_refusal(code), None)
                    sock.close()
            results.update({port: ("filtered", None) for port in pending})
        finally:
            for sock in pending.values():
                sock.close()
    return dict(sorted(results.items()))


def scan(address: str, ports: Iterable[int], second_chance: Iterable[int] = ()
         ) -> dict[int, tuple[str, str | None]]:
    """All `ports` at once under PORT_DEADLINE_SECONDS; those of `second_chance` that were filtered are
    asked again, at once, under CONNECT_TIMEOUT_SECONDS."""
    results = connect_all(address, ports, PORT_DEADLINE_SECONDS)
    again = [port for port in second_chance if results.get(port, ("",))[0] == "filtered"]
    if again:
        results.update(connect_all(address, again, CONNECT_TIMEOUT_SECONDS))
    return results


@probe("fw_port_scan", params=(Param("FW-01", "allowed_tcp_ports"), Param("FW-01", "probe_closed_tcp_ports")),
       meets=(SSH_CONNECTION_RATE,))  # one new connection to the SSH port
def port_scan(target: ProbeTarget, params: Params) -> dict[str, Any]:
    """Every declared TCP port and every candidate that must stay closed, probed at once."""
    declared = {number for number in map(port_number, params["allowed_tcp_ports"]) if number}
    candidates = {number for number in map(port_number, params["probe_closed_tcp_ports"]) if number}
    results = scan(target.address, declared | candidates | {target.ssh_port}, declared | {target.ssh_port})
    sources = {local for _, local in results.values() if local}
    return {
        "address": target.address,
        "ports": {str(port): state for port, (state, _) in sorted(results.items())},
        "declared": sorted(declared),
        "candidates": sorted(candidates - declared),
        # The controller's own address on the way to this host, as the host sees it (no NAT in between).
        "source": sorted(sources)[0] if sources else None,
        "timeout_seconds": CONNECT_TIMEOUT_SECONDS,  # a declared port's; an undeclared one's is the deadline
        "deadline_seconds": PORT_DEADLINE_SECONDS,
    }


# Trips the per-source SSH meter: the collector's and the login probes' connections would be dropped after it.
@probe("ssh_new_connection_burst", params=(Param("SSH-02", "probe_burst"), Param("SSH-02", "port"),
                                           Param("SSH-02", "burst")), trips=SSH_CONNECTION_RATE)
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
