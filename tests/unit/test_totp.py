"""MFA-01 evaluators and the login probe's inventory handling, on samples from real Debian 13 lab hosts."""

from __future__ import annotations

from typing import Any

import pytest

from checks.model import MissingFact, Status
from checks.probes.login import _option, elected_accounts
from checks.totp import evaluate_enrolment, evaluate_logins, evaluate_sshd, requires_key_and_code

PARAMS = {"exempt_accounts": ["stockade"], "probe_key_file": ""}
PAM_SSHD_FRESH = "# PAM configuration for the Secure Shell service\n\n@include common-auth\n" \
                 "account    required     pam_nologin.so\n@include common-account\n"
PAM_SSHD_HARDENED = "# BEGIN Stockade MFA-01 (roles/totp)\n" \
                    "auth [success=done new_authtok_reqd=done default=die] pam_google_authenticator.so\n" \
                    "# END Stockade MFA-01 (roles/totp)\n" + PAM_SSHD_FRESH
KEY_ONLY = {"usepam": "yes", "pubkeyauthentication": "yes", "passwordauthentication": "no",
            "kbdinteractiveauthentication": "no", "permitemptypasswords": "no", "authenticationmethods": "any"}
KEY_AND_CODE = {**KEY_ONLY, "kbdinteractiveauthentication": "yes",
                "authenticationmethods": "publickey,keyboard-interactive"}
PROBE_ELECTED = {"elected": ["alice"], "key_file": "/lab/id", "accounts": {}, "exempt": {}}


def facts(per_user: dict[str, Any], pam_sshd: str, probe: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"sshd_auth_per_user": per_user, "pam_sshd": {"path": "/etc/pam.d/sshd", "content": pam_sshd},
            "mfa_login": probe or PROBE_ELECTED}


def test_requires_key_and_code() -> None:
    assert requires_key_and_code("publickey,keyboard-interactive")
    assert requires_key_and_code("publickey,keyboard-interactive:pam publickey,password,keyboard-interactive")
    assert not requires_key_and_code("any")
    assert not requires_key_and_code("publickey")
    assert not requires_key_and_code("publickey,keyboard-interactive publickey")


def test_sshd_fails_fresh_passes_hardened() -> None:
    fresh = evaluate_sshd(facts({"stockade": KEY_ONLY, "alice": KEY_ONLY}, PAM_SSHD_FRESH), PARAMS)
    assert fresh.status is Status.FAIL
    assert "pam_google_authenticator is not in sshd's auth stack" in fresh.message
    assert "alice: AuthenticationMethods is any" in fresh.message
    hardened = evaluate_sshd(facts({"stockade": KEY_ONLY, "alice": KEY_AND_CODE}, PAM_SSHD_HARDENED), PARAMS)
    assert hardened.status is Status.PASS, hardened.message


def test_sshd_nullok_and_order_are_caught() -> None:
    nullok = PAM_SSHD_HARDENED.replace("pam_google_authenticator.so", "pam_google_authenticator.so nullok")
    outcome = evaluate_sshd(facts({"stockade": KEY_ONLY, "alice": KEY_AND_CODE}, nullok), PARAMS)
    assert outcome.status is Status.FAIL and "nullok" in outcome.message
    late = PAM_SSHD_FRESH + "auth required pam_google_authenticator.so\n"
    outcome = evaluate_sshd(facts({"stockade": KEY_ONLY, "alice": KEY_AND_CODE}, late), PARAMS)
    assert outcome.status is Status.FAIL and "after @include common-auth" in outcome.message


def test_nothing_elected_is_skipped_never_passed() -> None:
    probe = {**PROBE_ELECTED, "elected": []}
    assert evaluate_sshd(facts({"stockade": KEY_ONLY}, PAM_SSHD_FRESH, probe), PARAMS).status is Status.SKIPPED
    assert evaluate_enrolment({"totp_enrolment": {}, "mfa_login": probe}, PARAMS).status is Status.SKIPPED


