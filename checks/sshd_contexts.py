"""sshd in every context (SSH-01, SSH-03, SSH-04): each Match block of sshd's configuration is judged in the
effective configuration of a connection it applies to (`sshd -T -C`, collected by checks/collect/sshd.py
`sshd_match_contexts`), so a block at the end of a file cannot quietly re-enable passwords or root login,
weaken crypto, drop AllowGroups or allow forwarding. The general configuration (no Match applied) is judged
by the checks of checks/sshd.py and checks/sshd_crypto.py; these checks judge what each Match block changes.

A block that no connection spec can reach (a Group with no member, a criterion `sshd -T -C` cannot express)
is judged statically: its own keywords over the general configuration, and the evidence says so."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.model import Check, Facts, MissingFact, Outcome, Params, Status, command_output, fact_value
from checks.sshd import FORWARDING, parse_sshd_t, password_login_paths
from checks.sshd_crypto import weak

FACT = "sshd_match_contexts"
_LIST_KEYWORDS = {"pubkeyacceptedalgorithms", "hostbasedacceptedalgorithms", "casignaturealgorithms",
                  "hostkeyalgorithms", "ciphers", "macs", "kexalgorithms"}


@dataclass(frozen=True)
class Context:
    """One Match block and sshd's effective settings for a connection it applies to."""

    where: str  # "Match Address 198.18.0.0/15 (/etc/ssh/sshd_config:125)"
    how: str  # "sshd -T -C user=...,addr=..." or "static: ..."
    settings: dict[str, str]
    own: dict[str, str] = field(default_factory=dict)  # keyword -> "file:line" for what the block itself sets

    def source(self, keyword: str) -> str:
        return f"set at {self.own[keyword]}" if keyword in self.own else "set by another Match block that applies " \
                                                                         "to the same connection"


def _overlay(general: Mapping[str, str], keyword: str, value: str) -> str:
    """A block's own value as sshd would apply it: `+`, `-`, `^` edit the default list of algorithms."""
    if keyword in _LIST_KEYWORDS and value[:1] in "+-^":
        current = [name for name in general.get(keyword, "").split(",") if name]
        names = [name for name in value[1:].split(",") if name]
        if value[0] == "+":
            return ",".join(current + [n for n in names if n not in current])
        if value[0] == "^":
            return ",".join(names + [n for n in current if n not in names])
        return ",".join(n for n in current if n not in names)
    return value.lower() if value.lower() in ("yes", "no") else value


def contexts(facts: Facts) -> tuple[list[Context], dict[str, Any]]:
    """Every Match context, and what was enumerated (files read, blocks, how each was evaluated)."""
    general = parse_sshd_t(command_output(facts, "sshd_effective"))
    collected = fact_value(facts, FACT)
    found: list[Context] = []
    enumerated: list[dict[str, Any]] = []
    for block in collected.get("blocks", []):
        where = f"Match {block['criteria']} ({block['file']}:{block['line']})"
        own: dict[str, str] = {}
        values: dict[str, str] = {}
        for keyword, value, path, line in block.get("settings", []):
            own.setdefault(keyword, f"{path}:{line}")
            values.setdefault(keyword, value)
        if block.get("static"):
            settings = dict(general)
            settings.update({keyword: _overlay(general, keyword, value) for keyword, value in values.items()})
            how = "static (its own keywords over the general configuration): " + "; ".join(block.get("notes", []))
        else:
            label = f"{FACT}: {where}"
            settings = parse_sshd_t(command_output({label: block.get("effective") or {"error": "not run"}}, label))
            how = f"sshd -T -C {block['spec']}" + (f" ({'; '.join(block['notes'])})" if block.get("notes") else "")
        found.append(Context(where, how, settings, own))
        enumerated.append({"block": where, "evaluated": how, "sets": sorted(own)})
    files = list(collected.get("files", []))
    if not files:
        raise MissingFact(FACT, "no sshd configuration file was read", dict(collected))
    return found, {"files read": files, "Match blocks": len(found), "contexts": enumerated}


def _judge(facts: Facts, judge: Callable[[Context, dict[str, str]], list[str]], ok: str) -> Outcome:
    general = parse_sshd_t(command_output(facts, "sshd_effective"))
    found, observed = contexts(facts)
    problems = [f"{context.where}: {problem}" for context in found for problem in judge(context, general)]
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    if not found:
        return Outcome(Status.PASS, f"no Match block in {len(observed['files read'])} file(s): "
                                    "the general configuration applies to every connection", observed)
    return Outcome(Status.PASS, f"{ok} in all {len(found)} Match context(s)", observed)


def _changed(context: Context, general: Mapping[str, str], keyword: str) -> bool:
    """Judge a keyword in a context only where a Match block made it differ from the general configuration
    (the general value is the other checks' business)."""
    return context.settings.get(keyword) != general.get(keyword) or keyword in context.own


