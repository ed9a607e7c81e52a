"""One sslyze Scanner for the TLS endpoints of the whole fleet (issue 16), instead of one per host.

Every host whose plan runs the `tls_scan` probe is expected here. A host joins the next scan once its SSH
banner came back (`ready`), or leaves it when it is silent (`withdraw`): a dead host's endpoints are never
scanned, so no healthy host waits for their timeouts. A scan starts as soon as every expected host has
either joined or left, or `window` seconds after the first host joined it (hosts that answer later, or start
later because of --concurrency, form the next scan). Each host gets exactly the tls_scan probe's result for
its own endpoints, so the checks judging it do not know the scan was shared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from checks.model import Params
from checks.probes import ProbeTarget, not_applicable_result
from checks.probes.tls import Endpoint, ca_file_for, endpoints_for, scan_fleet

PROBE = "tls_scan"
BATCH_WINDOW_SECONDS = 0.5

FleetScanner = Callable[[Mapping[str, Sequence[Endpoint]], str, int], dict[str, dict[str, Any]]]


def _scan_fleet(endpoints_by_host: Mapping[str, Sequence[Endpoint]], ca_file: str,
                max_concurrent_servers: int) -> dict[str, dict[str, Any]]:
    return scan_fleet(endpoints_by_host, ca_file, max_concurrent_servers=max_concurrent_servers)


class FleetTls:
    def __init__(self, hosts: Mapping[str, tuple[ProbeTarget, Params]], max_concurrent_servers: int,
                 window: float = BATCH_WINDOW_SECONDS, scanner: FleetScanner = _scan_fleet) -> None:
        self._max_servers = max_concurrent_servers
        self._window = window
        self._scanner = scanner
        self._results: dict[str, Future[dict[str, Any]]] = {host: Future() for host in hosts}
        self._plans: dict[str, tuple[list[Endpoint], str]] = {}
        for host, (target, params) in hosts.items():
            not_applicable = not_applicable_result(target)
            if not_applicable is not None:  # tls_endpoints: [] - nothing to scan, as the probe says
                self._results[host].set_result(not_applicable)
                continue
            try:
                self._plans[host] = (endpoints_for(target, params), ca_file_for(params))
            except Exception as exc:  # noqa: BLE001 - as the probe: a bad tls_endpoints is this host's ERROR
                self._results[host].set_result({"error": f"{type(exc).__name__}: {exc}"})
        self._expected = set(self._plans)
        self._joined: list[str] = []
        self._first_joined = 0.0
        self._changed = threading.Condition()
        self.scans = 0  # Scanner runs so far (the bench and the tests read it)
        self._thread = threading.Thread(target=self._run, name="fleet-tls", daemon=True)
        self._thread.start()

    def __contains__(self, host: str) -> bool:
        return host in self._results

    def ready(self, host: str) -> Future[dict[str, Any]]:
        """`host` answered: its endpoints join the next scan; the future holds its tls_scan result."""
        with self._changed:
            if host in self._expected:
                self._expected.discard(host)
                if not self._joined:
                    self._first_joined = time.monotonic()
                self._joined.append(host)
                self._changed.notify_all()
        return self._results[host]

    def withdraw(self, host: str) -> None:
        """`host` is silent (or needs no scan after all): never scanned."""
        with self._changed:
            if host in self._expected:
                self._expected.discard(host)
                self._changed.notify_all()
        future = self._results.get(host)
        if future is not None and not future.done():
            future.set_result({"error": "not scanned: the host did not answer"})

    def _next_batch(self) -> list[str]:
        with self._changed:
            while True:
                if self._joined and (not self._expected
                                     or time.monotonic() - self._first_joined >= self._window):
                    batch, self._joined = self._joined, []
                    return batch
                if not self._joined and not self._expected:
                    return []
                wait = self._window - (time.monotonic() - self._first_joined) if self._joined else None
                self._changed.wait(wait)

    def _run(self) -> None:
        while batch := self._next_batch():
            by_ca: dict[str, dict[str, list[Endpoint]]] = {}
            for host in batch:
                endpoints, ca_file = self._plans[host]
                by_ca.setdefault(ca_file, {})[host] = endpoints
            for ca_file, endpoints_by_host in by_ca.items():
                self.scans += 1
                try:
                    found = self._scanner(endpoints_by_host, ca_file, self._max_servers)
                except Exception as exc:  # noqa: BLE001 - never leave a host waiting on a crashed scan
                    found = {host: {"error": f"{type(exc).__name__}: {exc}"} for host in endpoints_by_host}
                for host in endpoints_by_host:
                    self._results[host].set_result(found.get(host) or {"error": "no result from the fleet scan"})
