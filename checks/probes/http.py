"""HTTP behaviour, from the controller: is plain HTTP redirected to HTTPS, and does a burst meet 429?

Rate limiting is proven by behaviour, not by nginx's configuration text: for each path that must be
limited, a slow steady series of requests first (it must never be refused), then a burst as fast as one
keep-alive connection goes (it must meet 429 within the allowance). Certificates are not verified here:
these probes judge rate limiting and redirects; the certificate has its own findings (checks/tls.py).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from checks.model import Param, Params
from checks.probes import HTTP_RATE_LIMIT, ProbeTarget, not_applicable_result, probe

TIMEOUT_SECONDS = 5.0
USER_AGENT = "stockade-probe/1"


def _server_name(target: ProbeTarget) -> str:
    return str(target.variables.get("inventory_hostname") or target.name)


def _unverified_context(server_name: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _Client:
    """One keep-alive connection that reconnects when the server closes it."""

    def __init__(self, scheme: str, address: str, port: int, server_name: str) -> None:
        self.scheme, self.address, self.port, self.server_name = scheme, address, port, server_name
        self.connection: http.client.HTTPConnection | None = None
        self.connections = 0

    def _connect(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            context = _unverified_context(self.server_name)
            connection: http.client.HTTPConnection = _SniHTTPSConnection(
                self.address, self.port, self.server_name, context)
        else:
            connection = http.client.HTTPConnection(self.address, self.port, timeout=TIMEOUT_SECONDS)
        self.connections += 1
        return connection

    def get(self, path: str) -> tuple[int, Mapping[str, str]]:
        for attempt in range(2):
            if self.connection is None:
                self.connection = self._connect()
            try:
                self.connection.request("GET", path, headers={"Host": self.server_name, "User-Agent": USER_AGENT})
                response = self.connection.getresponse()
                response.read()
                headers = {key.lower(): value for key, value in response.getheaders()}
                if response.will_close:
                    self.close()
                return response.status, headers
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class _SniHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address, with the server name as SNI (http.client would send the address)."""

    def __init__(self, address: str, port: int, server_name: str, context: ssl.SSLContext) -> None:
        super().__init__(address, port, timeout=TIMEOUT_SECONDS, context=context)
        self._server_name = server_name
        self._sni_context = context

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._sni_context.wrap_socket(sock, server_hostname=self._server_name)


def _failure(exc: BaseException) -> dict[str, Any]:
    """Refused is a fact about the host (nothing listens); anything else means we could not tell."""
    if isinstance(exc, ConnectionRefusedError):
        return {"connection": "refused", "detail": str(exc)}
    return {"error": f"{type(exc).__name__}: {exc}"}


# Meets no limiter: the port-80 redirect path is not one of the rate-limited ones.
@probe("http_redirect", params=(Param("TLS-02", "http_port"),))
def http_redirect(target: ProbeTarget, params: Params) -> dict[str, Any]:
    not_applicable = not_applicable_result(target)  # tls_endpoints: [] - no HTTPS to redirect to
    if not_applicable is not None:
        return not_applicable
    port = int(params["http_port"])
    server_name = _server_name(target)
    client = _Client("http", target.address, port, server_name)
    url = f"http://{server_name}:{port}/stockade-probe?x=1"
    try:
        status, headers = client.get("/stockade-probe?x=1")
    except OSError as exc:
        return {"url": url, **_failure(exc)}
    finally:
        client.close()
    return {"url": url, "status": status, "location": headers.get("location")}


def probe_path(scheme: str, address: str, port: int, server_name: str, path: str, burst: int,
               steady: int, steady_interval: float) -> dict[str, Any]:
    """Steady series first (the bucket is full), then the burst."""
    client = _Client(scheme, address, port, server_name)
    try:
        steady_statuses = []
        for index in range(steady):
            if index:
                time.sleep(steady_interval)
            steady_statuses.append(client.get(path)[0])
            client.close()  # a steady client: one request per connection, like a person logging in
        burst_statuses = [client.get(path)[0] for _ in range(burst)]
    except OSError as exc:
        return _failure(exc)
    finally:
        client.close()
    first_429 = next((i + 1 for i, status in enumerate(burst_statuses) if status == 429), None)
    return {
        "steady": {"requests": steady, "interval_seconds": steady_interval, "statuses": steady_statuses},
        "burst": {"requests": burst, "statuses": dict(sorted(Counter(map(str, burst_statuses)).items())),
                  "first_429_at_request": first_429, "connections": client.connections},
    }


# Empties the 429 bucket of the rate-limited paths: anything else sent there afterwards would meet 429. It
# waits for the TLS scan, which would slow the burst down (see tls_scan), not for the collector.
@probe("rate_limit_burst", params=tuple(Param("WEB-01", name) for name in (
    "rate_limited_paths", "port", "scheme", "burst_requests", "steady_requests", "steady_interval_ms")),
       trips=HTTP_RATE_LIMIT)
def rate_limit_burst(target: ProbeTarget, params: Params) -> dict[str, Any]:
    paths = [str(path) for path in params["rate_limited_paths"]]
    port = int(params["port"])
    scheme = str(params["scheme"])
    # tls_endpoints: [] - no HTTPS edge to limit; plain HTTP behind a TLS proxy (scheme http) is still probed.
    not_applicable = not_applicable_result(target) if scheme == "https" else None
    if not_applicable is not None:
        return not_applicable
    burst = int(params["burst_requests"])
    steady = int(params["steady_requests"])
    interval = int(params["steady_interval_ms"]) / 1000
    server_name = _server_name(target)
    with ThreadPoolExecutor(max_workers=max(1, len(paths))) as pool:
        outcomes = list(pool.map(lambda path: probe_path(scheme, target.address, port, server_name, path, burst,
                                                         steady, interval), paths))
    return {"base_url": f"{scheme}://{target.address}:{port} (Host {server_name})",
            "paths": dict(zip(paths, outcomes, strict=True))}