def test_enrolment_checks_metadata_only() -> None:
    missing = {"alice": {"path": "/home/alice/.google_authenticator", "exists": False}}
    outcome = evaluate_enrolment({"totp_enrolment": missing, "mfa_login": PROBE_ELECTED}, PARAMS)
    assert outcome.status is Status.FAIL and "no ~/.google_authenticator" in outcome.message
    good = {"alice": {"path": "/home/alice/.google_authenticator", "exists": True, "regular_file": True,
                      "owner": "alice", "mode": "0400"}}
    assert evaluate_enrolment({"totp_enrolment": good, "mfa_login": PROBE_ELECTED}, PARAMS).status is Status.PASS
    loose = {"alice": {**good["alice"], "mode": "0644", "owner": "root"}}
    outcome = evaluate_enrolment({"totp_enrolment": loose, "mfa_login": PROBE_ELECTED}, PARAMS)
    assert outcome.status is Status.FAIL and "mode 0644" in outcome.message and "owned by root" in outcome.message


HARDENED_TRIALS = {
    "key_alone": {"result": "partial", "then": ["keyboard-interactive"]},
    "key_and_code": {"result": "accepted", "prompts": ["Verification code: "], "step": 0},
    "same_code_again": {"result": "refused", "prompts": ["Verification code: "], "detail": "Authentication failed."},
}
FRESH_TRIALS = {"key_alone": {"result": "accepted"},
                "key_and_code": {"result": "not tried", "publickey": {"result": "accepted"}, "step": 1},
                "same_code_again": {"result": "not tried"}}
EXEMPT_OK = {"stockade": {"key_alone": {"result": "accepted"}}}


def test_logins_fresh_fail_hardened_pass() -> None:
    fresh = {**PROBE_ELECTED, "accounts": {"alice": FRESH_TRIALS}, "exempt": EXEMPT_OK}
    outcome = evaluate_logins({"mfa_login": fresh}, PARAMS)
    assert outcome.status is Status.FAIL and "the key alone opened a session" in outcome.message
    hardened = {**PROBE_ELECTED, "accounts": {"alice": HARDENED_TRIALS}, "exempt": EXEMPT_OK}
    assert evaluate_logins({"mfa_login": hardened}, PARAMS).status is Status.PASS


def test_reused_code_accepted_and_automation_locked_out_fail() -> None:
    reuse = {**HARDENED_TRIALS, "same_code_again": {"result": "accepted"}}
    locked = {"stockade": {"key_alone": {"result": "partial", "then": ["keyboard-interactive"]}}}
    outcome = evaluate_logins({"mfa_login": {**PROBE_ELECTED, "accounts": {"alice": reuse}, "exempt": locked}},
                              PARAMS)
    assert outcome.status is Status.FAIL
    assert "reused TOTP code was accepted" in outcome.message and "automation account stockade" in outcome.message


def test_logins_that_cannot_be_judged_are_errors() -> None:
    no_seed = {**PROBE_ELECTED, "accounts": {"alice": {"error": "no seed for this account in the inventory"}}}
    with pytest.raises(MissingFact):
        evaluate_logins({"mfa_login": no_seed}, PARAMS)
    wrong_key = {**PROBE_ELECTED, "accounts": {"alice": {**HARDENED_TRIALS, "key_alone": {"result": "refused"}}}}
    with pytest.raises(MissingFact):
        evaluate_logins({"mfa_login": wrong_key}, PARAMS)
    with pytest.raises(MissingFact):
        evaluate_logins({"mfa_login": {"error": "ConnectionRefusedError"}}, PARAMS)


def test_elected_accounts_from_the_inventory() -> None:
    users = [{"name": "bob", "totp": True}, {"name": "carol", "totp": False}, {"name": "alice", "totp": True},
             {"name": "dave"}]
    assert elected_accounts({"accounts_ops_users": users}) == ["alice", "bob"]
    assert elected_accounts({"totp_users": ["zed"], "accounts_ops_users": users}) == ["zed"]
    assert elected_accounts({}) == []


def test_known_hosts_option_is_read_from_ssh_args() -> None:
    options = ("-i", "/k", "-o", "UserKnownHostsFile=/lab/known_hosts", "-o", "StrictHostKeyChecking=yes")
    assert _option(options, "UserKnownHostsFile") == "/lab/known_hosts"
    assert _option(("-oUserKnownHostsFile=/x",), "userknownhostsfile") == "/x"
    assert _option(options, "Port") is None
