"""TLS-01..04 evaluators: pure functions of the tls_scan probe's data (sample from a real lab host)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from checks.model import MissingFact, Status
from checks.probes.tls import refusal, validate
from checks.tls import TLS_CHECKS, weakness

# roles/web_edge on Debian 13 (nginx 1.26.3), scanned from the controller by checks/probes/tls.py. The leaf
# dict is one object in the received chain and in the validator's built paths (deepcopy keeps it shared), so
# a mutation of the leaf reaches every view of it.
LEAF: dict[str, Any] = {'common_names': ['lab-01'],
                        'issuer': 'CN=Stockade internal CA',
                        'key_bits': 3072,
                        'key_type': 'RSA',
                        'not_after': '2027-12-31T07:17:53+00:00',
                        'not_before': '2026-11-29T07:17:53+00:00',
                        'self_issued': False,
                        'serial': '2e8af1798906afe69c1ef3e1d7904476ad91b8c3',
                        'signature_algorithm': 'sha256WithRSAEncryption',
                        'signature_algorithm_oid': '1.2.840.113549.1.1.11',
                        'signature_hash': 'sha256',
                        'subject': 'CN=lab-01',
                        'subject_alt_names': {'dns': ['lab-01'], 'ip': ['198.18.5.11']}}
CA: dict[str, Any] = {**LEAF, 'common_names': ['Stockade internal CA'], 'subject': 'CN=Stockade internal CA',
                      'not_before': '2026-11-29T07:17:50+00:00', 'not_after': '2036-11-27T07:17:50+00:00',
                      'self_issued': True, 'serial': '51', 'subject_alt_names': {'dns': [], 'ip': []}}
BUILT = {'valid': True, 'path': [LEAF, CA], 'at': '2026-11-29T07:21:33+00:00'}
ECDH = {'type': 'ECDH', 'curve': 'X25519', 'bits': 253}
WEB_EDGE_TRIXIE: dict[str, Any] = \
{'address': '198.18.5.11',
     'ca_file': 'web_edge_ca/ca.crt',
     'ccs_injection': {'vulnerable': False},
     'certificate': {'chain': [LEAF],
                     'ocsp_stapled': False,
                     'sslyze_path_validation': [{'error': 'validation failed: candidates exhausted: all '
                                                          'candidates exhausted with no interior errors',
                                                 'trust_store': 'Windows',
                                                 'valid': False}],
                     'validation': {'ca_file': 'web_edge_ca/ca.crt', 'client': BUILT, 'path': BUILT,
                                    'name': {'valid': True, 'at': '2026-11-29T07:21:33+00:00'}}},
     'compression': {'supported': False},
     'endpoint': '198.18.5.11:443 (lab-01)',
     'groups': {'supports_ecdh': True, 'supported_curves': ['X25519', 'X448', 'secp256r1', 'secp384r1', 'secp521r1'],
                'method': "sslyze's supported groups scan"},
     'heartbleed': {'vulnerable': False},
     'hsts': {'include_subdomains': False, 'max_age': 31536000, 'path': '/', 'present': True},
     'port': 443,
     'protocols': {'SSL 2.0': {'accepted_suites': [], 'anonymous_suites': [], 'supported': False},
                   'SSL 3.0': {'accepted_suites': [], 'anonymous_suites': [], 'supported': False},
                   'TLS 1.0': {'accepted_suites': [], 'anonymous_suites': [], 'supported': False},
                   'TLS 1.1': {'accepted_suites': [], 'anonymous_suites': [], 'supported': False},
                   'TLS 1.2': {'accepted_suites': ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
                                                   'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
                                                   'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
                               'anonymous_suites': [],
                               'key_exchange': {'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256': ECDH,
                                                'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384': ECDH,
                                                'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256': ECDH},
                               'supported': True},
                   'TLS 1.3': {'accepted_suites': ['TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_256_GCM_SHA384',
                                                   'TLS_AES_128_GCM_SHA256'],
                               'anonymous_suites': [],
                               'key_exchange': {'TLS_CHACHA20_POLY1305_SHA256': ECDH, 'TLS_AES_256_GCM_SHA384': ECDH,
                                                'TLS_AES_128_GCM_SHA256': ECDH},
                               'supported': True}},
     'renegotiation': {'supports_secure_renegotiation': True, 'vulnerable_to_client_renegotiation_dos': False},
     'robot': {'result': 'NOT_VULNERABLE_RSA_NOT_SUPPORTED'},
     'scanned_at': '2026-11-29T07:21:33+00:00',
     'server_name': 'lab-01',
     'status': 'scanned'}

REPO = Path(__file__).resolve().parents[2]
CHECKS = {check.id: check for check in TLS_CHECKS}
# The controls as written (not load_catalogue(): it also judges every other area's checks).
CONTROLS = {control["id"]: control for control in
            yaml.safe_load((REPO / "checks/catalogue/controls.yml").read_text())["controls"]}


def params(check_id: str, **overrides: Any) -> dict[str, Any]:
    control = CONTROLS[CHECKS[check_id].control_id]
    return {**{name: spec["default"] for name, spec in control["parameters"].items()}, **overrides}


def run_all(*endpoints: dict[str, Any], **overrides: Any) -> dict[str, tuple[Status, str]]:
    facts = {"tls_scan": {"endpoints": list(endpoints)}}
    results = {}
    for check_id, check in CHECKS.items():
        outcome = check.evaluate(facts, params(check_id, **overrides))
        results[check_id] = (outcome.status, outcome.message)
    return results


def failing(*endpoints: dict[str, Any], **overrides: Any) -> dict[str, Status]:
    return {check_id: status for check_id, (status, _) in run_all(*endpoints, **overrides).items()
            if status is not Status.PASS}


def sample() -> dict[str, Any]:
    return copy.deepcopy(WEB_EDGE_TRIXIE)


def test_the_roles_endpoint_passes_every_tls_check() -> None:
    assert failing(sample()) == {}


def test_every_tls_check_belongs_to_an_automated_control_listing_it() -> None:
    for check in TLS_CHECKS:
        control = CONTROLS[check.control_id]
        assert control["automation"] == "automated"
        assert check.id in control["checks"]
        assert check.probes == ("tls_scan",)


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda e: e["protocols"]["TLS 1.0"].update(supported=True, accepted_suites=["TLS_RSA_WITH_AES_128_CBC_SHA"]),
     "tls_no_legacy_protocols"),
    (lambda e: e["protocols"]["SSL 3.0"].update(supported=True, accepted_suites=["TLS_RSA_WITH_RC4_128_SHA"]),
     "tls_no_legacy_protocols"),
    (lambda e: e["protocols"]["TLS 1.2"]["accepted_suites"].append("TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
     "tls_no_weak_cipher_suites"),
    (lambda e: e["protocols"]["TLS 1.2"]["accepted_suites"].append("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
     "tls_no_weak_cipher_suites"),
    (lambda e: e["certificate"]["chain"][0].update(key_type="RSA", key_bits=1024), "tls_leaf_key_rsa"),
    (lambda e: e["certificate"]["chain"][0].update(key_type="ECDSA (secp256r1)", key_bits=256), "tls_leaf_key_rsa"),
    (lambda e: e["certificate"]["chain"][0].update(signature_algorithm="sha1WithRSAEncryption",
                                                   signature_algorithm_oid="1.2.840.113549.1.1.5"),
     "tls_signature_sha256_rsa"),
    (lambda e: e["certificate"]["validation"].update(
        client={"valid": False, "error": "validation failed: candidates exhausted"},
        path={"valid": False, "error": "validation failed: candidates exhausted"}), "tls_chain_trusted"),
    (lambda e: e["certificate"]["validation"].update(
        client={"valid": False, "error": "validation failed: leaf certificate has no matching subjectAltName"},
        name={"valid": False, "error": "validation failed: leaf certificate has no matching subjectAltName"}),
     "tls_hostname_matches"),
    (lambda e: e["protocols"]["TLS 1.2"]["accepted_suites"].append("TLS_RSA_WITH_AES_128_GCM_SHA256"),
     "tls_forward_secret_key_exchange"),
    (lambda e: e["protocols"]["TLS 1.2"]["key_exchange"].update(
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256={"type": "DH", "bits": 1024}), "tls_forward_secret_key_exchange"),
    (lambda e: e["protocols"]["TLS 1.3"]["key_exchange"].update(
        TLS_AES_128_GCM_SHA256={"type": "ECDH", "curve": "brainpoolP256r1", "bits": 256}),
     "tls_forward_secret_key_exchange"),
    (lambda e: e["groups"]["supported_curves"].append("secp224r1"), "tls_forward_secret_key_exchange"),
    (lambda e: e["certificate"]["chain"][0].update(not_after="2026-12-10T00:00:00+00:00"),
     "tls_certificate_not_expiring"),
    (lambda e: e["hsts"].update(present=False, max_age=None), "tls_hsts"),
    (lambda e: e["hsts"].update(max_age=86400), "tls_hsts"),
    (lambda e: e["heartbleed"].update(vulnerable=True), "tls_not_vulnerable_heartbleed"),
    (lambda e: e["ccs_injection"].update(vulnerable=True), "tls_not_vulnerable_ccs_injection"),
    (lambda e: e["robot"].update(result="VULNERABLE_WEAK_ORACLE"), "tls_not_vulnerable_robot"),
    (lambda e: e["robot"].update(result="UNKNOWN_INCONSISTENT_RESULTS"), "tls_not_vulnerable_robot"),
    (lambda e: e["renegotiation"].update(supports_secure_renegotiation=False), "tls_secure_renegotiation"),
    (lambda e: e["renegotiation"].update(vulnerable_to_client_renegotiation_dos=True), "tls_secure_renegotiation"),
    (lambda e: e["compression"].update(supported=True), "tls_no_compression"),
])
def test_each_weakness_fails_exactly_its_own_check(mutate: Any, expected: str) -> None:
    endpoint = sample()
    mutate(endpoint)
    assert failing(endpoint) == {expected: Status.FAIL}


def test_the_evidence_shows_what_was_offered() -> None:
    endpoint = sample()
    endpoint["protocols"]["TLS 1.1"].update(supported=True, accepted_suites=["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"])
    outcome = CHECKS["tls_no_legacy_protocols"].evaluate({"tls_scan": {"endpoints": [endpoint]}}, {})
    assert outcome.status is Status.FAIL
    assert "TLS 1.1 accepted" in outcome.message
    assert outcome.observed["198.18.5.11:443 (lab-01)"]["TLS 1.1"] == ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]


def test_parameters_move_the_thresholds() -> None:
    assert failing(sample(), min_rsa_bits=4096) == {"tls_leaf_key_rsa": Status.FAIL}
    assert failing(sample(), expiry_days=500) == {"tls_certificate_not_expiring": Status.FAIL}
    assert failing(sample(), min_hsts_max_age=63072000) == {"tls_hsts": Status.FAIL}
    assert failing(sample(), signature_hashes=["sha384"]) == {"tls_signature_sha256_rsa": Status.FAIL}
    assert failing(sample(), min_dh_bits=4096) == {}  # no DHE suite
    assert failing(sample(), allowed_curves=["X25519", "prime256v1", "secp384r1"]) == {
        "tls_forward_secret_key_exchange": Status.FAIL}  # X448 and P-521 supported: Mozilla's list refuses them


def with_path(*elements: dict[str, Any]) -> dict[str, Any]:
    endpoint = sample()
    built = {"valid": True, "path": list(elements), "at": endpoint["scanned_at"]}
    endpoint["certificate"]["validation"].update(client=built, path=built)
    return endpoint


def test_every_element_of_the_built_path_but_the_anchor_is_judged() -> None:
    root = {**CA, "subject": "CN=Old root", "signature_algorithm": "sha1WithRSAEncryption",
            "signature_algorithm_oid": "1.2.840.113549.1.1.5", "key_bits": 1024}
    intermediate = {**CA, "subject": "CN=Intermediate", "self_issued": False,
                    "signature_algorithm": "sha384WithRSAEncryption",
                    "signature_algorithm_oid": "1.2.840.113549.1.1.12"}
    endpoint = with_path(LEAF, intermediate, root)
    assert failing(endpoint) == {"tls_signature_sha256_rsa": Status.FAIL}  # the intermediate, not the anchor
    assert failing(endpoint, signature_hashes=["sha256", "sha384"]) == {}
    small = with_path(LEAF, {**CA, "subject": "CN=Intermediate", "self_issued": False, "key_bits": 2048}, CA)
    status, message = run_all(small, min_rsa_bits=3072)["tls_leaf_key_rsa"]
    assert status is Status.FAIL and "intermediate CN=Intermediate key is RSA 2048 bits, below 3072" in message


def test_the_earliest_expiry_of_the_path_is_judged_and_shown() -> None:
    intermediate = {**CA, "subject": "CN=Intermediate", "self_issued": False, "not_after": "2026-12-05T00:00:00+00:00"}
    endpoint = with_path(LEAF, intermediate, CA)
    status, message = run_all(endpoint)["tls_certificate_not_expiring"]
    assert status is Status.FAIL
    assert "intermediate CN=Intermediate expires on 2026-12-05T00:00:00+00:00, within 30 days" in message
    outcome = CHECKS["tls_certificate_not_expiring"].evaluate({"tls_scan": {"endpoints": [endpoint]}},
                                                              params("tls_certificate_not_expiring"))
    assert outcome.observed["198.18.5.11:443 (lab-01)"]["earliest_expiry"]["subject"] == "CN=Intermediate"


def test_rsa_pss_is_a_declared_choice_shown_in_the_evidence() -> None:
    pss = {**LEAF, "signature_algorithm": "rsassaPss", "signature_algorithm_oid": "1.2.840.113549.1.1.10"}
    endpoint = with_path(pss, CA)
    status, message = run_all(endpoint)["tls_signature_sha256_rsa"]
    assert status is Status.FAIL and "RSASSA-PSS: accept_rsa_pss is false" in message
    assert failing(endpoint, accept_rsa_pss=True) == {}
    outcome = CHECKS["tls_signature_sha256_rsa"].evaluate({"tls_scan": {"endpoints": [endpoint]}},
                                                           params("tls_signature_sha256_rsa", accept_rsa_pss=True))
    assert "accept_rsa_pss: true" in outcome.observed["198.18.5.11:443 (lab-01)"]["rsa_pss"]


def test_without_a_built_path_the_received_chain_is_judged() -> None:
    endpoint = sample()
    endpoint["certificate"]["validation"].update(client={"valid": False, "error": "x"},
                                                 path={"valid": False, "error": "x"})
    endpoint["certificate"]["chain"] = [{**LEAF, "key_bits": 1024}]
    status, message = run_all(endpoint)["tls_leaf_key_rsa"]
    assert status is Status.FAIL and "leaf CN=lab-01 key is RSA 1024 bits" in message


def test_refused_endpoint_fails_serving_and_leaves_every_property_in_error() -> None:
    refused = {"endpoint": "198.18.5.11:443 (lab-01)", "status": "refused",
               "error": "ServerRejectedConnection: Server rejected the connection"}
    results = run_all(refused)
    assert results.pop("tls_endpoint_serves")[0] is Status.FAIL
    assert {status for status, _ in results.values()} == {Status.ERROR}


def test_endpoint_that_does_not_answer_is_error_everywhere_never_pass() -> None:
    silent = {"endpoint": "198.18.5.11:443 (lab-01)", "status": "unreachable",
              "error": "ConnectionToServerTimedOut: Connection to the server timed out"}
    assert {status for status, _ in run_all(silent).values()} == {Status.ERROR}


def test_a_failed_sub_scan_is_error_for_its_property_only() -> None:
    endpoint = sample()
    endpoint["robot"] = {"error": "BUG_IN_SSLYZE: something"}
    assert failing(endpoint) == {"tls_not_vulnerable_robot": Status.ERROR}


def test_fail_on_one_endpoint_outweighs_error_on_another() -> None:
    bad = sample()
    bad["hsts"] = {"present": False, "max_age": None}
    silent = {"endpoint": "198.18.5.11:8443 (lab-01)", "status": "unreachable", "error": "timed out"}
    status, message = run_all(bad, silent)["tls_hsts"]
    assert status is Status.FAIL
    assert "not evaluated: 198.18.5.11:8443" in message


def test_missing_or_failed_probe_is_missing_fact() -> None:
    check = CHECKS["tls_hsts"]
    with pytest.raises(MissingFact):
        check.evaluate({}, {})
    with pytest.raises(MissingFact):
        check.evaluate({"tls_scan": {"error": "ValueError: tls_endpoints must be a list"}}, {})
    with pytest.raises(MissingFact):
        check.evaluate({"tls_scan": {"endpoints": []}}, {})


@pytest.mark.parametrize(("suite", "reason"), [
    ("TLS_RSA_WITH_NULL_SHA256", "NULL encryption"),
    ("TLS_ECDHE_RSA_WITH_NULL_SHA", "NULL encryption"),
    ("TLS_DH_anon_WITH_AES_128_GCM_SHA256", "anonymous"),
    ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", "anonymous"),
    ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "export"),
    ("TLS_RSA_WITH_RC4_128_SHA", "RC4"),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "3DES/DES"),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "CBC with SHA-1"),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", None),
    ("TLS_AES_128_GCM_SHA256", None),
])
def test_weak_suite_names(suite: str, reason: str | None) -> None:
    assert weakness(suite) == reason


def _certificate(sans: list[x509.GeneralName] | None, common_name: str = "lab-01") -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False))
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256())


# Host names as cryptography's verifier matches them (the probe has no matcher of its own).
@pytest.mark.parametrize(("sans", "name", "matches"), [
    ([x509.DNSName("lab-01")], "lab-01", True),
    ([x509.DNSName("lab-01")], "lab-02", False),
    ([x509.DNSName("*.example.org")], "www.example.org", True),
    ([x509.DNSName("*.example.org")], "a.b.example.org", False),
    ([x509.DNSName("*.example.org")], "example.org", False),
    ([x509.DNSName("lab-01"), x509.IPAddress(ip_address("198.18.5.11"))], "198.18.5.11", True),
    ([x509.DNSName("198.18.5.11")], "198.18.5.11", False),  # an address must be an IP SAN
    ([x509.DNSName("other")], "lab-01", False),  # the CN does not count
    (None, "lab-01", False),  # CN only: no subjectAltName, refused
])
def test_hostname_matching_by_the_validator(sans: list[x509.GeneralName] | None, name: str, matches: bool) -> None:
    cert = _certificate(sans)
    result = validate([cert], [cert], name, datetime.now(UTC))
    assert result["name"]["valid"] is matches, result
    assert result["client"]["valid"] is matches, result


def _rejected(kind: str, message: str) -> BaseException:
    import sslyze.errors
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    error: BaseException = getattr(sslyze.errors, kind)(
        server_location=ServerNetworkLocation("lab-01", 443, "198.18.5.11"),
        network_configuration=ServerNetworkConfiguration("lab-01"), error_message=message)
    return error


# The legacy-version shortcut of the probe: a handshake offering every suite ends the version's scan only on
# a refusal that does not depend on the suite offered; any other outcome sends it to the suite-by-suite scan.
@pytest.mark.parametrize(("kind", "message", "refused"), [
    ("ServerRejectedTlsHandshake", "TLS alert: protocol version ", True),
    ("ServerRejectedTlsHandshake", "TLS error: wrong version number", True),
    ("ServerRejectedTlsHandshake", "TLS alert: handshake failure", True),
    ("ServerRejectedTlsHandshake", "Server interrupted the TLS handshake", False),  # a reset: maybe transient
    ("ServerRejectedTlsHandshake", "Server closed the connection during the TLS handshake", False),
    ("ServerRejectedTlsHandshake", "Server rejected the connection", False),
    ("ServerRejectedTlsHandshake", "TLS alert: bad record mac", False),  # after a suite was chosen
    ("ServerRejectedTlsHandshake", "Server returned wrong certificate type", False),
    ("ServerTlsConfigurationNotSupported", "DH key too small", False),  # sslyze: the suite is supported
    ("TlsHandshakeTimedOut", "Connection to server timed out during the TLS handshake", False),
    ("ConnectionToServerTimedOut", "Connection to the server timed out", False),
    ("ServerRejectedConnection", "Server rejected the connection", False),
])
def test_legacy_shortcut_ends_a_version_only_on_a_clear_refusal(kind: str, message: str, refused: bool) -> None:
    assert (refusal(_rejected(kind, message)) is not None) is refused


def test_legacy_shortcut_scans_each_suite_after_an_acceptance_or_a_certificate_request() -> None:
    from nassl.ssl_client import ClientCertificateRequested

    assert refusal(None) is None
    assert refusal(ClientCertificateRequested([])) is None
    assert refusal(OSError("unexpected")) is None
