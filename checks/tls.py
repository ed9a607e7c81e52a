"""TLS-01..04: what a client actually meets on the host's TLS endpoints (sslyze, checks/probes/tls.py).

One check per property, each judged on every endpoint of the host against the project's own policy
profile (not Mozilla's: "modern" rejects every RSA certificate, "intermediate" accepts ECDSA and ignores
HSTS). Evidence is what was offered, negotiated or presented.

An endpoint that refuses the connection or will not negotiate TLS fails `tls_endpoint_serves` (the host
answered: nothing serves TLS there); every other property of that endpoint is ERROR (not evaluated),
never a pass. An endpoint that does not answer at all (timeout) is ERROR everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import checks.probes.tls  # noqa: F401 - registers the tls_scan probe
from checks.model import Check, Facts, MissingFact, Outcome, Params, Status

PROBE = "tls_scan"
LEGACY_PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")
CURRENT_PROTOCOLS = ("TLS 1.2", "TLS 1.3")
RSA_SIGNATURE_OIDS = {  # PKCS#1 v1.5 signatures, by hash: "SHA-256 with RSA encryption" is the first
    "sha256": "1.2.840.113549.1.1.11", "sha384": "1.2.840.113549.1.1.12", "sha512": "1.2.840.113549.1.1.13",
    "sha224": "1.2.840.113549.1.1.14", "sha1": "1.2.840.113549.1.1.5", "md5": "1.2.840.113549.1.1.4",
}


class NotEvaluated(Exception):
    """This endpoint's property could not be judged (the scan of it failed)."""


Endpoint = Mapping[str, Any]
# (problems, evidence) for one endpoint; raise NotEvaluated when the scan did not tell.
Property = Callable[[Endpoint, Params], tuple[list[str], dict[str, Any]]]


def endpoints(facts: Facts) -> list[Endpoint]:
    scan = facts.get(PROBE)
    if scan is None:
        raise MissingFact(PROBE, "not probed")
    if "error" in scan:
        raise MissingFact(PROBE, str(scan["error"]), scan)
    found = list(scan.get("endpoints", []))
    if not found:
        raise MissingFact(PROBE, "no TLS endpoint declared for this host (tls_endpoints or TLS-01 ports)")
    return found


def _part(endpoint: Endpoint, key: str) -> Mapping[str, Any]:
    if endpoint.get("status") != "scanned":
        raise NotEvaluated(f"no TLS scan ({endpoint.get('status')}: {endpoint.get('error')})")
    part = endpoint.get(key)
    if part is None:
        raise NotEvaluated(f"{key} was not scanned")
    if "error" in part:
        raise NotEvaluated(f"{key}: {part['error']}")
    return dict(part)


def judge(facts: Facts, params: Params, prop: Property, passed: str) -> Outcome:
    """FAIL if any endpoint fails; else ERROR if any could not be judged; else PASS."""
    problems: list[str] = []
    unevaluated: list[str] = []
    observed: dict[str, Any] = {}
    for endpoint in endpoints(facts):
        label = str(endpoint.get("endpoint"))
        try:
            found, evidence = prop(endpoint, params)
        except NotEvaluated as exc:
            unevaluated.append(f"{label}: {exc}")
            observed[label] = {"not_evaluated": str(exc)}
            continue
        observed[label] = evidence
        problems += [f"{label}: {problem}" for problem in found]
    if problems:
        extra = f" (not evaluated: {'; '.join(unevaluated)})" if unevaluated else ""
        return Outcome(Status.FAIL, "; ".join(problems) + extra, observed)
    if unevaluated:
        return Outcome(Status.ERROR, "could not evaluate: " + "; ".join(unevaluated), observed)
    return Outcome(Status.PASS, f"{passed} ({', '.join(observed)})", observed)


# --- TLS-01 --------------------------------------------------------------------------------------------

