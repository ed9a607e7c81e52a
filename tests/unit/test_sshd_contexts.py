"""sshd in every Match context (checks/sshd_contexts.py) from fact fixtures, and the collector's pure helpers
that build a connection spec from a Match block's criteria (checks/collect/sshd.py)."""

from __future__ import annotations

from typing import Any

import pytest

from checks.collect import sshd as collect
from checks.model import MissingFact, Status
from checks.sshd_contexts import (
    evaluate_crypto_contexts,
    evaluate_limits_contexts,
    evaluate_login_contexts,
)

GENERAL = """\
usepam yes
permitrootlogin no
passwordauthentication no
kbdinteractiveauthentication no
permitemptypasswords no
authenticationmethods any
pubkeyacceptedalgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256
hostkeyalgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256
casignaturealgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256
ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com
macs hmac-sha2-512-etm@openssh.com
kexalgorithms curve25519-sha256
allowgroups ops stockade
maxauthtries 3
allowtcpforwarding no
allowstreamlocalforwarding no
allowagentforwarding no
x11forwarding no
permittunnel no
gatewayports no
"""
PARAMS = {"max_auth_tries": 4}
SPEC = "user=root,host=stockade-audit.invalid,addr=198.18.0.1,laddr=127.0.0.1,lport=22"


def ok(stdout: str) -> dict[str, Any]:
    return {"command": ["sshd", "-T"], "rc": 0, "stdout": stdout, "stderr": ""}


def block(criteria: str, settings: list[tuple[str, str]], effective: str | None, line: int = 125,
          path: str = "/etc/ssh/sshd_config") -> dict[str, Any]:
    entry: dict[str, Any] = {"file": path, "line": line, "criteria": criteria,
                             "settings": [[k, v, path, line + 1 + i] for i, (k, v) in enumerate(settings)],
                             "notes": []}
    if effective is None:
        entry.update(static=True, notes=["no account is a member of nobody-here"])
    else:
        entry.update(static=False, spec=SPEC, effective=ok(effective))
    return entry


def facts(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"sshd_effective": ok(GENERAL),
            "sshd_match_contexts": {"files": ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/00-stockade.conf"],
                                    "blocks": list(blocks)}}


def test_no_match_block_passes_and_says_what_was_read() -> None:
    for evaluate in (evaluate_login_contexts, evaluate_crypto_contexts):
        outcome = evaluate(facts(), PARAMS)
        assert outcome.status is Status.PASS
        assert "no Match block in 2 file(s)" in outcome.message
        assert outcome.observed["files read"][1].endswith("00-stockade.conf")


def test_match_address_reenabling_passwords_fails_naming_file_line_and_block() -> None:
    planted = block("Address 198.18.0.0/15", [("passwordauthentication", "yes")],
                    GENERAL.replace("passwordauthentication no", "passwordauthentication yes"))
    outcome = evaluate_login_contexts(facts(planted), PARAMS)
    assert outcome.status is Status.FAIL
    assert "Match Address 198.18.0.0/15 (/etc/ssh/sshd_config:125)" in outcome.message
    assert "PasswordAuthentication is not no (set at /etc/ssh/sshd_config:126" in outcome.message
    assert f"sshd -T -C {SPEC}" in outcome.message
    assert outcome.observed["Match blocks"] == 1


def test_match_user_root_permit_root_login_fails() -> None:
    planted = block("User root", [("permitrootlogin", "yes")],
                    GENERAL.replace("permitrootlogin no", "permitrootlogin yes"))
    outcome = evaluate_login_contexts(facts(planted), PARAMS)
    assert outcome.status is Status.FAIL
    assert "Match User root" in outcome.message and "PermitRootLogin yes (set at" in outcome.message


def test_harmless_match_block_passes() -> None:
    totp = block("Group ops-totp", [("authenticationmethods", "publickey,keyboard-interactive"),
                                    ("kbdinteractiveauthentication", "yes")],
                 GENERAL.replace("authenticationmethods any", "authenticationmethods publickey,keyboard-interactive")
                 .replace("kbdinteractiveauthentication no", "kbdinteractiveauthentication yes"))
    for evaluate in (evaluate_login_contexts, evaluate_crypto_contexts, evaluate_limits_contexts):
        outcome = evaluate(facts(totp), PARAMS)
        assert outcome.status is Status.PASS, outcome.message
        assert "in all 1 Match context(s)" in outcome.message


def test_kbd_interactive_without_a_key_in_a_match_block_fails() -> None:
    planted = block("Address 10.0.0.0/8", [("kbdinteractiveauthentication", "yes")],
                    GENERAL.replace("kbdinteractiveauthentication no", "kbdinteractiveauthentication yes"))
    outcome = evaluate_login_contexts(facts(planted), PARAMS)
    assert outcome.status is Status.FAIL and "KbdInteractiveAuthentication through PAM" in outcome.message


def test_static_block_for_a_group_without_members_is_judged_from_its_own_keywords() -> None:
    planted = block("Group nobody-here", [("PasswordAuthentication".lower(), "Yes")], None)
    outcome = evaluate_login_contexts(facts(planted), PARAMS)
    assert outcome.status is Status.FAIL
    assert "static (its own keywords over the general configuration): no account is a member" in outcome.message


