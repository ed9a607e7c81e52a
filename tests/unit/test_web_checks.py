"""WEB-01 (burst meets 429, a steady rate does not) and TLS-02's HTTP redirect: evaluators on samples from a
lab host, and the probes against small local HTTP servers."""

from __future__ import annotations

import copy
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from catalogue_params import params_of

from checks.model import MissingFact, Status
from checks.probes import ProbeTarget
from checks.probes.http import http_redirect, probe_path
from checks.web import evaluate_rate_limit, evaluate_redirect

# roles/web_edge defaults (login 1r/s burst 5, api 10r/s burst 20) on Debian 13, from the controller.
LAB_BURST: dict[str, Any] = {
    "base_url": "https://198.18.5.11:443 (Host lab-01)",
    "paths": {
        "/login": {"steady": {"requests": 3, "interval_seconds": 1.5, "statuses": [200, 200, 200]},
                   "burst": {"requests": 50, "statuses": {"200": 5, "429": 45}, "first_429_at_request": 6,
                             "connections": 4}},
        "/api/": {"steady": {"requests": 3, "interval_seconds": 1.5, "statuses": [200, 200, 200]},
                  "burst": {"requests": 50, "statuses": {"200": 20, "429": 30}, "first_429_at_request": 21,
                            "connections": 4}},
    },
}

RATE = params_of(evaluate_rate_limit)


def rate(sample: dict[str, Any], **params: Any) -> tuple[Status, str]:
    outcome = evaluate_rate_limit({"rate_limit_burst": sample}, {"allowance": 30, **params})
    return outcome.status, outcome.message


def test_lab_sample_passes() -> None:
    status, message = rate(LAB_BURST)
    assert status is Status.PASS
    assert "/login 429 at request 6" in message


def test_no_429_in_the_burst_fails() -> None:
    sample = copy.deepcopy(LAB_BURST)
    sample["paths"]["/api/"]["burst"].update(statuses={"200": 50}, first_429_at_request=None)
    status, message = rate(sample)
    assert status is Status.FAIL and "/api/: a burst of 50 requests never met 429" in message


def test_429_after_the_allowance_fails() -> None:
    status, message = rate(LAB_BURST, allowance=10)
    assert status is Status.FAIL and "/api/: the first 429 came at request 21" in message
    assert "/login" not in message


def test_429_at_a_steady_rate_fails() -> None:
    sample = copy.deepcopy(LAB_BURST)
    sample["paths"]["/login"]["steady"]["statuses"] = [200, 429, 429]
    status, message = rate(sample)
    assert status is Status.FAIL and "a slow steady rate" in message


def test_connection_refused_fails_and_other_errors_are_error() -> None:
    sample = {"base_url": "x", "paths": {"/login": {"connection": "refused", "detail": "[Errno 111]"}}}
    assert rate(sample)[0] is Status.FAIL
    sample = {"base_url": "x", "paths": {"/login": {"error": "TimeoutError: timed out"}}}
    assert rate(sample)[0] is Status.ERROR
    with pytest.raises(MissingFact):
        evaluate_rate_limit({"rate_limit_burst": {"error": "boom"}}, RATE)
    with pytest.raises(MissingFact):
        evaluate_rate_limit({"rate_limit_burst": {"base_url": "x", "paths": {}}}, RATE)


@pytest.mark.parametrize(("result", "status"), [
    ({"url": "http://lab-01:80/", "status": 301, "location": "https://lab-01/stockade-probe?x=1"}, Status.PASS),
    ({"url": "http://lab-01:80/", "status": 308, "location": "https://lab-01/"}, Status.PASS),
    ({"url": "http://lab-01:80/", "status": 200, "location": None}, Status.FAIL),
    ({"url": "http://lab-01:80/", "status": 301, "location": "http://lab-01/"}, Status.FAIL),
    ({"url": "http://lab-01:80/", "connection": "refused", "detail": "[Errno 111]"}, Status.FAIL),
])
def test_redirect(result: dict[str, Any], status: Status) -> None:
    assert evaluate_redirect({"http_redirect": result}, {}).status is status


class Bucket:
    """A token bucket per server, like nginx's limit_req with nodelay: `burst` at once, then `per_second`."""

    def __init__(self, burst: int, per_second: float) -> None:
        self.burst, self.per_second = burst, per_second
        self.tokens, self.last = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.per_second)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@pytest.fixture
def limited_server() -> Iterator[int]:
    bucket = Bucket(burst=4, per_second=2.0)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path.startswith("/open"):
                status = 200
            elif self.path.startswith("/stockade-probe"):  # what http_redirect asks for
                self.send_response(301)
                self.send_header("Location", "https://localhost/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            else:
                status = 200 if bucket.take() else 429
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_probe_meets_429_on_a_limited_path(limited_server: int) -> None:
    result = probe_path("http", "127.0.0.1", limited_server, "localhost", "/login", burst=20, steady=2,
                        steady_interval=0.6)
    assert result["steady"]["statuses"] == [200, 200]
    assert result["burst"]["first_429_at_request"] is not None
    assert result["burst"]["first_429_at_request"] <= 6
    assert evaluate_rate_limit({"rate_limit_burst": {"base_url": "x", "paths": {"/login": result}}},
                               {"allowance": 10}).status is Status.PASS


def test_probe_finds_no_429_on_an_open_path(limited_server: int) -> None:
    result = probe_path("http", "127.0.0.1", limited_server, "localhost", "/open", burst=20, steady=1,
                        steady_interval=0)
    assert result["burst"]["statuses"] == {"200": 20}
    assert evaluate_rate_limit({"rate_limit_burst": {"base_url": "x", "paths": {"/open": result}}},
                               RATE).status is Status.FAIL


def test_probe_reports_refused_connections() -> None:
    result = probe_path("http", "127.0.0.1", 9, "localhost", "/login", burst=5, steady=1, steady_interval=0)
    assert result["connection"] == "refused"


def test_redirect_probe(limited_server: int) -> None:
    target = ProbeTarget(name="local", address="127.0.0.1", variables={"inventory_hostname": "localhost"})
    closed = http_redirect(target, {"http_port": 9})
    assert closed["connection"] == "refused"
    assert evaluate_redirect({"http_redirect": closed}, {}).status is Status.FAIL
    redirected = http_redirect(target, {"http_port": limited_server})
    assert (redirected["status"], redirected["location"]) == (301, "https://localhost/")
    assert evaluate_redirect({"http_redirect": redirected}, {}).status is Status.PASS
