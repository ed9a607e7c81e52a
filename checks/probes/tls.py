"""TLS on the wire, from the controller: sslyze scans of a host's TLS endpoints, reduced to plain data.

Endpoints come from the inventory: a host variable `tls_endpoints: [{port: 443, sni: NAME, address: ADDR}]`
(every key optional but port), else TLS-01's `ports` on the host's address with the inventory hostname as
the server name, which is what roles/web_edge serves by default. So endpoints our roles do not manage can
be audited too, and `stockade tls HOST:PORT` scans one endpoint with the same code. `tls_endpoints: []`
declares that the host serves no TLS: nothing is scanned and the probe says so (`not_applicable`), so
TLS-01..04 are SKIPPED there.

The scan result is reduced here to JSON-safe data (what was offered, negotiated and presented, each accepted
suite's ephemeral key and the supported groups), so the evaluators in checks/tls.py stay pure and every
finding can carry it as evidence. The certificate path is built and judged by cryptography.x509.verification
(its server verifier: RFC 5280 + CA/Browser Forum rules) against the configured CA bundle, at the scan time,
for the server name; two more runs of the same validator separate the name from the path (see `validate`),
so that dates, names and trust each get their own finding with the validator's own reason. No trust or name
logic is written here. sslyze's own path validation is kept as evidence.

Every endpoint (of one host, or of a whole fleet with `scan_fleet`) is scanned concurrently in one sslyze
Scanner, except SSL 3.0 / TLS 1.0 / TLS 1.1: each is
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
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError

from checks.model import Param, Params
from checks.probes import HTTP_RATE_LIMIT, ProbeTarget, not_applicable_result, probe

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
    """The host's TLS endpoints: inventory `tls_endpoints` (an empty list: none), else TLS-01 `ports`
    (default 443)."""
    default_name = str(target.variables.get("inventory_hostname") or target.name)
    declared = target.variables.get("tls_endpoints")
    if declared is not None:
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


def _subject(server_name: str) -> x509.DNSName | x509.IPAddress:
    try:
        return x509.IPAddress(ip_address(server_name))
    except ValueError:
        return x509.DNSName(server_name)


def load_bundle(path: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def _verify(leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate],
            server_name: str, when: datetime, name_only: bool = False) -> dict[str, Any]:
    """cryptography's server verifier (RFC 5280 + CA/Browser Forum profile): the path it built, or its reason.
    `name_only`: the leaf's extensions are not judged but the subjectAltName it must carry (the name run)."""
    builder = PolicyBuilder().store(Store(list(anchors))).time(when)
    if name_only:
        builder = builder.extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=ExtensionPolicy.permit_all().require_present(x509.SubjectAlternativeName,
                                                                    Criticality.AGNOSTIC, None))
    try:
        verifier = builder.build_server_verifier(_subject(server_name))
        path = verifier.verify(leaf, list(intermediates))
    except (VerificationError, ValueError) as exc:  # ValueError: not a valid DNS name
        return {"valid": False, "error": str(exc), "at": when.isoformat(timespec="seconds")}
    return {"valid": True, "path": [describe_certificate(cert) for cert in path],
            "at": when.isoformat(timespec="seconds")}


