"""TLS checks against real handshakes: local servers on 127.0.0.1 with one deliberate weakness each
(tests/tls_servers.py: round 1's and the corpus of issue 15, 27 flaws), scanned by sslyze through the
tls_scan probe in ONE scan; each is flagged by exactly the right checks with a message naming the flaw, and
the correct servers (RSA 2048/3072/4096, with an intermediate, TLS 1.3 only, DHE-2048) pass them all; the
legacy-version shortcut (one handshake offering every suite) finds exactly what sslyze's suite-by-suite scan
finds (round 1's servers). About 30 s (two scans)."""

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
from tls_servers import BAD_SERVERS, CORPUS_FLAWS, GOOD_SERVER, GOOD_SERVERS, RunningServer, ServerSpec, serve

from checks.model import Status
from checks.probes import ProbeTarget
from checks.probes.tls import Endpoint, scan_endpoints, tls_scan
from checks.tls import TLS_CHECKS
from stockade import cli
from stockade.report.json_report import validate_results

REPO = Path(__file__).resolve().parents[2]
CONTROLS = {control["id"]: control for control in
            yaml.safe_load((REPO / "checks/catalogue/controls.yml").read_text())["controls"]}


ROUND_1 = (GOOD_SERVER, *BAD_SERVERS)
CORRECT = GOOD_SERVERS
FLAWED = (*BAD_SERVERS, *CORPUS_FLAWS)
SPECS = {spec.name: spec for spec in (*CORRECT, *FLAWED)}


def defaults(control_id: str, ca_file: Path, spec: ServerSpec | None = None) -> dict[str, Any]:
    values = {name: spec["default"] for name, spec in CONTROLS[control_id]["parameters"].items()}
    values.update({name: value for control, name, value in (spec.params if spec else ()) if control == control_id})
    return {**values, "ca_file": str(ca_file)} if control_id == "TLS-03" else values


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[RunningServer],
                                                                          dict[str, dict[str, Any]]]]:
    """Every server of the corpus, correct and flawed, in one scan."""
    with serve(tuple(SPECS.values()), tmp_path_factory.mktemp("tls")) as (ca, servers):
        endpoints = scan_endpoints([Endpoint("127.0.0.1", s.port, "localhost") for s in servers], str(ca.ca_file))
        yield ca.ca_file, servers, {s.spec.name: e for s, e in zip(servers, endpoints, strict=True)}


@pytest.fixture(scope="module")
def scanned_suite_by_suite(scanned: Any) -> dict[str, dict[str, Any]]:
    """Round 1's servers scanned sslyze's way: every suite of every version alone (the shortcut's peer)."""
    ca_file, servers, _ = scanned
    servers = [server for server in servers if server.spec in ROUND_1]
    endpoints = scan_endpoints([Endpoint("127.0.0.1", s.port, "localhost") for s in servers], str(ca_file),
                               legacy_shortcut=False)
    return {s.spec.name: e for s, e in zip(servers, endpoints, strict=True)}


def not_passing(endpoint: dict[str, Any], ca_file: Path, spec: ServerSpec | None = None) -> dict[str, str]:
    facts = {"tls_scan": {"endpoints": [endpoint]}}
    outcomes = {check.id: check.evaluate(facts, defaults(check.control_id, ca_file, spec)) for check in TLS_CHECKS}
    return {check_id: f"{o.status.value}: {o.message}" for check_id, o in outcomes.items()
            if o.status is not Status.PASS}


@pytest.mark.parametrize("spec", CORRECT, ids=[spec.name for spec in CORRECT])
def test_each_correct_server_passes_every_check(scanned: Any, spec: ServerSpec) -> None:
    ca_file, _, endpoints = scanned
    assert not_passing(endpoints[spec.name], ca_file, spec) == {}


@pytest.mark.parametrize("spec", FLAWED, ids=[spec.name for spec in FLAWED])
def test_each_bad_server_is_caught_by_exactly_the_right_check(scanned: Any, spec: ServerSpec) -> None:
    ca_file, _, endpoints = scanned
    found = not_passing(endpoints[spec.name], ca_file, spec)
    assert set(found) == set(spec.expected), found
    assert all(message.startswith("fail: ") for message in found.values()), found
    assert spec.says in " ".join(found.values()), found


def test_the_corpus_has_at_least_25_distinct_flaws() -> None:
    assert len({spec.name for spec in FLAWED}) >= 25
    assert len({check for spec in FLAWED for check in spec.expected}) >= 9


