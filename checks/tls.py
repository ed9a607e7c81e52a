"""TLS-01..04: what a client actually meets on the host's TLS endpoints (sslyze, checks/probes/tls.py).

One check per property, each judged on every endpoint of the host against the project's own policy
profile (not Mozilla's: "modern" rejects every RSA certificate, "intermediate" accepts ECDSA and ignores
HSTS). Evidence is what was offered, negotiated or presented. Key sizes, signatures and dates are judged on
every element of the path cryptography's verifier built (the received chain when it built none, said so in
the evidence); trust and names are the verifier's verdicts with its own reasons.

An endpoint that refuses the connection or will not negotiate TLS fails `tls_endpoint_serves` (the host
answered: nothing serves TLS there); every other property of that endpoint is ERROR (not evaluated),
never a pass. An endpoint that does not answer at all (timeout) is ERROR everywhere. A host whose inventory
declares no TLS endpoint (`tls_endpoints: []`) is not scanned: every TLS check is SKIPPED there, with that
reason; an absent `tls_endpoints` means TLS-01 `ports`, and an empty scan for any other reason is ERROR.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import checks.probes.tls  # noqa: F401 - registers the tls_scan probe
from checks.model import Check, Facts, MissingFact, NotEvaluated, Outcome, Params, Status
from checks.probes import not_applicable_outcome

PROBE = "tls_scan"
LEGACY_PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")
CURRENT_PROTOCOLS = ("TLS 1.2", "TLS 1.3")
RSA_SIGNATURE_OIDS = {  # PKCS#1 v1.5 signatures, by hash: "SHA-256 with RSA encryption" is the first
    "sha256": "1.2.840.113549.1.1.11", "sha384": "1.2.840.113549.1.1.12", "sha512": "1.2.840.113549.1.1.13",
    "sha224": "1.2.840.113549.1.1.14", "sha1": "1.2.840.113549.1.1.5", "md5": "1.2.840.113549.1.1.4",
}
RSA_PSS_OID = "1.2.840.113549.1.1.10"  # RSASSA-PSS: its hash is in the signature's parameters


Endpoint = Mapping[str, Any]
# (problems, evidence) for one endpoint; raise NotEvaluated when the scan did not tell.
Property = Callable[[Endpoint, Params], tuple[list[str], dict[str, Any]]]


def not_applicable(facts: Facts) -> Outcome | None:
    """SKIPPED when the host declared `tls_endpoints: []` (the probe then scanned nothing and said why)."""
    return not_applicable_outcome(facts.get(PROBE))


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
    skipped = not_applicable(facts)
    if skipped is not None:
        return skipped
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
    skipped = not_applicable(facts)
    if skipped is not None:
        return skipped
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


def _validation(endpoint: Endpoint) -> Mapping[str, Any]:
    validation = _part(endpoint, "certificate").get("validation")
    if not validation:
        raise NotEvaluated("the certificate path was not validated")
    if "error" in validation:
        raise NotEvaluated(str(validation["error"]))
    return dict(validation)


def judged_path(endpoint: Endpoint) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]], str]:
    """(every element, the non-anchor elements, how it was obtained): the path cryptography's verifier built
    (its last element is the trust anchor); when it built none, the chain as the server sent it (a
    self-issued certificate in it counts as an anchor)."""
    validation = _validation(endpoint)
    for run, how in (("client", "the path built by cryptography's verifier at the scan time"),
                     ("path", "the path built by cryptography's verifier at a time every certificate is valid")):
        built = validation.get(run) or {}
        if built.get("valid") and built.get("path"):
            path = list(built["path"])
            return path, path[:-1], how
    chain = _chain(endpoint)
    return chain, [chain[0], *(cert for cert in chain[1:] if not cert.get("self_issued"))], \
        "no path could be built: the chain as the server sent it"


def _role(index: int) -> str:
    return "leaf" if index == 0 else "intermediate"


def path_keys(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    """Every non-anchor certificate of the path has an RSA key of at least `min_rsa_bits`."""
    _, judged, how = judged_path(endpoint)
    minimum = int(params["min_rsa_bits"])
    evidence = {"judged": how, "required": f"RSA >= {minimum} bits on every certificate but the anchor",
                "certificates": [{"subject": cert["subject"], "key_type": cert["key_type"],
                                  "key_bits": cert["key_bits"]} for cert in judged]}
    problems = []
    for index, cert in enumerate(judged):
        if cert["key_type"] != "RSA":
            problems.append(f"{_role(index)} {cert['subject']} key is {cert['key_type']} {cert['key_bits']} bits, "
                            "not RSA")
        elif (cert["key_bits"] or 0) < minimum:
            problems.append(f"{_role(index)} {cert['subject']} key is RSA {cert['key_bits']} bits, below {minimum}")
    return problems, evidence


def signatures(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    """Every non-anchor certificate of the path is signed RSA PKCS#1 v1.5 with an accepted hash; RSASSA-PSS
    with an accepted hash only when `accept_rsa_pss` (a trust anchor is trusted as such, not by its
    signature)."""
    hashes = [str(name).lower() for name in params["signature_hashes"]]
    pss = bool(params["accept_rsa_pss"])
    accepted = {RSA_SIGNATURE_OIDS[name] for name in hashes if name in RSA_SIGNATURE_OIDS}
    _, judged, how = judged_path(endpoint)
    evidence = {"judged": how, "accepted": [f"{name}WithRSAEncryption" for name in hashes],
                "rsa_pss": (f"accepted with {', '.join(hashes)} (accept_rsa_pss: true)" if pss else
                            "refused: 'SHA-256 with RSA' read as sha256WithRSAEncryption, PKCS#1 v1.5 "
                            "(accept_rsa_pss: false)"),
                "certificates": [{"subject": cert["subject"], "signature_algorithm": cert["signature_algorithm"],
                                  "signature_hash": cert["signature_hash"]} for cert in judged]}
    problems = []
    for index, cert in enumerate(judged):
        oid = cert["signature_algorithm_oid"]
        if oid in accepted or (pss and oid == RSA_PSS_OID and str(cert.get("signature_hash")) in hashes):
            continue
        note = " (RSASSA-PSS: accept_rsa_pss is false)" if oid == RSA_PSS_OID else ""
        problems.append(f"{_role(index)} {cert['subject']} is signed with {cert['signature_algorithm']} "
                        f"({oid}, hash {cert.get('signature_hash')}){note}")
    return problems, evidence


def evaluate_leaf_key(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, path_keys, "every certificate of the path but the anchor has an RSA key of the "
                 "required size")


def evaluate_signatures(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, signatures, "every certificate of the path but the anchor is signed with an "
                 "accepted RSA hash")


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
    """A trusted path exists (cryptography's verifier, at a time every received certificate is valid: the
    dates are tls_certificate_not_expiring's finding, the name tls_hostname_matches')."""
    validation = _validation(endpoint)
    path, client = validation.get("path") or {}, validation.get("client") or {}
    evidence = {"ca_file": validation.get("ca_file"), "validator": "cryptography.x509.verification",
                "client_verdict": {"valid": client.get("valid"), "at": client.get("at"),
                                   "error": client.get("error")},
                "path_check": {"valid": path.get("valid"), "at": path.get("at"),
                               "server_name": path.get("server_name", endpoint.get("server_name")),
                               "error": path.get("error")},
                "built_path": [_brief(cert) for cert in path.get("path") or []]}
    if not path.get("valid"):
        return [f"no trusted path to a CA of {validation.get('ca_file')}: {path.get('error')}"], evidence
    return [], evidence


def _brief(cert: Mapping[str, Any]) -> dict[str, Any]:
    return {key: cert.get(key) for key in ("subject", "issuer", "not_before", "not_after", "key_type", "key_bits",
                                           "signature_algorithm")}


def hostname(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    """cryptography's verifier on the leaf alone: subjectAltName names the server (the CN never counts)."""
    name = dict(_validation(endpoint).get("name") or {})
    leaf = _chain(endpoint)[0]
    evidence = {"server_name": endpoint.get("server_name"), "subject_alt_names": leaf["subject_alt_names"],
                "common_names": leaf["common_names"], "validator": name}
    if not name.get("valid"):
        return [f"certificate does not name {endpoint.get('server_name')} (SAN {leaf['subject_alt_names']}, "
                f"CN {leaf['common_names']}): {name.get('error')}"], evidence
    return [], evidence