# --- SSH-01 -----------------------------------------------------------------------------------------------

_PATH_KEYWORD = {"PasswordAuthentication": "passwordauthentication", "PermitEmptyPasswords": "permitemptypasswords",
                 "KbdInteractiveAuthentication": "kbdinteractiveauthentication"}


def judge_login(context: Context, general: dict[str, str]) -> list[str]:
    problems = []
    root = context.settings.get("permitrootlogin", "(absent)")
    if root != "no" and _changed(context, general, "permitrootlogin"):
        problems.append(f"PermitRootLogin {root} ({context.source('permitrootlogin')}; {context.how})")
    general_paths = set(password_login_paths(general))
    for path in password_login_paths(context.settings):
        if path in general_paths:
            continue
        keyword = next((k for name, k in _PATH_KEYWORD.items() if path.startswith(name)), "authenticationmethods")
        if keyword not in context.own and "authenticationmethods" in context.own:
            keyword = "authenticationmethods"
        problems.append(f"{path} ({context.source(keyword)}; {context.how})")
    return problems


def evaluate_login_contexts(facts: Facts, params: Params) -> Outcome:
    return _judge(facts, judge_login, "no root login and no password path")


# --- SSH-03 -----------------------------------------------------------------------------------------------

_CRYPTO = (("pubkeyacceptedalgorithms", "signature", "SHA-1 signatures"),
           ("hostbasedacceptedalgorithms", "signature", "SHA-1 signatures"),
           ("casignaturealgorithms", "signature", "SHA-1 signatures"),
           ("hostkeyalgorithms", "signature", "SHA-1 signatures"),
           ("ciphers", "cipher", "CBC or legacy ciphers"),
           ("macs", "mac", "SHA-1, MD5 or 64-bit MACs"),
           ("kexalgorithms", "kex", "SHA-1 or 1024-bit key exchange"))


def judge_crypto(context: Context, general: dict[str, str]) -> list[str]:
    problems = []
    for keyword, kind, label in _CRYPTO:
        names = [name for name in context.settings.get(keyword, "").split(",") if name]
        found = weak(kind, names)
        if found and _changed(context, general, keyword):
            problems.append(f"{keyword} allows {label}: {', '.join(found)} ({context.source(keyword)}; {context.how})")
    return problems


def evaluate_crypto_contexts(facts: Facts, params: Params) -> Outcome:
    return _judge(facts, judge_crypto, "no SHA-1 signature, CBC cipher, weak MAC or SHA-1 key exchange")


# --- SSH-04 -----------------------------------------------------------------------------------------------

def _limits_judge(params: Params) -> Callable[[Context, dict[str, str]], list[str]]:
    def judge(context: Context, general: dict[str, str]) -> list[str]:
        problems = []
        for keyword, wanted in FORWARDING.items():
            value = context.settings.get(keyword, "(absent)")
            if value != wanted and _changed(context, general, keyword):
                problems.append(f"{keyword} {value} ({context.source(keyword)}; {context.how})")
        allowed = context.settings.get("allowgroups")
        if general.get("allowgroups") and allowed != general.get("allowgroups"):
            problems.append(f"AllowGroups is {allowed or '(none: every account with a key)'} instead of "
                            f"{general['allowgroups']} ({context.source('allowgroups')}; {context.how})")
        tries = context.settings.get("maxauthtries", "")
        if _changed(context, general, "maxauthtries") and (not tries.isdigit()
                                                           or int(tries) > params["max_auth_tries"]):
            problems.append(f"MaxAuthTries {tries} (at most {params['max_auth_tries']}; "
                            f"{context.source('maxauthtries')}; {context.how})")
        return problems
    return judge


def evaluate_limits_contexts(facts: Facts, params: Params) -> Outcome:
    return _judge(facts, _limits_judge(params), "forwarding off, AllowGroups kept, MaxAuthTries limited")


SSH_LOGIN_CONTEXTS = Check(
    id="sshd_match_contexts_no_root_no_password", control_id="SSH-01",
    title="no Match block of sshd re-enables root login or a password path",
    facts=("sshd_effective", FACT), evaluate=evaluate_login_contexts)
SSH_CRYPTO_CONTEXTS = Check(
    id="sshd_match_contexts_strong_crypto", control_id="SSH-03",
    title="no Match block of sshd accepts SHA-1 signatures or weaker algorithms",
    facts=("sshd_effective", FACT), evaluate=evaluate_crypto_contexts)
SSH_LIMITS_CONTEXTS = Check(
    id="sshd_match_contexts_limits", control_id="SSH-04",
    title="no Match block of sshd allows forwarding, drops AllowGroups or raises MaxAuthTries",
    facts=("sshd_effective", FACT), evaluate=evaluate_limits_contexts)

SSH_CONTEXT_CHECKS = (SSH_LOGIN_CONTEXTS, SSH_CRYPTO_CONTEXTS, SSH_LIMITS_CONTEXTS)