def test_the_evidence_shows_the_built_path_and_the_validators_reason(scanned: Any) -> None:
    ca_file, _, endpoints = scanned
    facts = {"tls_scan": {"endpoints": [endpoints["good_with_intermediate"]]}}
    check = {check.id: check for check in TLS_CHECKS}
    outcome = check["tls_chain_trusted"].evaluate(facts, defaults("TLS-03", ca_file))
    [evidence] = outcome.observed.values()
    assert [cert["subject"] for cert in evidence["built_path"]] == [
        "CN=localhost", "CN=Stockade test intermediate good_with_intermediate", "CN=Stockade test CA"]
    assert {"issuer", "not_before", "not_after", "key_type", "key_bits", "signature_algorithm"} \
        <= set(evidence["built_path"][1])
    assert evidence["validator"] == "cryptography.x509.verification"
    expiry = check["tls_certificate_not_expiring"].evaluate(facts, defaults("TLS-03", ca_file))
    [evidence] = expiry.observed.values()
    assert evidence["earliest_expiry"]["subject"] == "CN=localhost"  # the leaf ends first here
    assert len(evidence["certificates"]) == 3  # anchor included
    signatures = check["tls_signature_sha256_rsa"].evaluate(facts, defaults("TLS-01", ca_file))
    [evidence] = signatures.observed.values()
    assert "accept_rsa_pss: false" in evidence["rsa_pss"]
    assert len(evidence["certificates"]) == 2  # leaf and intermediate; the anchor is not judged
    untrusted = check["tls_chain_trusted"].evaluate({"tls_scan": {"endpoints": [endpoints["untrusted_root"]]}},
                                                    defaults("TLS-03", ca_file))
    [evidence] = untrusted.observed.values()
    assert evidence["path_check"]["valid"] is False and "validation failed" in evidence["path_check"]["error"]


def test_the_evidence_shows_each_suites_key_exchange_and_the_groups(scanned: Any) -> None:
    _, _, endpoints = scanned
    dhe = endpoints["dhe_1024"]["protocols"]["TLS 1.2"]["key_exchange"]
    assert dhe == {"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": {"type": "DH", "bits": 1024}}
    good = endpoints["good"]
    assert {key["type"] for key in good["protocols"]["TLS 1.3"]["key_exchange"].values()} == {"ECDH"}
    assert "X25519" in good["groups"]["supported_curves"]
    assert endpoints["disallowed_curve"]["groups"]["supported_curves"] == ["secp521r1"]


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


@pytest.mark.parametrize("spec", ROUND_1, ids=[spec.name for spec in ROUND_1])
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


def test_stockade_tls_scans_many_targets_in_one_run(scanned: Any, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Arguments with per-target SNI plus a targets file: one scan, one report, one "host" per endpoint."""
    ca_file, servers, _ = scanned
    port = {server.spec.name: server.port for server in servers}
    targets = tmp_path / "targets.txt"
    targets.write_text(f"# fleet\n127.0.0.1:{port['wrong_san']} localhost\n\n"
                       f"127.0.0.1:{port['good_rsa2048']}=localhost\n")
    code = cli.main(["tls", f"127.0.0.1:{port['good']}=localhost", f"127.0.0.1:{port['rsa_kex_only']}",
                     "--sni", "localhost", "--targets", str(targets), "--ca-file", str(ca_file),
                     "--concurrency", "2", "-o", str(tmp_path / "out"), "--format", "json"])
    assert code == 1
    capsys.readouterr()
    [run_dir] = (tmp_path / "out").iterdir()
    document = json.loads((run_dir / "results.json").read_text())
    validate_results(document)
    failed = {(f["host"], f["check_id"]) for f in document["findings"] if f["status"] != "pass"}
    assert failed == {(f"127.0.0.1:{port['rsa_kex_only']} (localhost)", "tls_forward_secret_key_exchange"),
                      (f"127.0.0.1:{port['wrong_san']} (localhost)", "tls_hostname_matches")}
    assert len(document["metadata"]["hosts"]) == 4


@pytest.mark.parametrize(("text", "expected"), [
    ("example.org:443=www.example.org", ("example.org", 443, "www.example.org")),
    ("198.18.5.11:8443", ("198.18.5.11", 8443, "198.18.5.11")),
    ("[2001:db8::1]:443=api.example.org", ("2001:db8::1", 443, "api.example.org")),
])
def test_target_argument_with_sni(text: str, expected: tuple[str, int, str]) -> None:
    from stockade.tls_command import parse_target

    assert parse_target(text) == expected


def test_targets_file_errors_name_the_line(tmp_path: Path) -> None:
    from stockade.errors import UsageError
    from stockade.tls_command import read_targets

    path = tmp_path / "targets"
    path.write_text("ok.example:443\nbad:port:1\n")
    with pytest.raises(UsageError, match=r"targets:2"):
        read_targets(path)
    with pytest.raises(UsageError, match=r"(?i)no such file"):
        read_targets(tmp_path / "missing")


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