def evaluate_serves(facts: Facts, params: Params) -> Outcome:
    problems, unreachable, observed = [], [], {}
    for endpoint in endpoints(facts):
        label, status = str(endpoint.get("endpoint")), endpoint.get("status")
        if status == "scanned":
            protocols = endpoint.get("protocols", {})
            observed[label] = {"status": status, "protocols_accepted": [
                version for version, part in protocols.items() if part.get("supported")]}
        elif status in ("refused", "no_tls"):
            observed[label] = {"status": status, "error": endpoint.get("error")}
            what = "refused the connection" if status == "refused" else "answered but negotiated no TLS"
            problems.append(f"{label} {what}: nothing serves TLS there ({endpoint.get('error')})")
        else:
            observed[label] = {"status": status, "error": endpoint.get("error")}
            unreachable.append(f"{label}: {endpoint.get('error')}")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    if unreachable:
        return Outcome(Status.ERROR, "could not reach: " + "; ".join(unreachable), observed)
    return Outcome(Status.PASS, f"TLS is served on {', '.join(observed)}", observed)


def _chain(endpoint: Endpoint) -> list[Mapping[str, Any]]:
    chain = _part(endpoint, "certificate").get("chain") or []
    if not chain:
        raise NotEvaluated("no certificate received")
    return list(chain)


