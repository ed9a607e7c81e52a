"""TLS on the wire, from the controller: sslyze scans of a host's TLS endpoints, reduced to plain data.

Endpoints come from the inventory: a host variable `tls_endpoints: [{port: 443, sni: NAME, address: ADDR}]`
(every key optional but port), else TLS-01's `ports` on the host's address with the inventory hostname as
the server name, which is what roles/web_edge serves by default. So endpoints our roles do not manage can
be audited too, and `stockade tls HOST:PORT` scans one endpoint with the same code.

The scan result is reduced here to JSON-safe data (what was offered, negotiated and presented), so the
evaluators in checks/tls.py stay pure and every finding can carry it as evidence. Chain trust is judged
here too, with the configured CA bundle, separately from hostname and validity dates: each property gets
its own finding (sslyze's own path validation mixes them and rejects SHA-1 outright; kept as evidence).

Every endpoint is scanned concurrently in one sslyze Scanner, except SSL 3.0 / TLS 1.0 / TLS 1.1: each is
first offered in one handshake with every suite, and its suites are listed by sslyze's suite-by-suite scan
only when the server did not clearly refuse it (see "legacy versions" below; `legacy_shortcut=False` gives
sslyze's full scan, the benchmark's peer). Each protocol entry says how it was judged (`method`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from checks.model import Param, Params
from checks.probes import ProbeTarget, probe

NETWORK_TIMEOUT_SECONDS = 5
PER_SERVER_CONNECTIONS = 5  # sslyze's default
MAX_CONCURRENT_SERVERS = 16
PROTOCOL_COMMANDS = {
    "SSL 2.0": "ssl_2_0_cipher_suites", "SSL 3.0": "ssl_3_0_cipher_suites",
    "TLS 1.0": "tls_1_0_cipher_suites", "TLS 1.1": "tls_1_1_cipher_suites",
    "TLS 1.2": "tls_1_2_cipher_suites", "TLS 1.3": "tls_1_3_cipher_suites",
}


@dataclass(frozen=True)
class Endpoint:
    address: str  # where to connect (IP address or resolvable name)
    port: int
    server_name: str  # sent as SNI and matched against the certificate

    @property
    def label(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        name = f" ({self.server_name})" if self.server_name != self.address else ""
        return f"{host}:{self.port}{name}"


def endpoints_for(target: ProbeTarget, params: Params) -> list[Endpoint]:
    """The host's TLS endpoints: inventory `tls_endpoints`, else TLS-01 `ports` (default 443)."""
    default_name = str(target.variables.get("inventory_hostname") or target.name)
    declared = target.variables.get("tls_endpoints")
    if declared:
        if not isinstance(declared, Sequence) or isinstance(declared, str):
            raise ValueError("tls_endpoints must be a list of {port, sni?, address?}")
        endpoints = []
        for entry in declared:
            if not isinstance(entry, Mapping) or "port" not in entry:
                raise ValueError(f"tls_endpoints: entry {entry!r} needs at least a port")
            endpoints.append(Endpoint(address=str(entry.get("address") or target.address),
                                      port=int(entry["port"]),
                                      server_name=str(entry.get("sni") or default_name)))
        return endpoints
    ports = params["ports"]
    return [Endpoint(target.address, int(port), default_name) for port in ports]


def ca_file_for(params: Params) -> str:
    return str(params["ca_file"])


# --- certificates --------------------------------------------------------------------------------------

def _name(name: x509.Name) -> str:
    return name.rfc4514_string()


def _key(cert: x509.Certificate) -> tuple[str, int | None]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA ({key.curve.name})", key.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, None


def _sans(cert: x509.Certificate) -> dict[str, list[str]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return {"dns": [], "ip": []}
    return {"dns": ext.get_values_for_type(x509.DNSName),
            "ip": [str(value) for value in ext.get_values_for_type(x509.IPAddress)]}


def describe_certificate(cert: x509.Certificate) -> dict[str, Any]:
    key_type, key_bits = _key(cert)
    hash_algorithm = cert.signature_hash_algorithm
    common_names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "common_names": common_names,
        "subject_alt_names": _sans(cert),
        "key_type": key_type,
        "key_bits": key_bits,
        "signature_algorithm": getattr(cert.signature_algorithm_oid, "_name", None) or "unknown",
        "signature_algorithm_oid": cert.signature_algorithm_oid.dotted_string,
        "signature_hash": hash_algorithm.name if hash_algorithm is not None else None,
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "self_issued": cert.issuer == cert.subject,
        "serial": format(cert.serial_number, "x"),
    }


