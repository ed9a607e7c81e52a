"""`tls_endpoints: []`: a host that declares it serves no TLS gets TLS-01..04 and WEB-01 SKIPPED, with the reason.

The probes are the real ones (no connection is allowed: any socket use fails the test), the plan is the
engine's own, and the findings come from stockade.engine.evaluate. An absent `tls_endpoints` keeps TLS-01's
`ports`; an empty scan that was not declared, and a declared endpoint that does not answer, stay ERROR.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from catalogue_params import host_defaults, probe_params_of

from checks.model import Status
from checks.probes import NO_TLS_DECLARED, ProbeTarget, run_probe
from checks.probes.tls import Endpoint, endpoints_for
from checks.registry import ALL_CHECKS
from checks.tls import evaluate_serves, judge, path_keys
from checks.web import evaluate_rate_limit
from stockade.engine.collect import Collection
from stockade.engine.declared import host_plan
from stockade.engine.evaluate import evaluate
from stockade.engine.fleet_tls import FleetTls

TLS_CONTROLS = ("TLS-01", "TLS-02", "TLS-03", "TLS-04", "WEB-01")
CHECKS = [check for check in ALL_CHECKS if check.control_id in TLS_CONTROLS]
NO_TLS = {"inventory_hostname": "db-01", "tls_endpoints": []}


class _Control:
    severity = "high"
    clauses = ("SYS-CRYPTO",)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a host that declares no TLS endpoint must not be connected to")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def _findings(variables: Mapping[str, Any]) -> dict[str, tuple[Status, str]]:
    plan = host_plan(CHECKS, host_defaults(), variables, "test")
    target = ProbeTarget("db-01", "198.18.63.250", variables=variables)
    results = {name: run_probe(target, name, params) for name, params in plan.probe_params.items()}
    collection = Collection("db-01", "198.18.63.250", "2026-12-07T00:00:00+00:00", {}, probe_results=results)
    controls = {control_id: _Control() for control_id in TLS_CONTROLS}
    return {finding.check_id: (finding.status, finding.message)
            for finding in evaluate(collection, CHECKS, controls, plan)}


def test_the_checks_under_test_are_every_tls_and_web_check() -> None:
    assert {check.control_id for check in CHECKS} == set(TLS_CONTROLS)
    assert {"tls_endpoint_serves", "tls_hsts", "http_redirects_to_https", "web_rate_limit_burst_429"} \
        <= {check.id for check in CHECKS}


def test_tls_endpoints_empty_skips_every_tls_and_web_check_without_connecting(no_network: None) -> None:
    findings = _findings(NO_TLS)
    assert set(findings) == {check.id for check in CHECKS}
    for check_id, (status, message) in findings.items():
        assert status is Status.SKIPPED, (check_id, message)
        assert message == NO_TLS_DECLARED == \
            "not applicable: the host declares no TLS endpoint (tls_endpoints: [])"


def test_web_01_over_plain_http_behind_a_tls_proxy_is_still_probed() -> None:
    target = ProbeTarget("db-01", "127.0.0.1", variables=NO_TLS)
    result = run_probe(target, "rate_limit_burst", probe_params_of("rate_limit_burst", scheme="http", port=9,
                                                                   steady_requests=1, burst_requests=1))
    assert "not_applicable" not in result
    assert evaluate_rate_limit({"rate_limit_burst": result}, {"allowance": 30}).status is Status.FAIL  # refused


def test_an_absent_tls_endpoints_keeps_tls_01_ports() -> None:
    target = ProbeTarget("web-01", "198.18.63.11", variables={"inventory_hostname": "web-01"})
    assert endpoints_for(target, {"ports": [443, 8443]}) == [Endpoint("198.18.63.11", 443, "web-01"),
                                                             Endpoint("198.18.63.11", 8443, "web-01")]
    assert endpoints_for(ProbeTarget("db-01", "198.18.63.12", variables=NO_TLS), {"ports": [443]}) == []


def _judged(results: Mapping[str, Any]) -> dict[str, tuple[Status, str]]:
    plan = host_plan(CHECKS, host_defaults(), {}, "test")
    collection = Collection("db-01", "198.18.63.250", "2026-12-07T00:00:00+00:00", {}, probe_results=dict(results))
    controls = {control_id: _Control() for control_id in TLS_CONTROLS}
    return {finding.check_id: (finding.status, finding.message)
            for finding in evaluate(collection, CHECKS, controls, plan)}


@pytest.mark.parametrize("result", [
    {"endpoints": []},  # nothing scanned, but nobody declared that: ERROR
    {"endpoints": [], "not_applicable": "something else"},
    {"endpoints": [{"endpoint": "x:443", "status": "timeout", "error": "timed out"}],
     "not_applicable": NO_TLS_DECLARED},
    {"error": "boom", "not_applicable": NO_TLS_DECLARED},
    {"not_applicable": True},
], ids=["empty-scan", "other-reason", "with-endpoints", "with-error", "not-the-reason"])
def test_only_the_probes_own_declaration_is_not_applicable(result: dict[str, Any]) -> None:
    findings = _judged({"tls_scan": result, "http_redirect": result, "rate_limit_burst": result})
    for check_id, (status, message) in findings.items():
        assert status in (Status.ERROR, Status.FAIL), (check_id, status, message)


def test_a_declared_endpoint_that_does_not_answer_stays_error() -> None:
    scan = {"endpoints": [{"endpoint": "198.18.63.11:443 (web-01)", "status": "timeout",
                           "error": "TimeoutError: timed out"}]}
    assert evaluate_serves({"tls_scan": scan}, {}).status is Status.ERROR
    assert judge({"tls_scan": scan}, {"min_rsa_bits": 2048}, path_keys, "ok").status is Status.ERROR


def test_the_fleet_scan_never_scans_a_host_that_declares_no_tls() -> None:
    calls: list[list[str]] = []

    def scanner(endpoints_by_host: Mapping[str, Sequence[Endpoint]], ca_file: str, servers: int) -> Any:
        calls.append(sorted(endpoints_by_host))
        return {host: {"endpoints": [{"port": e.port} for e in endpoints]}
                for host, endpoints in endpoints_by_host.items()}

    params = {"ports": [443], "ca_file": "/ca.crt"}
    fleet = FleetTls({"db-01": (ProbeTarget("db-01", "198.18.63.12", variables=NO_TLS), params),
                      "web-01": (ProbeTarget("web-01", "198.18.63.11"), params)}, 8, window=30, scanner=scanner)
    skipped = fleet.ready("db-01").result(timeout=10)
    assert skipped == {"endpoints": [], "not_applicable": NO_TLS_DECLARED}
    assert fleet.ready("web-01").result(timeout=10) == {"endpoints": [{"port": 443}]}
    assert calls == [["web-01"]]
    assert evaluate_serves({"tls_scan": skipped}, {}).status is Status.SKIPPED
