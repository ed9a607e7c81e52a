"""SSH-03: sshd offers only strong crypto per the policy's "SHA-256 with RSA", judged from its effective
configuration (`sshd -T`), the host keys it loads, and what it really offers on the wire (checks/probes/ssh_wire)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import checks.probes.ssh_wire  # noqa: F401 - registers the ssh_wire probe
from checks.model import Check, Facts, MissingFact, Outcome, Params, Status, command_output
from checks.sshd import parse_sshd_t

# What "SHA-256 with RSA" rules out, by algorithm family (patterns on OpenSSH algorithm names).
WEAK = {
    "cipher": re.compile(r"-cbc($|@)|^3des|arcfour|blowfish|cast128|^none$"),
    "mac": re.compile(r"sha1|md5|ripemd|-96($|-|@)|^umac-64"),
    "kex": re.compile(r"sha1$|sha1@|^diffie-hellman-group1-|^diffie-hellman-group14-sha1"),
    "signature": re.compile(r"^ssh-rsa($|-cert)|^ssh-dss"),
}


def weak(kind: str, names: Iterable[str]) -> list[str]:
    return [name for name in names if WEAK[kind].search(name)]


def _names(settings: dict[str, str], keyword: str) -> list[str]:
    if keyword not in settings:
        raise MissingFact("sshd_effective", f"sshd -T printed no {keyword}")
    return [name for name in settings[keyword].split(",") if name]


def _effective(facts: Facts) -> dict[str, str]:
    return parse_sshd_t(command_output(facts, "sshd_effective"))


def _verdict(problems: list[str], ok: str, observed: dict[str, Any]) -> Outcome:
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, ok, observed)


def evaluate_host_key_algorithms(facts: Facts, params: Params) -> Outcome:
    settings = _effective(facts)
    lists = {keyword: _names(settings, keyword) for keyword in (
        "hostkeyalgorithms", "pubkeyacceptedalgorithms", "casignaturealgorithms")}
    allowed = list(params["host_key_algorithms"])
    problems = [f"{keyword} allows SHA-1 signatures: {', '.join(found)}"
                for keyword, names in lists.items() if (found := weak("signature", names))]
    extra = [name for name in lists["hostkeyalgorithms"] if name not in allowed]
    if extra:
        problems.append(f"hostkeyalgorithms offers {', '.join(extra)} (allowed: {', '.join(allowed)})")
    if not any(name.startswith("rsa-sha2-") for name in lists["hostkeyalgorithms"]):
        problems.append("hostkeyalgorithms offers no RSA signature with SHA-2 (rsa-sha2-256/512)")
    return _verdict(problems, "host keys sign with ed25519 or RSA/SHA-2 only; no ssh-rsa (SHA-1) accepted", lists)


def _family_check(keyword: str, kind: str, label: str) -> Any:
    def evaluate(facts: Facts, params: Params) -> Outcome:
        names = _names(_effective(facts), keyword)
        found = weak(kind, names)
        problems = [f"{keyword} allows {label}: {', '.join(found)}"] if found else []
        return _verdict(problems, f"{keyword}: no {label}", {keyword: names})
    return evaluate


def evaluate_host_keys(facts: Facts, params: Params) -> Outcome:
    keys = facts.get("sshd_host_keys")
    if not isinstance(keys, list):
        raise MissingFact("sshd_host_keys", str((keys or {}).get("error", "not collected")))
    minimum = int(params["min_rsa_host_key_bits"])
    problems = [f"{key['path']}: {key['error']}" for key in keys if "error" in key]
    sized = [key for key in keys if "error" not in key]
    rsa = [key for key in sized if key["type"] == "RSA"]
    problems += [f"{key['path']}: RSA {key['bits']} bits < {minimum}" for key in rsa if key["bits"] < minimum]
    problems += [f"{key['path']}: DSA host key" for key in sized if key["type"] == "DSA"]
    if not rsa:
        problems.append("no RSA host key is loaded")
    if not any(key["type"] == "ED25519" for key in sized):
        problems.append("no ed25519 host key is loaded")
    observed = {"host_keys": [{k: key.get(k) for k in ("path", "type", "bits", "error") if k in key}
                              for key in keys], "min_rsa_host_key_bits": minimum}
    return _verdict(problems, f"RSA host key of at least {minimum} bits and an ed25519 host key", observed)


def evaluate_wire(facts: Facts, params: Params) -> Outcome:
    wire = facts.get("ssh_wire")
    if not isinstance(wire, dict) or "error" in wire:
        raise MissingFact("ssh_wire", str((wire or {}).get("error", "probe did not run")))
    minimum = int(params["min_rsa_host_key_bits"])
    allowed = list(params["host_key_algorithms"])
    problems = []
    for field, kind, label in (
            ("host_key_algorithms", "signature", "SHA-1 host-key signatures"),
            ("kex_algorithms", "kex", "SHA-1 key exchange"),
            ("ciphers_client_to_server", "cipher", "weak ciphers"), ("ciphers_server_to_client", "cipher",
                                                                     "weak ciphers"),
            ("macs_client_to_server", "mac", "SHA-1 or short MACs"), ("macs_server_to_client", "mac",
                                                                      "SHA-1 or short MACs")):
        if found := weak(kind, wire[field]):
            problems.append(f"offers {label} ({field}): {', '.join(found)}")
    extra = [name for name in wire["host_key_algorithms"] if name not in allowed]
    if extra:
        problems.append(f"offers host-key algorithms {', '.join(extra)} (allowed: {', '.join(allowed)})")
    if "ssh-ed25519" not in wire["host_key_algorithms"]:
        problems.append("offers no ed25519 host key")
    rsa = wire["rsa_host_key"]
    if not rsa.get("offered"):
        problems.append("offers no RSA host key with SHA-2 signatures")
    elif rsa["bits"] < minimum:
        problems.append(f"RSA host key is {rsa['bits']} bits < {minimum}")
    observed = {key: wire[key] for key in ("address", "banner", "host_key_algorithms", "kex_algorithms",
                                           "ciphers_server_to_client", "macs_server_to_client", "rsa_host_key")}
    return _verdict(problems, f"on the wire: ed25519 and RSA {rsa.get('bits')} bits with SHA-2, no SHA-1, no CBC",
                    observed)


SSH_HOST_KEY_ALGORITHMS = Check(
    id="sshd_host_key_algorithms_sha2", control_id="SSH-03",
    title="sshd signs and accepts keys with ed25519 or RSA/SHA-2 only, never ssh-rsa (SHA-1)",
    facts=("sshd_effective",), evaluate=evaluate_host_key_algorithms)
SSH_CIPHERS = Check(
    id="sshd_ciphers_strong", control_id="SSH-03", title="sshd offers no CBC or legacy ciphers",
    facts=("sshd_effective",), evaluate=_family_check("ciphers", "cipher", "CBC or legacy ciphers"))
SSH_MACS = Check(
    id="sshd_macs_strong", control_id="SSH-03", title="sshd offers no SHA-1, MD5 or 64-bit MACs",
    facts=("sshd_effective",), evaluate=_family_check("macs", "mac", "SHA-1, MD5 or 64-bit MACs"))
SSH_KEX = Check(
    id="sshd_kex_strong", control_id="SSH-03", title="sshd offers no SHA-1 or 1024-bit key exchange",
    facts=("sshd_effective",), evaluate=_family_check("kexalgorithms", "kex", "SHA-1 or 1024-bit key exchange"))
SSH_HOST_KEYS = Check(
    id="sshd_host_keys_strong", control_id="SSH-03",
    title="sshd loads an RSA host key of at least the minimum size and an ed25519 host key",
    facts=("sshd_host_keys",), evaluate=evaluate_host_keys)
SSH_WIRE = Check(
    id="ssh_wire_offers_strong_crypto", control_id="SSH-03",
    title="seen from the controller, the server offers only strong SSH crypto and a large enough RSA host key",
    facts=(), evaluate=evaluate_wire, probes=("ssh_wire",))

SSH_CRYPTO_CHECKS = (SSH_HOST_KEY_ALGORITHMS, SSH_CIPHERS, SSH_MACS, SSH_KEX, SSH_HOST_KEYS, SSH_WIRE)
