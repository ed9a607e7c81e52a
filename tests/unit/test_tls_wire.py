"""TLS checks against real handshakes: local servers on 127.0.0.1 with one deliberate weakness each
(tests/tls_servers.py), scanned by sslyze through the tls_scan probe; each is flagged by exactly the
right check and nothing else, and a good server passes them all; the legacy-version shortcut (one handshake
offering every suite) finds exactly what sslyze's suite-by-suite scan finds. About 15 s (two concurrent scans)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from catalogue_params import probe_params_of
from tls_servers import BAD_SERVERS, GOOD_SERVER, RunningServer, ServerSpec, serve

from checks.model import Status
from checks.probes import ProbeTarget
from checks.probes.tls import Endpoint, scan_endpoints, tls_scan
from checks.tls import TLS_CHECKS
from stockade import cli
from stockade.report.json_report import validate_results

REPO = Path(__file__).resolve().parents[2]
CONTROLS = {control["id"]: control for control in
            yaml.safe_load((REPO / "checks/catalogue/controls.yml").read_text())["controls"]}


def defaults(control_id: str, ca_file: Path) -> dict[str, Any]:
    values = {name: spec["default"] for name, spec in CONTROLS[control_id]["parameters"].items()}
    return {**values, "ca_file": str(ca_file)} if control_id == "TLS-03" else values


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[RunningServer],
                                                                          dict[str, dict[str, Any]]]]:
    with serve((GOOD_SERVER, *BAD_SERVERS), tmp_path_factory.mktemp("tls")) as (ca, servers):
        endpoints = scan_endpoints([Endpoint("127.0.0.1", s.port, "localhost") for s in servers], str(ca.ca_file))
        yield ca.ca_file, servers, {s.spec.name: e for s, e in zip(servers, endpoints, strict=True)}


@pytest.fixture(scope="module")
def scanned_suite_by_suite(scanned: Any) -> dict[str, dict[str, Any]]:
    """The same servers scanned sslyze's way: every suite of every version alone (the shortcut's peer)."""
    ca_file, servers, _ = scanned
    endpoints = scan_endpoints([Endpoint("127.0.0.1", s.port, "localhost") for s in servers], str(ca_file),
                               legacy_shortcut=False)
    return {s.spec.name: e for s, e in zip(servers, endpoints, strict=True)}


def not_passing(endpoint: dict[str, Any], ca_file: Path) -> dict[str, str]:
    facts = {"tls_scan": {"endpoints": [endpoint]}}
    outcomes = {check.id: check.evaluate(facts, defaults(check.control_id, ca_file)) for check in TLS_CHECKS}
    return {check_id: f"{o.status.value}: {o.message}" for check_id, o in outcomes.items()
            if o.status is not Status.PASS}


def test_the_good_server_passes_every_check(scanned: Any) -> None:
    ca_file, _, endpoints = scanned
    assert not_passing(endpoints["good"], ca_file) == {}


@pytest.mark.parametrize("spec", BAD_SERVERS, ids=[spec.name for spec in BAD_SERVERS])
def test_each_bad_server_is_caught_by_exactly_the_right_check(scanned: Any, spec: ServerSpec) -> None:
    ca_file, _, endpoints = scanned
    found = not_passing(endpoints[spec.name], ca_file)
    assert set(found) == set(spec.expected), found
    assert all(message.startswith("fail: ") for message in found.values()), found


def test_evidence_names_what_was_negotiated(scanned: Any) -> None:
    _, _, endpoints = scanned
    assert endpoints["tls10"]["protocols"]["TLS 1.0"]["supported"] is True
    assert endpoints["tls10"]["protocols"]["TLS 1.2"]["supported"] is False
    assert any("NULL" in suite for suite in endpoints["null_suites"]["protocols"]["TLS 1.2"]["accepted_suites"])
    assert endpoints["anon_suites"]["protocols"]["TLS 1.2"]["anonymous_suites"]
    leaf = endpoints["sha1_signed"]["certificate"]["chain"][0]
    assert (leaf["signature_algorithm"], leaf["signature_hash"]) == ("sha1WithRSAEncryption", "sha1")
    assert endpoints["rsa1024"]["certificate"]["chain"][0]["key_bits"] == 1024
    assert endpoints["no_hsts"]["hsts"]["present"] is False


def suites(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {version: (part["supported"], part["accepted_suites"], part["anonymous_suites"])
            for version, part in endpoint["protocols"].items()}


@pytest.mark.parametrize("spec", (GOOD_SERVER, *BAD_SERVERS), ids=["good", *(s.name for s in BAD_SERVERS)])
def test_the_legacy_shortcut_finds_what_the_suite_by_suite_scan_finds(scanned: Any, scanned_suite_by_suite: Any,
                                                                      spec: ServerSpec) -> None:
    ca_file, _, endpoints = scanned
    fast, full = endpoints[spec.name], scanned_suite_by_suite[spec.name]
    assert suites(fast) == suites(full)
    assert not_passing(fast, ca_file) == not_passing(full, ca_file)
    assert all(part["method"].startswith("each suite alone") for part in full["protocols"].values())


def test_only_a_version_not_refused_outright_is_scanned_suite_by_suite(scanned: Any) -> None:
    _, _, endpoints = scanned
    methods = {name: {version: part["method"].split(" (")[0].split(":")[0]
                      for version, part in endpoints[name]["protocols"].items()} for name in ("good", "tls10")}
    one, each = "one handshake offering every suite", "each suite alone"
    assert methods["good"] == {"SSL 2.0": each, "SSL 3.0": one, "TLS 1.0": one, "TLS 1.1": one,
                               "TLS 1.2": each, "TLS 1.3": each}
    assert methods["tls10"] == {**methods["good"], "TLS 1.0": each}  # accepted: its suites listed one by one
    assert endpoints["tls10"]["protocols"]["TLS 1.0"]["accepted_suites"]


def test_a_closed_port_is_refused_not_scanned() -> None:
    target = ProbeTarget(name="closed", address="127.0.0.1", variables={
        "inventory_hostname": "localhost", "tls_endpoints": [{"port": 9, "sni": "localhost"}]})
    [endpoint] = tls_scan(target, probe_params_of("tls_scan"))["endpoints"]
    assert endpoint["status"] == "refused"
    assert endpoint["endpoint"] == "127.0.0.1:9 (localhost)"


def test_stockade_tls_prints_findings_and_writes_results(scanned: Any, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    ca_file, servers, _ = scanned
    port = next(server.port for server in servers if server.spec.name == "no_hsts")
    code = cli.main(["tls", f"127.0.0.1:{port}", "--sni", "localhost", "--ca-file", str(ca_file),
                     "-o", str(tmp_path), "--format", "json"])
    assert code == 1
    printed = capsys.readouterr().out
    assert "FAIL" in printed and "Strict-Transport-Security" in printed
    [run_dir] = tmp_path.iterdir()
    document = json.loads((run_dir / "results.json").read_text())
    validate_results(document)
    statuses = {f["check_id"]: f["status"] for f in document["findings"]}
    assert statuses.pop("tls_hsts") == "fail"
    assert set(statuses.values()) == {"pass"}
    assert document["findings"][0]["host"] == f"127.0.0.1:{port}"


@pytest.mark.parametrize(("text", "expected"), [
    ("example.org:8443", ("example.org", 8443)), ("example.org", ("example.org", 443)),
    ("[2001:db8::1]:443", ("2001:db8::1", 443)), ("198.18.5.11:443", ("198.18.5.11", 443)),
])
def test_endpoint_argument(text: str, expected: tuple[str, int]) -> None:
    from stockade.tls_command import parse_endpoint

    assert parse_endpoint(text) == expected


@pytest.mark.parametrize("text", ["example.org:0", "example.org:70000", "a:b:c", "host:port"])
def test_bad_endpoint_argument_is_usage_error(text: str) -> None:
    from stockade.errors import UsageError
    from stockade.tls_command import parse_endpoint

    with pytest.raises(UsageError):
        parse_endpoint(text)