def test_inherited_value_is_attributed_to_another_block() -> None:
    # Block A applies to the same connection as a block B that sets the password: A does not set it itself.
    planted = block("Address 198.18.0.0/15", [("x11forwarding", "no")],
                    GENERAL.replace("passwordauthentication no", "passwordauthentication yes"))
    outcome = evaluate_login_contexts(facts(planted), PARAMS)
    assert outcome.status is Status.FAIL and "set by another Match block" in outcome.message


def test_weaker_pubkey_algorithms_in_a_match_block_fail_ssh03() -> None:
    weaker = GENERAL.replace("pubkeyacceptedalgorithms ssh-ed25519,", "pubkeyacceptedalgorithms ssh-rsa,ssh-ed25519,")
    planted = block("User alice", [("pubkeyacceptedalgorithms", "+ssh-rsa")], weaker)
    outcome = evaluate_crypto_contexts(facts(planted), PARAMS)
    assert outcome.status is Status.FAIL
    assert "pubkeyacceptedalgorithms allows SHA-1 signatures: ssh-rsa (set at /etc/ssh/sshd_config:126" \
        in outcome.message


def test_static_overlay_applies_plus_syntax() -> None:
    planted = block("Group nobody-here", [("pubkeyacceptedalgorithms", "+ssh-rsa")], None)
    outcome = evaluate_crypto_contexts(facts(planted), PARAMS)
    assert outcome.status is Status.FAIL and "ssh-rsa" in outcome.message


def test_forwarding_allowgroups_and_tries_in_a_match_block_fail_ssh04() -> None:
    text = (GENERAL.replace("allowtcpforwarding no", "allowtcpforwarding yes")
            .replace("maxauthtries 3", "maxauthtries 10"))
    planted = block("Address 198.18.0.0/15", [("allowtcpforwarding", "yes"), ("maxauthtries", "10")], text)
    outcome = evaluate_limits_contexts(facts(planted), PARAMS)
    assert outcome.status is Status.FAIL
    assert "allowtcpforwarding yes (set at /etc/ssh/sshd_config:126" in outcome.message
    assert "MaxAuthTries 10 (at most 4" in outcome.message
    dropped = block("Address 198.18.0.0/15", [("allowgroups", "*")],
                    GENERAL.replace("allowgroups ops stockade", "allowgroups *"))
    outcome = evaluate_limits_contexts(facts(dropped), PARAMS)
    assert outcome.status is Status.FAIL and "AllowGroups is * instead of ops stockade" in outcome.message


def test_failed_sshd_t_or_missing_fact_is_an_error() -> None:
    broken = block("User x", [], GENERAL)
    broken["effective"] = {"command": ["sshd"], "rc": 255, "stdout": "", "stderr": "bad spec"}
    with pytest.raises(MissingFact):
        evaluate_login_contexts(facts(broken), PARAMS)
    with pytest.raises(MissingFact):
        evaluate_login_contexts({"sshd_effective": ok(GENERAL)}, PARAMS)


# --- the collector's spec building (pure parts) ------------------------------------------------------------

def test_criteria_parsing() -> None:
    assert collect._sshdctx_criteria("all") == []
    assert collect._sshdctx_criteria("User alice,bob Address 10.0.0.0/8") == [("user", "alice,bob"),
                                                                               ("address", "10.0.0.0/8")]
    assert collect._sshdctx_criteria("User") is None
    assert collect._sshdctx_keyword("PasswordAuthentication=yes") == ("passwordauthentication", "yes")
    assert collect._sshdctx_keyword("Match  Address 1.2.3.4") == ("match", "Address 1.2.3.4")


def test_pattern_lists_follow_sshd_negation() -> None:
    assert collect._sshdctx_pattern_match("*,!root", "alice")
    assert not collect._sshdctx_pattern_match("*,!root", "root")
    assert not collect._sshdctx_pattern_match("!root", "alice")  # negations alone never match
    assert collect._sshdctx_addr_match("198.18.0.0/15", "198.19.0.1")
    assert not collect._sshdctx_addr_match("10.0.0.0/8,!10.1.0.0/16", "10.1.2.3")


def test_spec_for_address_and_port_criteria() -> None:
    spec, _ = collect._sshdctx_spec([("address", "198.18.0.0/15"), ("localport", "2222")])
    assert spec is not None and spec["addr"] == "198.18.0.1" and spec["lport"] == "2222"
    spec, _ = collect._sshdctx_spec([("address", "10.0.*")])
    assert spec is not None and spec["addr"] == "10.0.1.1"
    spec, notes = collect._sshdctx_spec([("user", "root")])
    assert spec is not None and spec["user"] == "root" and "exists" in notes[0]
    spec, notes = collect._sshdctx_spec([("user", "!root")])
    assert spec is None and "never match" in notes[0]
    spec, notes = collect._sshdctx_spec([("exec", "true")])
    assert spec is None
    spec, notes = collect._sshdctx_spec([("group", "stockade-no-such-group")])
    assert spec is None and "no account is a member" in notes[0]


def test_general_view_falls_back_to_a_connection_no_block_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake(argv: list[str]) -> dict[str, Any]:
        calls.append(argv)
        if "-C" not in argv:
            return {"command": argv, "rc": 255, "stdout": "",
                    "stderr": "'Match LocalPort' in configuration but 'lport' not in connection test specification."}
        return ok("permitrootlogin no\n")

    monkeypatch.setattr(collect, "run_command", fake)
    result = collect.sshd_effective()
    assert result["rc"] == 0 and "plain sshd -T refused" in result["note"]
    assert calls[1][-1].startswith("user=stockade-audit-none,") and "lport=65535" in calls[1][-1]