def _dns_match(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def hostname_matches(description: Mapping[str, Any], server_name: str) -> bool:
    """RFC 6125: DNS names and IP addresses in subjectAltName; the CN only when there is no SAN."""
    sans = description["subject_alt_names"]
    try:
        address = ip_address(server_name)
    except ValueError:
        address = None
    if address is not None:
        return any(ip_address(value) == address for value in sans["ip"])
    if sans["dns"] or sans["ip"]:
        return any(_dns_match(pattern, server_name) for pattern in sans["dns"])
    return any(_dns_match(cn, server_name) for cn in description["common_names"])


def verify_signature(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    """Raise unless `issuer`'s key made `cert`'s signature, whatever the hash: SHA-1 and weak keys are
    judged by their own checks, not by refusing to verify (cryptography's verify_directly_issued_by does)."""
    if cert.issuer != issuer.subject:
        raise ValueError("issuer name does not match")
    key = issuer.public_key()
    algorithm = cert.signature_hash_algorithm
    if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
        pss = cert.signature_algorithm_parameters
        pad = pss if isinstance(pss, padding.PSS) else padding.PKCS1v15()
        key.verify(cert.signature, cert.tbs_certificate_bytes, pad, algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
        key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        key.verify(cert.signature, cert.tbs_certificate_bytes)
    else:
        cert.verify_directly_issued_by(issuer)


def load_bundle(path: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def chain_trust(received: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]) -> dict[str, Any]:
    """Does the received chain lead, signature by signature, to a certificate of the CA bundle?

    Only signatures and issuer names: validity dates, hostname and algorithm strength are other findings.
    """
    if not received:
        return {"trusted": False, "reason": "no certificate received"}
    pool = list(received[1:])
    current = received[0]
    path = [_name(current.subject)]
    for _ in range(len(received) + 1):
        for anchor in anchors:
            if anchor.subject == current.issuer:
                try:
                    verify_signature(current, anchor)
                except Exception as exc:  # noqa: BLE001 - InvalidSignature, UnsupportedAlgorithm...
                    last_error = f"{type(exc).__name__}: {exc}"
                    continue
                return {"trusted": True, "path": [*path, _name(anchor.subject)], "anchor": _name(anchor.subject)}
        issuers = [c for c in pool if c.subject == current.issuer and c is not current]
        if not issuers:
            break
        issuer = issuers[0]
        try:
            verify_signature(current, issuer)
        except Exception as exc:  # noqa: BLE001
            return {"trusted": False, "path": path, "reason": f"{_name(current.subject)} is not signed by "
                    f"the next certificate of the chain: {type(exc).__name__}: {exc}"}
        pool.remove(issuer)
        current = issuer
        path.append(_name(current.subject))
    reason = f"no certificate of the CA bundle issued {_name(current.subject)} (issuer {_name(current.issuer)})"
    if "last_error" in locals():
        reason += f"; a certificate with that name did not verify: {last_error}"
    return {"trusted": False, "path": path, "reason": reason}


# --- sslyze --------------------------------------------------------------------------------------------

def _trace_text(trace: Any) -> str:
    if trace is None:
        return "unknown error"
    kind = getattr(trace, "exc_type_str", None) or getattr(getattr(trace, "exc_type", None), "__name__", "")
    text = str(trace).strip()
    return f"{kind}: {text}" if kind else text


def _connect_failure(trace: Any) -> str:
    """refused / no_tls (the host answered: a fact about the endpoint) or unreachable (no answer)."""
    kind = str(getattr(trace, "exc_type_str", None) or getattr(getattr(trace, "exc_type", None), "__name__", ""))
    if "TimedOut" in kind:
        return "unreachable"
    if kind == "ServerRejectedConnection":
        return "refused"
    return "no_tls"


def _attempt(scan_result: Any, command: str) -> tuple[Any, str | None]:
    attempt = getattr(scan_result, command)
    if attempt.result is None:
        reason = getattr(attempt.error_reason, "value", attempt.error_reason)
        return None, f"{reason}: {_trace_text(attempt.error_trace)}"
    return attempt.result, None


def _suites(result: Any) -> dict[str, Any]:
    tried = len(result.accepted_cipher_suites) + len(result.rejected_cipher_suites)
    return {
        "supported": bool(result.accepted_cipher_suites),
        "accepted_suites": [accepted.cipher_suite.name for accepted in result.accepted_cipher_suites],
        "anonymous_suites": [a.cipher_suite.name for a in result.accepted_cipher_suites
                             if a.cipher_suite.is_anonymous],
        "method": f"each suite alone ({tried} handshakes)",
    }


def _protocol(server_result: Any, version: str) -> dict[str, Any]:
    """One version's suites from a ServerScanResult that was asked for them."""
    from sslyze.scanner.models import ServerScanStatusEnum

    if server_result.scan_status != ServerScanStatusEnum.COMPLETED:
        return {"error": f"no TLS connection for the suite scan: {_trace_text(server_result.connectivity_error_trace)}"}
    suites, error = _attempt(server_result.scan_result, PROTOCOL_COMMANDS[version])
    return {"error": error} if error else _suites(suites)


def summarise(endpoint: Endpoint, server_result: Any, ca_file: str,
              protocols_found: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """One sslyze ServerScanResult as plain data; `protocols_found`: versions judged outside this scan."""
    from sslyze.scanner.models import ServerScanStatusEnum

    summary: dict[str, Any] = {"endpoint": endpoint.label, "address": endpoint.address, "port": endpoint.port,
                               "server_name": endpoint.server_name, "ca_file": ca_file}
    if server_result.scan_status != ServerScanStatusEnum.COMPLETED:
        trace = server_result.connectivity_error_trace
        summary.update(status=_connect_failure(trace), error=_trace_text(trace))
        return summary
    summary["status"] = "scanned"
    result = server_result.scan_result
    found = protocols_found or {}
    summary["protocols"] = {version: dict(found[version]) if version in found else _protocol(server_result, version)
                            for version in PROTOCOL_COMMANDS}

    cert_info, error = _attempt(result, "certificate_info")
    if error:
        summary["certificate"] = {"error": error}
    else:
        deployment = cert_info.certificate_deployments[0]
        chain = deployment.received_certificate_chain
        leaf = describe_certificate(chain[0])
        try:
            trust = {**chain_trust(chain, load_bundle(ca_file)), "ca_file": ca_file}
        except (OSError, ValueError) as exc:
            trust = {"error": f"CA bundle {ca_file}: {exc}"}
        summary["certificate"] = {
            "chain": [leaf, *(describe_certificate(cert) for cert in chain[1:])],
            "hostname_matches": hostname_matches(leaf, endpoint.server_name),
            "trust": trust,
            "sslyze_path_validation": [
                {"trust_store": pv.trust_store.name, "valid": pv.was_validation_successful,
                 "error": pv.validation_error} for pv in deployment.path_validation_results],
            "ocsp_stapled": deployment.ocsp_response is not None,
        }

    headers, error = _attempt(result, "http_headers")
    if error:
        summary["hsts"] = {"error": error}
    elif headers.http_error_trace is not None:
        summary["hsts"] = {"error": f"HTTP request failed: {_trace_text(headers.http_error_trace)}"}
    else:
        hsts = headers.strict_transport_security_header
        summary["hsts"] = {"present": hsts is not None,
                           "max_age": hsts.max_age if hsts is not None else None,
                           "include_subdomains": hsts.include_subdomains if hsts is not None else None,
                           "path": headers.http_path_redirected_to}

    vulnerabilities: dict[str, Any] = {}
    readers: tuple[tuple[str, str, Callable[[Any], dict[str, Any]]], ...] = (
        ("heartbleed", "heartbleed", lambda r: {"vulnerable": r.is_vulnerable_to_heartbleed}),
        ("ccs_injection", "openssl_ccs_injection", lambda r: {"vulnerable": r.is_vulnerable_to_ccs_injection}),
        ("robot", "robot", lambda r: {"result": r.robot_result.value}),
        ("renegotiation", "session_renegotiation", lambda r: {
            "supports_secure_renegotiation": r.supports_secure_renegotiation,
            "vulnerable_to_client_renegotiation_dos": r.is_vulnerable_to_client_renegotiation_dos}),
        ("compression", "tls_compression", lambda r: {"supported": r.supports_compression}),
    )
    for key, command, read in readers:
        outcome, error = _attempt(result, command)
        vulnerabilities[key] = {"error": error} if error else read(outcome)
    summary.update(vulnerabilities)
    return summary


OTHER_COMMANDS = ("certificate_info", "http_headers", "heartbleed", "openssl_ccs_injection", "robot",
                  "session_renegotiation", "tls_compression")

# --- legacy versions: one handshake first -----------------------------------------------------------------
# sslyze enumerates a version's suites with one connection per suite: 121 each for SSL 3.0, TLS 1.0 and
# TLS 1.1, i.e. ~70% of a scan's connections, spent on versions that servers almost always refuse. So each of
# these versions is first offered in ONE handshake with every suite legacy OpenSSL knows (a superset of
# sslyze's lists for them), as testssl.sh and sslyze's own connectivity test detect a version. Only a
# refusal that is about the version or about every suite at once (the answers below) ends it there: the
# version is refused, whichever suite would have been offered. Any other outcome (accepted, a client
# certificate asked for, a timeout, a reset, any other alert or error) sends the version to sslyze's full
# per-suite scan, so it is judged exactly as before. SSL 2.0 (7 suites) is always scanned in full.
SHORTCUT_VERSIONS = ("SSL 3.0", "TLS 1.0", "TLS 1.1")
EVERY_LEGACY_SUITE = "ALL:COMPLEMENTOFALL"
REFUSALS = (  # sslyze's wording (connection_helpers/tls_connection.py) of the server's refusal
    "TLS alert: protocol version",  # the server refuses the version
    "TLS error: wrong version number",  # the server answered with another version
    "TLS error: wrong SSL version",
    "TLS alert: handshake failure",  # no suite of all those offered is acceptable (OpenSSL 3's answer to SSL 3.0)
)


def refusal(error: BaseException | None) -> str | None:
    """Why a handshake offering every suite shows the version refused, or None: scan each suite."""
    from sslyze.errors import ServerRejectedTlsHandshake

    if not isinstance(error, ServerRejectedTlsHandshake):
        return None
    message = error.error_message.strip()
    return message if message in REFUSALS else None


Place = tuple[Any, Any]  # sslyze's ServerNetworkLocation and ServerNetworkConfiguration of an endpoint


def place(endpoint: Endpoint, timeout: int) -> Place:
    """Where and how sslyze connects to `endpoint` (its address resolved here, once)."""
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    return (ServerNetworkLocation(hostname=endpoint.server_name, port=endpoint.port,
                                  ip_address=_resolve(endpoint.address)),
            ServerNetworkConfiguration(tls_server_name_indication=endpoint.server_name,
                                       network_timeout=timeout, network_max_retries=1))


def offer_every_suite(where: Place, version: str) -> str | None:
    """One handshake at a legacy `version` offering every suite: why it was refused, or None."""
    from sslyze.connection_helpers.tls_connection import SslConnection
    from sslyze.server_connectivity import TlsVersionEnum

    try:
        connection = SslConnection(server_location=where[0], network_configuration=where[1],
                                   tls_version=TlsVersionEnum[version.replace(" ", "_").replace(".", "_")],
                                   should_ignore_client_auth=False,  # a certificate request is an answer too
                                   should_use_legacy_openssl=True)
        connection.ssl_client.set_cipher_list(EVERY_LEGACY_SUITE)
    except Exception:  # noqa: BLE001 - could not even try: scan each suite
        return None
    try:
        connection.connect()
    except Exception as exc:  # noqa: BLE001 - anything but a clear refusal means: scan each suite
        return refusal(exc)
    finally:
        connection.close()
    return None


def _scan(jobs: Sequence[tuple[Place, Sequence[str]]], ca_file: str, per_server_connections: int) -> list[Any]:
    """sslyze's Scanner over every (endpoint, scan commands) at once; ServerScanResults in `jobs` order."""
    from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
    from sslyze.plugins.scan_commands import ScanCommand
    from sslyze.scanner.models import ScanCommandsExtraArguments, ServerScanRequest
    from sslyze.scanner.scanner import Scanner

    requests = []
    for (location, network), commands in jobs:
        extra = ScanCommandsExtraArguments(
            certificate_info=CertificateInfoExtraArgument(custom_ca_file=Path(ca_file))) \
            if "certificate_info" in commands and Path(ca_file).is_file() else ScanCommandsExtraArguments()
        requests.append(ServerScanRequest(server_location=location, network_configuration=network,
                                          scan_commands={ScanCommand(name) for name in commands},
                                          scan_commands_extra_arguments=extra))
    scanner = Scanner(per_server_concurrent_connections_limit=per_server_connections,
                      concurrent_server_scans_limit=max(1, min(len(requests), MAX_CONCURRENT_SERVERS)))
    scanner.queue_scans(requests)
    results = {result.uuid: result for result in scanner.get_results()}
    return [results[request.uuid] for request in requests]


def scan_endpoints(endpoints: Sequence[Endpoint], ca_file: str,
                   timeout: int = NETWORK_TIMEOUT_SECONDS,
                   per_server_connections: int = PER_SERVER_CONNECTIONS,
                   legacy_shortcut: bool = True) -> list[dict[str, Any]]:
    """Scan every endpoint concurrently in one sslyze Scanner; results in the order of `endpoints`.

    With `legacy_shortcut` (the default), SSL 3.0 / TLS 1.0 / TLS 1.1 are first offered in one handshake
    each, alongside the scan; only the versions not clearly refused get sslyze's per-suite scan, in a second
    Scanner for just those endpoints. Without it every version is scanned suite by suite (sslyze's way).
    """
    from sslyze.scanner.models import ServerScanStatusEnum

    if not endpoints:
        return []
    shortcut = SHORTCUT_VERSIONS if legacy_shortcut else ()
    commands = [*OTHER_COMMANDS, *(command for version, command in PROTOCOL_COMMANDS.items()
                                   if version not in shortcut)]
    places = [place(endpoint, timeout) for endpoint in endpoints]
    found: list[dict[str, dict[str, Any]]] = [{} for _ in endpoints]
    with warnings.catch_warnings():
        # sslyze's bundled trust stores hold a root with a negative serial number; not ours to report.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        with ThreadPoolExecutor(max_workers=max(1, min(len(endpoints) * len(shortcut), 32)),
                                thread_name_prefix="tls-offer") as pool:
            offers = {(index, version): pool.submit(offer_every_suite, where, version)
                      for index, where in enumerate(places) for version in shortcut}
            scanned = _scan([(where, commands) for where in places], ca_file, per_server_connections)
            refused = {key: offer.result() for key, offer in offers.items()}
        pending: dict[int, list[str]] = {}
        for (index, version), why in refused.items():
            if scanned[index].scan_status != ServerScanStatusEnum.COMPLETED:
                continue  # nothing serves TLS there: summarise() says so, no version is judged
            if why is None:
                pending.setdefault(index, []).append(version)
            else:
                found[index][version] = {"supported": False, "accepted_suites": [], "anonymous_suites": [],
                                         "method": f"one handshake offering every suite: {why}"}
        if pending:
            again = _scan([(places[index], [PROTOCOL_COMMANDS[v] for v in versions])
                           for index, versions in pending.items()], ca_file, per_server_connections)
            for (index, versions), result in zip(pending.items(), again, strict=True):
                found[index].update({version: _protocol(result, version) for version in versions})
        summaries = [summarise(endpoint, result, ca_file, found[index])
                     for index, (endpoint, result) in enumerate(zip(endpoints, scanned, strict=True))]
    scanned_at = datetime.now(UTC).isoformat(timespec="seconds")
    return [{**summary, "scanned_at": scanned_at} for summary in summaries]


def _resolve(address: str) -> str:
    try:
        return str(ip_address(address))
    except ValueError:
        import socket

        return str(socket.getaddrinfo(address, None, proto=socket.IPPROTO_TCP)[0][4][0])


@probe("tls_scan", params=(Param("TLS-01", "ports"), Param("TLS-03", "ca_file")))
def tls_scan(target: ProbeTarget, params: Params) -> dict[str, Any]:
    endpoints = endpoints_for(target, params)
    return {"endpoints": scan_endpoints(endpoints, ca_file_for(params))}