def expiry(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    """Every element of the path (anchor included) is valid at the scan time and for `expiry_days` more."""
    path, _, how = judged_path(endpoint)
    days = int(params["expiry_days"])
    scanned_at = datetime.fromisoformat(str(endpoint.get("scanned_at")))
    earliest = min(path, key=lambda cert: cert["not_after"])
    evidence = {"judged": how, "scanned_at": endpoint.get("scanned_at"), "required_days_left": days,
                "earliest_expiry": {"subject": earliest["subject"], "not_after": earliest["not_after"],
                                    "days_left": (datetime.fromisoformat(earliest["not_after"]) - scanned_at).days},
                "certificates": [{"subject": cert["subject"], "not_before": cert["not_before"],
                                  "not_after": cert["not_after"]} for cert in path]}
    problems = []
    for index, cert in enumerate(path):
        role = "anchor" if index == len(path) - 1 and index > 0 and how.startswith("the path") else _role(index)
        left = datetime.fromisoformat(cert["not_after"]) - scanned_at
        if left < timedelta(0):
            problems.append(f"{role} {cert['subject']} expired on {cert['not_after']}")
        elif left < timedelta(days=days):
            problems.append(f"{role} {cert['subject']} expires on {cert['not_after']}, within {days} days")
        if datetime.fromisoformat(cert["not_before"]) > scanned_at:
            problems.append(f"{role} {cert['subject']} is not valid before {cert['not_before']}")
    return problems, evidence


def evaluate_trusted(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, trusted, "cryptography's verifier builds a path to a CA of the configured bundle")


def evaluate_hostname(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, hostname, "the certificate's subjectAltName names the server")


def evaluate_expiry(facts: Facts, params: Params) -> Outcome:
    return judge(facts, params, expiry, "every certificate of the path is valid and not about to expire")


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


CURVE_ALIASES = {"secp256r1": "prime256v1", "prime256v1": "prime256v1"}


def _curve(name: str) -> str:
    return CURVE_ALIASES.get(name.lower(), name.lower())


def key_exchange(endpoint: Endpoint, params: Params) -> tuple[list[str], dict[str, Any]]:
    """Every accepted TLS 1.2 suite is forward-secret (ECDHE or DHE; suites already weak for
    tls_no_weak_cipher_suites are left to it); every ephemeral key the server chose
    (sslyze, per accepted suite) is a DH group of at least `min_dh_bits` or an allowed curve; every group of
    sslyze's supported-groups scan is allowed (the TLS 1.3 groups are those: TLS 1.3 is ECDHE or FFDHE only)."""
    minimum = int(params["min_dh_bits"])
    allowed = [str(name) for name in params["allowed_curves"]]
    allowed_keys = {_curve(name) for name in allowed}
    problems: list[str] = []
    chosen: dict[str, dict[str, Any]] = {}
    for version in CURRENT_PROTOCOLS:
        part = _protocol(endpoint, version)
        kex = part.get("key_exchange")
        if kex is None and part["accepted_suites"]:
            raise NotEvaluated(f"{version}: the suites' ephemeral keys were not recorded")
        chosen[version] = dict(kex or {})
        for suite in part["accepted_suites"]:
            key = (kex or {}).get(suite)
            if weakness(suite) or suite in set(part.get("anonymous_suites", [])):
                continue  # tls_no_weak_cipher_suites' finding (NULL, anonymous, export...): one finding per flaw
            if version == "TLS 1.2" and "_ECDHE_" not in suite and "_DHE_" not in suite:
                problems.append(f"{version} {suite}: {suite.split('_WITH_')[0].removeprefix('TLS_')} key "
                                "exchange, not forward-secret")
            if key is None:
                continue
            if key["type"] == "DH" and int(key["bits"]) < minimum:
                problems.append(f"{version} {suite}: DHE group of {key['bits']} bits, below {minimum}")
            if key["type"] == "ECDH" and _curve(str(key["curve"])) not in allowed_keys:
                problems.append(f"{version} {suite}: ECDHE curve {key['curve']} is not in allowed_curves")
    groups = _part(endpoint, "groups")
    supported = list(groups.get("supported_curves") or [])
    problems += [f"supported group {name} is not in allowed_curves" for name in supported
                 if _curve(name) not in allowed_keys]
    evidence = {"ephemeral_keys": chosen, "supported_groups": supported, "groups_method": groups.get("method"),
                "tls13_groups": supported if _protocol(endpoint, "TLS 1.3")["supported"] else [],
                "required": {"tls12": "ECDHE or DHE only", "min_dh_bits": minimum, "allowed_curves": allowed}}
    return problems, evidence


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
    Check("tls_leaf_key_rsa", "TLS-01",
          "the leaf's and every intermediate's key is RSA of at least the minimum size", (),
          evaluate_leaf_key, (PROBE,)),
    Check("tls_signature_sha256_rsa", "TLS-01",
          "the leaf and every intermediate of the path are signed with SHA-256 with RSA encryption", (),
          evaluate_signatures, (PROBE,)),
    Check("tls_no_legacy_protocols", "TLS-02", "SSL 2.0, SSL 3.0, TLS 1.0 and TLS 1.1 are refused", (),
          evaluate_legacy_protocols, (PROBE,)),
    Check("tls_hsts", "TLS-02", "Strict-Transport-Security is sent with at least the minimum max-age", (),
          evaluate_hsts, (PROBE,)),
    Check("tls_chain_trusted", "TLS-03",
          "cryptography's verifier builds a path to a CA of the configured bundle", (),
          evaluate_trusted, (PROBE,)),
    Check("tls_hostname_matches", "TLS-03", "the certificate names the server name clients use", (),
          evaluate_hostname, (PROBE,)),
    Check("tls_certificate_not_expiring", "TLS-03",
          "every certificate of the path is valid and not expiring soon", (),
          evaluate_expiry, (PROBE,)),
    Check("tls_no_weak_cipher_suites", "TLS-04",
          "no NULL, anonymous, export, RC4, 3DES or CBC-SHA1 suite is accepted", (),
          _evaluator(weak_suites, "only strong suites are accepted"), (PROBE,)),
    Check("tls_forward_secret_key_exchange", "TLS-04",
          "every TLS 1.2 suite is forward-secret, DH groups and curves are strong enough", (),
          _evaluator(key_exchange, "key exchange is forward-secret with allowed groups"), (PROBE,)),
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