def leaf_key(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    leaf = _chain(endpoint)[0]
    minimum = int(params["min_rsa_bits"])
    evidence = {"subject": leaf["subject"], "key_type": leaf["key_type"], "key_bits": leaf["key_bits"],
                "required": f"RSA >= {minimum} bits"}
    if leaf["key_type"] != "RSA":
        return [f"leaf key is {leaf['key_type']} {leaf['key_bits']} bits, not RSA"], evidence
    if (leaf["key_bits"] or 0) < minimum:
        return [f"leaf key is RSA {leaf['key_bits']} bits, below {minimum}"], evidence
    return [], evidence


def signatures(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    """The leaf and every intermediate the server sends; a self-issued root it also sends is not judged
    (clients trust it as an anchor, not by its signature)."""
    hashes = [str(name).lower() for name in params["signature_hashes"]]
    accepted = {RSA_SIGNATURE_OIDS[name] for name in hashes if name in RSA_SIGNATURE_OIDS}
    chain = _chain(endpoint)
    judged = [chain[0], *(cert for cert in chain[1:] if not cert.get("self_issued"))]
    evidence = {"accepted": [f"{name}WithRSAEncryption" for name in hashes],
                "certificates": [{"subject": cert["subject"], "signature_algorithm": cert["signature_algorithm"],
                                  "signature_hash": cert["signature_hash"]} for cert in judged]}
    problems = [f"{'leaf' if index == 0 else 'intermediate'} {cert['subject']} is signed with "
                f"{cert['signature_algorithm']} ({cert['signature_algorithm_oid']})"
                for index, cert in enumerate(judged) if cert["signature_algorithm_oid"] not in accepted]
    return problems, evidence


def evaluate_leaf_key(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, leaf_key, "the leaf certificate has an RSA key of the required size")


def evaluate_signatures(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, signatures, "the leaf and intermediates are signed with an accepted RSA hash")


# --- TLS-02 --------------------------------------------------------------------------------------------

def legacy_protocols(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    protocols = {version: _protocol(endpoint, version) for version in (*LEGACY_PROTOCOLS, *CURRENT_PROTOCOLS)}
    evidence = {version: part["accepted_suites"] if part["supported"] else "refused"
                for version, part in protocols.items()}
    problems = [f"{version} accepted ({len(protocols[version]['accepted_suites'])} suites, e.g. "
                f"{protocols[version]['accepted_suites'][0]})"
                for version in LEGACY_PROTOCOLS if protocols[version]["supported"]]
    return problems, evidence


def _protocol(endpoint: Endpoint, version: str) -> Mapping[str, Any]:
    protocols = endpoint.get("protocols") if endpoint.get("status") == "scanned" else None
    if protocols is None:
        _part(endpoint, "protocols")  # raises NotEvaluated with the reason
        raise NotEvaluated("protocols were not scanned")
    part = protocols.get(version)
    if part is None or "error" in part:
        raise NotEvaluated(f"{version}: {part.get('error') if part else 'not scanned'}")
    return dict(part)


def hsts(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    header = _part(endpoint, "hsts")
    minimum = int(params["min_hsts_max_age"])
    evidence = {**header, "required_max_age": minimum}
    if not header.get("present"):
        return ["no Strict-Transport-Security header"], evidence
    if header.get("max_age") is None or int(header["max_age"]) < minimum:
        return [f"Strict-Transport-Security max-age={header.get('max_age')} is below {minimum}"], evidence
    return [], evidence


def evaluate_legacy_protocols(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, legacy_protocols, "SSL 2.0/3.0 and TLS 1.0/1.1 are refused")


def evaluate_hsts(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, hsts, "Strict-Transport-Security is sent with a long enough max-age")


# --- TLS-03 --------------------------------------------------------------------------------------------

def trusted(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    trust = _part(endpoint, "certificate").get("trust") or {}
    if "error" in trust:
        raise NotEvaluated(str(trust["error"]))
    evidence = dict(trust)
    if not trust.get("trusted"):
        return [f"chain not trusted by {trust.get('ca_file')}: {trust.get('reason')}"], evidence
    return [], evidence


def hostname(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    certificate = _part(endpoint, "certificate")
    leaf = _chain(endpoint)[0]
    evidence = {"server_name": endpoint.get("server_name"), "subject_alt_names": leaf["subject_alt_names"],
                "common_names": leaf["common_names"]}
    if not certificate.get("hostname_matches"):
        return [f"certificate does not name {endpoint.get('server_name')} (SAN {leaf['subject_alt_names']})"], \
            evidence
    return [], evidence


def expiry(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    leaf = _chain(endpoint)[0]
    days = int(params["expiry_days"])
    scanned_at = datetime.fromisoformat(str(endpoint.get("scanned_at")))
    not_after = datetime.fromisoformat(leaf["not_after"])
    not_before = datetime.fromisoformat(leaf["not_before"])
    left = not_after - scanned_at
    evidence = {"not_before": leaf["not_before"], "not_after": leaf["not_after"],
                "scanned_at": endpoint.get("scanned_at"), "days_left": left.days, "required_days_left": days}
    if left < timedelta(0):
        return [f"certificate expired on {leaf['not_after']}"], evidence
    if left < timedelta(days=days):
        return [f"certificate expires on {leaf['not_after']}, within {days} days"], evidence
    if not_before > scanned_at:
        return [f"certificate is not valid before {leaf['not_before']}"], evidence
    return [], evidence


def evaluate_trusted(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, trusted, "the chain leads to a CA of the configured bundle")


def evaluate_hostname(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, hostname, "the certificate names the server")


def evaluate_expiry(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, expiry, "the certificate is valid and not about to expire")


# --- TLS-04 --------------------------------------------------------------------------------------------

def weakness(suite: str) -> str | None:
    """Why an IANA suite name (as sslyze gives it) is weak, or None."""
    name = suite.upper()
    if "_NULL_" in name or name.endswith("_NULL") or "WITH_NULL" in name:
        return "NULL encryption"
    if "_ANON_" in name or name.startswith("TLS_DH_ANON") or name.startswith("TLS_ECDH_ANON"):
        return "anonymous"
    if "EXPORT" in name:
        return "export"
    if "RC4" in name:
        return "RC4"
    if "3DES" in name or "_DES_" in name or "DES_CBC" in name:
        return "3DES/DES"
    if "_CBC_" in name and name.endswith("_SHA"):
        return "CBC with SHA-1"
    return None


def weak_suites(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    """Suites of TLS 1.2 and 1.3. Suites offered under a refused-by-policy version (SSL, TLS 1.0/1.1: all
    of them CBC-SHA1 or worse) belong to tls_no_legacy_protocols' finding, so each bad server is caught
    by exactly one finding."""
    offered: dict[str, list[str]] = {}
    weak: list[str] = []
    for version in CURRENT_PROTOCOLS:
        part = _protocol(endpoint, version)
        offered[version] = list(part["accepted_suites"])
        anonymous = set(part.get("anonymous_suites", []))
        for suite in part["accepted_suites"]:
            reason = "anonymous" if suite in anonymous else weakness(suite)
            if reason:
                weak.append(f"{version} {suite} ({reason})")
    return ([f"weak suites accepted: {', '.join(weak)}"] if weak else []), {"accepted": offered, "weak": weak}


def _flag(key: str, field: str, bad: Callable[[Any], bool], what: str) -> Property:
    def prop(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
        part = _part(endpoint, key)
        value = part.get(field)
        return ([f"{what} ({field}={value})"] if bad(value) else []), dict(part)

    return prop


heartbleed = _flag("heartbleed", "vulnerable", bool, "vulnerable to Heartbleed")
ccs_injection = _flag("ccs_injection", "vulnerable", bool, "vulnerable to OpenSSL CCS injection")
robot = _flag("robot", "result", lambda value: not str(value).startswith("NOT_VULNERABLE"),
              "not shown safe from ROBOT")
compression = _flag("compression", "supported", bool, "TLS compression accepted (CRIME)")


def renegotiation(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    part = _part(endpoint, "renegotiation")
    problems = []
    if not part.get("supports_secure_renegotiation"):
        problems.append("secure renegotiation (RFC 5746) not supported: insecure renegotiation")
    if part.get("vulnerable_to_client_renegotiation_dos"):
        problems.append("client-initiated renegotiation accepted (denial of service)")
    return problems, dict(part)


def _evaluator(prop: Property, passed: str) -> Callable[[Facts, Params], Outcome]:
    return lambda facts, params: judge(facts, params, prop, passed)


TLS_CHECKS: tuple[Check, ...] = (
    Check("tls_endpoint_serves", "TLS-01", "every declared TLS endpoint completes a TLS handshake", (),
          evaluate_serves, (PROBE,)),
    Check("tls_leaf_key_rsa", "TLS-01", "the leaf certificate's key is RSA of at least the minimum size", (),
          evaluate_leaf_key, (PROBE,)),
    Check("tls_signature_sha256_rsa", "TLS-01",
          "the leaf and intermediate certificates are signed with SHA-256 with RSA encryption", (),
          evaluate_signatures, (PROBE,)),
    Check("tls_no_legacy_protocols", "TLS-02", "SSL 2.0, SSL 3.0, TLS 1.0 and TLS 1.1 are refused", (),
          evaluate_legacy_protocols, (PROBE,)),
    Check("tls_hsts", "TLS-02", "Strict-Transport-Security is sent with at least the minimum max-age", (),
          evaluate_hsts, (PROBE,)),
    Check("tls_chain_trusted", "TLS-03", "the certificate chain leads to a CA of the configured bundle", (),
          evaluate_trusted, (PROBE,)),
    Check("tls_hostname_matches", "TLS-03", "the certificate names the server name clients use", (),
          evaluate_hostname, (PROBE,)),
    Check("tls_certificate_not_expiring", "TLS-03", "the certificate is valid and not expiring soon", (),
          evaluate_expiry, (PROBE,)),
    Check("tls_no_weak_cipher_suites", "TLS-04",
          "no NULL, anonymous, export, RC4, 3DES or CBC-SHA1 suite is accepted", (),
          _evaluator(weak_suites, "only strong suites are accepted"), (PROBE,)),
    Check("tls_no_compression", "TLS-04", "TLS compression is refused", (),
          _evaluator(compression, "TLS compression is refused"), (PROBE,)),
    Check("tls_not_vulnerable_heartbleed", "TLS-04", "not vulnerable to Heartbleed", (),
          _evaluator(heartbleed, "not vulnerable to Heartbleed"), (PROBE,)),
    Check("tls_not_vulnerable_robot", "TLS-04", "not vulnerable to ROBOT", (),
          _evaluator(robot, "not vulnerable to ROBOT"), (PROBE,)),
    Check("tls_not_vulnerable_ccs_injection", "TLS-04", "not vulnerable to OpenSSL CCS injection", (),
          _evaluator(ccs_injection, "not vulnerable to CCS injection"), (PROBE,)),
    Check("tls_secure_renegotiation", "TLS-04",
          "only secure renegotiation, and no client-initiated renegotiation", (),
          _evaluator(renegotiation, "renegotiation is secure and not client-initiated"), (PROBE,)),
)