def validate(received: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate], server_name: str,
             when: datetime) -> dict[str, Any]:
    """The received chain judged by cryptography.x509.verification as a strict client, plus two runs of the
    same validator that separate the properties each finding owns:

    - `client`: against the bundle, at the scan time, for the server name: what a client concludes.
    - `name`: the leaf alone as its own anchor (so no path is involved), at a time it is valid, its other
      extensions not judged: does its subjectAltName name the server (the CN never counts)?
    - `path`: against the bundle, at a time every received certificate is valid, for the server name (or,
      when the leaf does not name it, a name the leaf does carry): does a trusted path exist whatever the
      scan date and the name?

    Every reason is the validator's own text; nothing here decides trust by itself.
    """
    leaf, intermediates = received[0], list(received[1:])
    starts = [cert.not_valid_before_utc for cert in received]
    ends = [cert.not_valid_after_utc for cert in received]
    inside = max(starts) if max(starts) <= min(ends) else when  # a moment every received certificate is valid
    client = _verify(leaf, intermediates, anchors, server_name, when)
    if client["valid"]:
        return {"client": client, "name": {"valid": True, "at": client["at"]}, "path": client}
    leaf_inside = max(leaf.not_valid_before_utc, min(when, leaf.not_valid_after_utc))
    name = _verify(leaf, [], [leaf], server_name, leaf_inside, name_only=True)
    other = server_name
    if not name["valid"]:
        sans = _sans(leaf)
        # a name the leaf carries (a wildcard's first label filled in), so the path is judged apart from the name
        other = next((name.replace("*", "wildcard", 1) for name in sans["dns"] + sans["ip"]), server_name)
    path = _verify(leaf, intermediates, anchors, other, inside)
    return {"client": client, "name": name, "path": {**path, "server_name": other}}


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


def _ephemeral(key: Any) -> dict[str, Any] | None:
    """The server's ephemeral key of one accepted suite (sslyze/nassl): ECDH curve or DH group size."""
    if key is None:
        return None
    curve = getattr(key, "curve_name", None)
    if curve is not None:
        return {"type": "ECDH", "curve": str(curve), "bits": int(key.size)}
    return {"type": "DH", "bits": int(key.size)}


def _suites(result: Any) -> dict[str, Any]:
    tried = len(result.accepted_cipher_suites) + len(result.rejected_cipher_suites)
    return {
        "supported": bool(result.accepted_cipher_suites),
        "accepted_suites": [accepted.cipher_suite.name for accepted in result.accepted_cipher_suites],
        "anonymous_suites": [a.cipher_suite.name for a in result.accepted_cipher_suites
                             if a.cipher_suite.is_anonymous],
        "key_exchange": {a.cipher_suite.name: _ephemeral(a.ephemeral_key) for a in result.accepted_cipher_suites},
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
              protocols_found: Mapping[str, Mapping[str, Any]] | None = None,
              scanned_at: datetime | None = None) -> dict[str, Any]:
    """One sslyze ServerScanResult as plain data; `protocols_found`: versions judged outside this scan;
    `scanned_at`: the time the certificate path is validated at (default now)."""
    from sslyze.scanner.models import ServerScanStatusEnum

    summary: dict[str, Any] = {"endpoint": endpoint.label, "address": endpoint.address, "port": endpoint.port,
                               "server_name": endpoint.server_name, "ca_file": ca_file}
    if server_result.scan_status != ServerScanStatusEnum.COMPLETED:
        trace = server_result.connectivity_error_trace
        summary.update(status=_connect_failure(trace), error=_trace_text(trace))
        return summary
    summary["status"] = "scanned"
    scanned_at = scanned_at or datetime.now(UTC).replace(microsecond=0)
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
        try:
            validation = {**validate(chain, load_bundle(ca_file), endpoint.server_name, scanned_at),
                          "ca_file": ca_file}
        except (OSError, ValueError) as exc:
            validation = {"error": f"CA bundle {ca_file}: {exc}"}
        summary["certificate"] = {
            "chain": [describe_certificate(cert) for cert in chain],
            "validation": validation,
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

    curves, error = _attempt(result, "elliptic_curves")
    summary["groups"] = {"error": error} if error else {
        "supports_ecdh": curves.supports_ecdh_key_exchange,
        "supported_curves": [curve.name for curve in curves.supported_curves or []],
        "method": "sslyze's supported groups scan: one handshake offering each curve alone"}
    return summary



OTHER_COMMANDS = ("certificate_info", "http_headers", "heartbleed", "openssl_ccs_injection", "robot",
                  "session_renegotiation", "tls_compression", "elliptic_curves")

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


def _scan(jobs: Sequence[tuple[Place, Sequence[str]]], ca_file: str, per_server_connections: int,
          max_concurrent_servers: int = MAX_CONCURRENT_SERVERS) -> list[Any]:
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
                      concurrent_server_scans_limit=max(1, min(len(requests), max_concurrent_servers)))
    scanner.queue_scans(requests)
    results = {result.uuid: result for result in scanner.get_results()}
    return [results[request.uuid] for request in requests]


