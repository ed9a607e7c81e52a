"""Issue 16's scheduling, as logic: the declared limiter order, the fleet's one TLS scan, the all-at-once port
scan. Timings are measured by bench/fleet.py, never asserted here."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from checks.probes import COLLECTOR_MEETS, PROBES, SSH_CONNECTION_RATE, ProbeTarget, probe
from checks.probes.network import connect_all, scan
from checks.probes.tls import Endpoint
from stockade.engine.audit import COLLECTOR, _prerequisites
from stockade.engine.declared import HostPlan
from stockade.engine.fleet_tls import FleetTls


def plan(*probes: str, facts: bool = True) -> HostPlan:
    return HostPlan(check_params={}, check_facts={"c": {"sshd_effective": "sshd_effective"}} if facts else {},
                    probe_params={name: {} for name in probes})


def test_a_limiter_probe_waits_for_exactly_the_connections_that_meet_its_limiter() -> None:
    waits = _prerequisites(plan("fw_port_scan", "mfa_login", "ssh_wire", "tls_scan", "http_redirect",
                                "ssh_new_connection_burst", "rate_limit_burst"))
    assert SSH_CONNECTION_RATE in COLLECTOR_MEETS
    assert set(waits["ssh_new_connection_burst"]) == {COLLECTOR, "fw_port_scan", "mfa_login", "ssh_wire"}
    assert waits["rate_limit_burst"] == ("tls_scan",)  # the scan would slow the burst down; the collector not
    assert all(waits[name] == () for name in ("fw_port_scan", "mfa_login", "ssh_wire", "tls_scan", "http_redirect"))


def test_without_host_facts_the_burst_waits_for_no_collector() -> None:
    assert _prerequisites(plan("ssh_wire", "ssh_new_connection_burst", facts=False)) == {
        "ssh_wire": (), "ssh_new_connection_burst": ("ssh_wire",)}


def test_a_probe_cannot_both_trip_a_limiter_and_wait_for_another() -> None:
    with pytest.raises(ValueError, match="cannot also wait"):
        probe("test_cycle", trips="a", meets=("b",))(lambda target, params: None)
    assert "test_cycle" not in PROBES


def target(name: str, port: int = 443) -> tuple[ProbeTarget, dict[str, Any]]:
    return ProbeTarget(name, f"198.18.53.{len(name)}", variables={"inventory_hostname": name}), \
        {"ports": [port], "ca_file": "/ca.crt"}


class FakeScanner:
    """Records each fleet scan's hosts; answers one endpoint list per host."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, endpoints_by_host: Mapping[str, Sequence[Endpoint]], ca_file: str,
                 servers: int) -> dict[str, dict[str, Any]]:
        self.calls.append(sorted(endpoints_by_host))
        return {host: {"endpoints": [{"port": e.port, "ca": ca_file} for e in endpoints]}
                for host, endpoints in endpoints_by_host.items()}


def test_every_answering_host_is_scanned_in_one_scan_and_the_silent_one_never() -> None:
    scanner = FakeScanner()
    fleet = FleetTls({name: target(name) for name in ("web-1", "web-2", "dead")}, 8, window=30, scanner=scanner)
    first = fleet.ready("web-1")
    second = fleet.ready("web-2")
    fleet.withdraw("dead")  # the last one reported: the scan starts without waiting for the window
    assert first.result(timeout=10) == {"endpoints": [{"port": 443, "ca": "/ca.crt"}]}
    assert second.result(timeout=10)["endpoints"][0]["port"] == 443
    assert scanner.calls == [["web-1", "web-2"]]
    assert fleet.scans == 1


def test_a_late_host_gets_a_scan_of_its_own_after_the_window() -> None:
    scanner = FakeScanner()
    fleet = FleetTls({name: target(name) for name in ("web-1", "late")}, 8, window=0.05, scanner=scanner)
    assert "endpoints" in fleet.ready("web-1").result(timeout=10)  # the window passed: scanned without "late"
    assert "endpoints" in fleet.ready("late").result(timeout=10)
    assert scanner.calls == [["web-1"], ["late"]]


def test_a_bad_endpoint_declaration_and_a_crashed_scan_are_that_host_s_errors() -> None:
    def crash(endpoints_by_host: Mapping[str, Sequence[Endpoint]], ca_file: str, servers: int) -> Any:
        raise RuntimeError("scanner died")

    bad = ProbeTarget("bad", "198.18.53.9", variables={"tls_endpoints": "443"})
    fleet = FleetTls({"bad": (bad, {"ports": [443], "ca_file": ""}), "web-1": target("web-1")}, 8, window=30,
                     scanner=crash)
    assert "tls_endpoints must be a list" in fleet.ready("bad").result(timeout=10)["error"]
    assert fleet.ready("web-1").result(timeout=10) == {"error": "RuntimeError: scanner died"}


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_all_ports_at_once_open_refused_and_the_local_address(listener: int) -> None:
    refused = closed_port()
    results = connect_all("127.0.0.1", [listener, refused], deadline=5)
    assert results == {listener: ("open", "127.0.0.1"), refused: ("refused", None)}
    assert list(results) == sorted(results)


def test_a_silent_port_is_filtered_and_a_declared_one_is_asked_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[list[int], float]] = []

    def silent(address: str, ports: Any, deadline: float) -> dict[int, tuple[str, str | None]]:
        asked.append((sorted(ports), deadline))
        return {port: ("filtered", None) for port in ports}

    monkeypatch.setattr("checks.probes.network.connect_all", silent)
    assert scan("198.18.53.7", [22, 3306], second_chance=[22]) == {22: ("filtered", None),
                                                                   3306: ("filtered", None)}
    assert asked == [([22, 3306], 1.0), ([22], 2.0)]
