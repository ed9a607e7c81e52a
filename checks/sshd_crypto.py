"""SSH-03: sshd offers only strong crypto per the policy's "SHA-256 with RSA", judged from its effective
configuration (`sshd -T`), the host keys it loads, and what it really offers on the wire (checks/probes/ssh_wire)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import checks.probes.ssh_wire  # noqa: F401 - registers the ssh_wire probe
from checks.model import Check, Facts, MissingFact, Outcome, Params, Status, command_output
from checks.sshd import parse_sshd_t

# What "SHA-256 with RSA" rules out, by algorithm family (patterns on OpenSSH algorithm names). A floor: refused
# even when an inventory puts them on an allow-list.
WEAK = {
    "cipher": re.compile(r"-cbc($|@)|^3des|arcfour|blowfish|cast128|^none$"),
    "mac": re.compile(r"sha1|md5|ripemd|-96($|-|@)|^umac-64"),
    "kex": re.compile(r"sha1$|sha1@|^diffie-hellman-group1-|^diffie-hellman-group14-sha1"),
    "signature": re.compile(r"^ssh-rsa($|-cert)|^ssh-dss"),
}

# Names in a kex list that announce protocol extensions (RFC 8308, strict kex against Terrapin), not a method.
PSEUDO_KEX = re.compile(r"^ext-info-[cs]$|^kex-strict-[cs]-v00@openssh\.com$")

# Why an algorithm off the allow-list is flagged, in ssh-audit's terms (first match wins; "signature" is the
# host-key family).
REASONS: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    "kex": ((re.compile(r"sha1"), "SHA-1"),
            (re.compile(r"^ecdh-sha2-"), "NIST P-curve key exchange"),
            (re.compile(r"^diffie-hellman-group(1|14)-"), "modulus of 2048 bits or less"),
            (re.compile(r"^(?!.*(mlkem|sntrup))"), "no post-quantum protection")),
    "cipher": ((re.compile(r"-cbc($|@)"), "CBC mode"), (re.compile(r"^none$"), "no encryption"),
               (re.compile(r"3des|arcfour|blowfish|cast128"), "legacy cipher")),
    "mac": ((re.compile(r"sha1|md5|ripemd"), "SHA-1/MD5/RIPEMD"), (re.compile(r"-96($|-|@)|^umac-64"), "short tag"),
            (re.compile(r"^(?!.*-etm@)"), "encrypt-and-MAC")),
    "signature": ((re.compile(r"^ssh-rsa($|-cert)"), "SHA-1 signature"), (re.compile(r"^ssh-dss"), "DSA"),
                  (re.compile(r"nistp"), "NIST P-curve")),
    "compression": ((re.compile(r"zlib"), "compression"),),
}


def weak(kind: str, names: Iterable[str]) -> list[str]:
    return [name for name in names if WEAK[kind].search(name)]


def reason(kind: str, name: str) -> str:
    return next((why for pattern, why in REASONS[kind] if pattern.search(name)), "not on the allow-list")


def judge(kind: str, names: Iterable[str], allowed: Iterable[str], compatible: Iterable[str]) -> tuple[
        list[str], list[str]]:
    """(flagged, kept): names neither allowed nor a declared compatibility choice, each with its reason (any name
    below the WEAK floor is flagged even if listed); and the declared compatibility choices that are offered."""
    allow, compat = set(allowed), set(compatible)
    flagged: list[str] = []
    kept: list[str] = []
    for name in dict.fromkeys(names):  # both directions, in order, once
        if kind == "kex" and PSEUDO_KEX.match(name):
            continue
        if (kind in WEAK and WEAK[kind].search(name)) or name not in allow | compat:
            flagged.append(f"{name} ({reason(kind, name)})")
        elif name not in allow:
            kept.append(name)
    return flagged, kept


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


def _allow_listed(kind: str, keyword: str, names: list[str], allowed: list[str], params: Params,
                  ok: str) -> Outcome:
    """Judge one sshd -T list against its allow-list and the declared compatibility choices (SSH-03's)."""
    flagged, kept = judge(kind, names, allowed, params["compatibility_algorithms"])
    observed: dict[str, Any] = {keyword: names, "allowed": allowed}
    if kept:
        observed["compatibility"] = {"algorithms": kept, "reason": params["compatibility_reason"]}
        ok += f"; kept for compatibility: {', '.join(kept)} ({params['compatibility_reason']})"
    problems = [f"{keyword} offers {', '.join(flagged)}, not on the allow-list"] if flagged else []
    return _verdict(problems, ok, observed)


def evaluate_ciphers(facts: Facts, params: Params) -> Outcome:
    return _allow_listed("cipher", "ciphers", _names(_effective(facts), "ciphers"), list(params["ciphers"]), params,
                         "ciphers: AEAD or CTR only, on the allow-list")


def evaluate_macs(facts: Facts, params: Params) -> Outcome:
    return _allow_listed("mac", "macs", _names(_effective(facts), "macs"), list(params["macs"]), params,
                         "macs: encrypt-then-MAC only, on the allow-list")


def evaluate_kex(facts: Facts, params: Params) -> Outcome:
    return _allow_listed("kex", "kexalgorithms", _names(_effective(facts), "kexalgorithms"),
                         list(params["kex_algorithms"]), params,
                         "kexalgorithms: post-quantum hybrid key exchange, on the allow-list")


def evaluate_compression_and_throttling(facts: Facts, params: Params) -> Outcome:
    """Compression off (or only as declared), and unauthenticated connections throttled against DHEat
    (CVE-2002-20001): MaxStartups, PerSourceMaxStartups, and PerSourcePenalties where sshd has it (OpenSSH >= 9.8)."""
    settings = _effective(facts)
    for keyword in ("compression", "maxstartups", "persourcemaxstartups"):
        if keyword not in settings:
            raise MissingFact("sshd_effective", f"sshd -T printed no {keyword}")
    problems = []
    compression = settings["compression"]
    if compression != "no" and "zlib@openssh.com" not in params["compression"]:
        problems.append(f"compression is {compression} (allowed on the wire: {', '.join(params['compression'])})")
    limit = int(params["max_per_source_startups"])
    per_source = settings["persourcemaxstartups"]
    if not per_source.isdigit() or int(per_source) > limit:
        problems.append(f"persourcemaxstartups is {per_source} (at most {limit} unauthenticated connections "
                        "per source)")
    observed: dict[str, Any] = {key: settings[key] for key in ("compression", "maxstartups", "persourcemaxstartups",
                                               "persourcepenalties", "persourcepenaltyexemptlist") if key in settings}
    if settings.get("persourcepenalties", "").startswith("no"):
        problems.append("persourcepenalties is no (OpenSSH penalises no misbehaving source)")
    return _verdict(problems, f"compression {compression}; at most {per_source} unauthenticated connections per "
                              f"source, maxstartups {settings['maxstartups']}"
                              + ("; per-source penalties on" if "persourcepenalties" in settings else ""), observed)


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


# KEXINIT lists judged on the wire: (family, the allow-list parameter's role, the lists of both directions).
WIRE_LISTS = (
    ("kex", "key exchange", ("kex_algorithms",)),
    ("signature", "host-key algorithms", ("host_key_algorithms",)),
    ("cipher", "ciphers", ("ciphers_client_to_server", "ciphers_server_to_client")),
    ("mac", "MACs", ("macs_client_to_server", "macs_server_to_client")),
    ("compression", "compression", ("compression_client_to_server", "compression_server_to_client")),
)


def evaluate_wire(facts: Facts, params: Params) -> Outcome:
    """What the server offers to a client, judged as ssh-audit judges it: every offered kex, host-key algorithm,
    cipher, MAC and compression method is on SSH-03's allow-lists or a declared compatibility choice."""
    wire = facts.get("ssh_wire")
    if not isinstance(wire, dict) or "error" in wire:
        raise MissingFact("ssh_wire", str((wire or {}).get("error", "probe did not run")))
    minimum = int(params["min_rsa_host_key_bits"])
    allow_lists = {"kex": params["kex_algorithms"], "signature": params["host_key_algorithms"],
                   "cipher": params["ciphers"], "mac": params["macs"], "compression": params["compression"]}
    compatible = list(params["compatibility_algorithms"])
    problems, kept = [], []
    not_allowed: dict[str, list[str]] = {}
    for kind, label, fields in WIRE_LISTS:
        offered = [name for field in fields for name in wire[field]]
        flagged, compat = judge(kind, offered, allow_lists[kind], compatible)
        if flagged:
            problems.append(f"offers {label} not on the allow-list: {', '.join(flagged)}")
            not_allowed[kind] = [entry.split(" (", 1)[0] for entry in flagged]
        kept += compat
    if "ssh-ed25519" not in wire["host_key_algorithms"]:
        problems.append("offers no ed25519 host key")
    rsa = wire["rsa_host_key"]
    if not rsa.get("offered"):
        problems.append("offers no RSA host key with SHA-2 signatures")
    elif rsa["bits"] < minimum:
        problems.append(f"RSA host key is {rsa['bits']} bits < {minimum}")
    observed = {key: wire[key] for key in ("address", "banner", "host_key_algorithms", "kex_algorithms",
                                           "ciphers_server_to_client", "macs_server_to_client",
                                           "compression_server_to_client", "rsa_host_key")}
    ok = (f"on the wire: ed25519 and RSA {rsa.get('bits')} bits with SHA-2, post-quantum hybrid key exchange, "
          "AEAD/CTR ciphers, encrypt-then-MAC MACs, no compression")
    if not_allowed:
        observed["not_allowed"] = not_allowed
    if kept:
        observed["compatibility"] = {"algorithms": kept, "reason": params["compatibility_reason"]}
        ok += f"; kept for compatibility: {', '.join(kept)} ({params['compatibility_reason']})"
    return _verdict(problems, ok, observed)


SSH_HOST_KEY_ALGORITHMS = Check(
    id="sshd_host_key_algorithms_sha2", control_id="SSH-03",
    title="sshd signs and accepts keys with ed25519 or RSA/SHA-2 only, never ssh-rsa (SHA-1)",
    facts=("sshd_effective",), evaluate=evaluate_host_key_algorithms)
SSH_CIPHERS = Check(
    id="sshd_ciphers_strong", control_id="SSH-03", title="sshd offers only the allowed ciphers (AEAD or CTR, no CBC)",
    facts=("sshd_effective",), evaluate=evaluate_ciphers)
SSH_MACS = Check(
    id="sshd_macs_strong", control_id="SSH-03",
    title="sshd offers only the allowed MACs (encrypt-then-MAC; no SHA-1, MD5 or 64-bit MACs)",
    facts=("sshd_effective",), evaluate=evaluate_macs)
SSH_KEX = Check(
    id="sshd_kex_strong", control_id="SSH-03",
    title="sshd offers only the allowed key exchange (post-quantum hybrid; no NIST curves, SHA-1 or small groups)",
    facts=("sshd_effective",), evaluate=evaluate_kex)
SSH_COMPRESSION_THROTTLING = Check(
    id="sshd_compression_off_and_throttled", control_id="SSH-03",
    title="sshd compresses nothing and throttles unauthenticated connections (DHEat)",
    facts=("sshd_effective",), evaluate=evaluate_compression_and_throttling)
SSH_HOST_KEYS = Check(
    id="sshd_host_keys_strong", control_id="SSH-03",
    title="sshd loads an RSA host key of at least the minimum size and an ed25519 host key",
    facts=("sshd_host_keys",), evaluate=evaluate_host_keys)
SSH_WIRE = Check(
    id="ssh_wire_offers_strong_crypto", control_id="SSH-03",
    title="seen from the controller, the server offers only allowed SSH crypto (as ssh-audit judges it) and a large "
          "enough RSA host key",
    facts=(), evaluate=evaluate_wire, probes=("ssh_wire",))

SSH_CRYPTO_CHECKS = (SSH_HOST_KEY_ALGORITHMS, SSH_CIPHERS, SSH_MACS, SSH_KEX, SSH_COMPRESSION_THROTTLING, SSH_HOST_KEYS,
                     SSH_WIRE)