def scan_endpoints(endpoints: Sequence[Endpoint], ca_file: str,
                   timeout: int = NETWORK_TIMEOUT_SECONDS,
                   per_server_connections: int = PER_SERVER_CONNECTIONS,
                   legacy_shortcut: bool = True,
                   max_concurrent_servers: int = MAX_CONCURRENT_SERVERS) -> list[dict[str, Any]]:
    """Scan every endpoint concurrently in one sslyze Scanner; results in the order of `endpoints`.

    The endpoints may belong to many hosts (see `scan_fleet`): one Scanner, at most `max_concurrent_servers`
    servers at a time, each with up to `per_server_connections` connections.

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
            scanned = _scan([(where, commands) for where in places], ca_file, per_server_connections,
                            max_concurrent_servers)
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
                           for index, versions in pending.items()], ca_file, per_server_connections,
                          max_concurrent_servers)
            for (index, versions), result in zip(pending.items(), again, strict=True):
                found[index].update({version: _protocol(result, version) for version in versions})
        now = datetime.now(UTC).replace(microsecond=0)
        summaries = [summarise(endpoint, result, ca_file, found[index], now)
                     for index, (endpoint, result) in enumerate(zip(endpoints, scanned, strict=True))]
    return [{**summary, "scanned_at": now.isoformat(timespec="seconds")} for summary in summaries]


def scan_fleet(endpoints_by_host: Mapping[str, Sequence[Endpoint]], ca_file: str,
               timeout: int = NETWORK_TIMEOUT_SECONDS,
               max_concurrent_servers: int = MAX_CONCURRENT_SERVERS) -> dict[str, dict[str, Any]]:
    """Every TLS endpoint of every host in ONE scan_endpoints call (one sslyze Scanner, bounded concurrency):
    {host: the tls_scan probe's result for it}, so an audit can scan its fleet once instead of once per
    host. A host whose endpoints could not be scanned gets {"error": ...}, as the probe does."""
    hosts = list(endpoints_by_host)
    flat = [(host, endpoint) for host in hosts for endpoint in endpoints_by_host[host]]
    try:
        results = scan_endpoints([endpoint for _, endpoint in flat], ca_file, timeout,
                                 max_concurrent_servers=max_concurrent_servers)
    except Exception as exc:  # noqa: BLE001 - e.g. a name does not resolve: every host's checks are ERROR
        return {host: {"error": f"{type(exc).__name__}: {exc}"} for host in hosts}
    by_host: dict[str, dict[str, Any]] = {host: {"endpoints": []} for host in hosts}
    for (host, _), result in zip(flat, results, strict=True):
        by_host[host]["endpoints"].append(result)
    return by_host


def _resolve(address: str) -> str:
    try:
        return str(ip_address(address))
    except ValueError:
        import socket

        return str(socket.getaddrinfo(address, None, proto=socket.IPPROTO_TCP)[0][4][0])


# Its hundreds of handshakes hold the same nginx (and controller) the WEB-01 burst times: a burst slowed by
# them lets the 429 bucket refill and meets 429 later than it should, so the burst waits for the scan.
@probe("tls_scan", params=(Param("TLS-01", "ports"), Param("TLS-03", "ca_file")), meets=(HTTP_RATE_LIMIT,))
def tls_scan(target: ProbeTarget, params: Params) -> dict[str, Any]:
    not_applicable = not_applicable_result(target)
    if not_applicable is not None:
        return not_applicable
    endpoints = endpoints_for(target, params)
    return {"endpoints": scan_endpoints(endpoints, ca_file_for(params))}
