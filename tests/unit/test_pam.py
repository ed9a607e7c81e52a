"""PAM-01 and PAM-02 evaluators on samples from real Debian 13 lab hosts (fresh and hardened)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from checks.collect.pam import pam_hash_scheme
from checks.model import MissingFact, Status
from checks.pam import (
    evaluate_aging,
    evaluate_faillock,
    evaluate_hash_config,
    evaluate_no_empty_passwords,
    evaluate_pwhistory,
    evaluate_pwquality_config,
    evaluate_pwquality_trial,
    evaluate_shadow_schemes,
    pam_lines,
)

PAM01 = {"min_length": 14, "min_classes": 3, "max_failures": 5, "min_unlock_seconds": 900, "remember": 5,
         "max_days": 365, "min_days": 1, "warn_days": 7, "exempt_accounts": ["stockade"]}
PAM02 = {"hash_algorithm": "yescrypt"}

FRESH_AUTH = """# /etc/pam.d/common-auth - authentication settings common to all services
auth\t[success=1 default=ignore]\tpam_unix.so nullok
auth\trequisite\t\t\tpam_deny.so
auth\trequired\t\t\tpam_permit.so
"""
FRESH_ACCOUNT = """account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so
account\trequisite\t\t\tpam_deny.so
account\trequired\t\t\tpam_permit.so
"""
FRESH_PASSWORD = """password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt
password\trequisite\t\t\tpam_deny.so
password\trequired\t\t\tpam_permit.so
"""
HARDENED_AUTH = """auth\t[success=1 default=ignore]\tpam_succeed_if.so quiet user in stockade
auth\trequisite\tpam_faillock.so preauth
auth\t[success=3 default=ignore]\tpam_unix.so try_first_pass
auth\t[success=1 default=ignore]\tpam_succeed_if.so quiet user in stockade
auth\t[default=die]\tpam_faillock.so authfail
auth\trequisite\t\t\tpam_deny.so
auth\trequired\t\t\tpam_permit.so
"""
HARDENED_ACCOUNT = "account\trequired\tpam_faillock.so \n" + FRESH_ACCOUNT
HARDENED_PASSWORD = """password\trequisite\t\t\tpam_pwquality.so retry=3
password\trequisite\tpam_pwhistory.so remember=5 enforce_for_root use_authtok
password\t[success=1 default=ignore]\tpam_unix.so obscure use_authtok try_first_pass yescrypt
password\trequisite\t\t\tpam_deny.so
password\trequired\t\t\tpam_permit.so
"""
FAILLOCK_FRESH = "# deny = 3\n# unlock_time = 600\n"
FAILLOCK_HARDENED = "#\n# Ansible managed\n#\ndeny = 5\nfail_interval = 900\nunlock_time = 900\n"
LOGIN_DEFS_13 = ("MAIL_DIR        /var/mail\nENV_SUPATH\tPATH=/usr/local/sbin:/usr/bin\nPASS_MAX_DAYS\t99999\n"
                 "PASS_MIN_DAYS\t0\nPASS_WARN_AGE\t7\nUID_MIN\t\t\t 1000\nENCRYPT_METHOD YESCRYPT\n")
LOGIN_DEFS_12 = LOGIN_DEFS_13.replace("ENCRYPT_METHOD YESCRYPT", "ENCRYPT_METHOD SHA512")
LOGIN_DEFS_HARDENED = LOGIN_DEFS_13.replace("99999", "365").replace("MIN_DAYS\t0", "MIN_DAYS\t1") \
    .replace("WARN_AGE\t7", "WARN_AGE\t14")
PWQUALITY_HARDENED = {"files": [
    {"path": "/etc/security/pwquality.conf", "settings": {}},
    {"path": "/etc/security/pwquality.conf.d/50-stockade.conf",
     "settings": {"minlen": "14", "minclass": "3", "dcredit": "0", "ucredit": "0", "lcredit": "0", "ocredit": "0",
                  "maxrepeat": "3", "difok": "5", "dictcheck": "1", "usercheck": "1", "enforce_for_root": ""}}]}


def account(name: str, uid: int, scheme: str = "none", usable: bool = False, empty: bool = False,
            max_days: str = "99999", min_days: str = "0", warn: str = "7") -> dict[str, Any]:
    return {"name": name, "uid": uid, "usable": usable, "empty": empty, "scheme": scheme, "last_change": "20786",
            "min_days": min_days, "max_days": max_days, "warn_days": warn}


SHADOW_FRESH = [account("root", 0), account("stockade", 1000)]


def files(**contents: str) -> dict[str, dict[str, str]]:
    return {name: {"path": name, "content": text} for name, text in contents.items()}


def test_pam_lines_keep_bracketed_controls_whole_and_tabs() -> None:
    [first, *_] = pam_lines(HARDENED_AUTH, "auth")
    assert first == ["auth", "[success=1 default=ignore]", "pam_succeed_if.so", "quiet", "user", "in", "stockade"]
    assert pam_lines("@include common-auth\n# auth required x.so\n", "auth") == [["@include", "common-auth"]]


def test_hash_scheme_reports_ids_never_hashes() -> None:
    assert pam_hash_scheme("$y$j9T$abc$def") == {"usable": True, "empty": False, "scheme": "yescrypt"}
    assert pam_hash_scheme("!$6$salt$hash")["scheme"] == "sha512crypt"
    assert pam_hash_scheme("!$6$salt$hash")["usable"] is False
    assert pam_hash_scheme("") == {"usable": False, "empty": True, "scheme": "none"}
    assert pam_hash_scheme("abcdefghijklm")["scheme"] == "descrypt"
    assert pam_hash_scheme("$1$x$y")["scheme"] == "md5crypt"
    assert pam_hash_scheme("*") == {"usable": False, "empty": False, "scheme": "none"}


def test_pwquality_config_fails_fresh_and_passes_hardened() -> None:
    fresh = evaluate_pwquality_config({**files(pam_common_password=FRESH_PASSWORD),
                                       "pwquality_settings": {"files": [{"path": "/etc/security/pwquality.conf",
                                                                         "settings": {}}]}}, PAM01)
    assert fresh.status is Status.FAIL and "not in the password stack" in fresh.message
    hardened = evaluate_pwquality_config({**files(pam_common_password=HARDENED_PASSWORD),
                                          "pwquality_settings": PWQUALITY_HARDENED}, PAM01)
    assert hardened.status is Status.PASS, hardened.message


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("minlen", "8", "minlen is 8"), ("minclass", "1", "minclass is 1"), ("dictcheck", "0", "dictcheck is off"),
    ("dcredit", "1", "dcredit is 1"),
])
def test_pwquality_config_names_the_weak_setting(key: str, value: str, expected: str) -> None:
    settings = {**PWQUALITY_HARDENED["files"][1]["settings"], key: value}  # type: ignore[index]
    facts = {**files(pam_common_password=HARDENED_PASSWORD),
             "pwquality_settings": {"files": [{"path": "/x.conf", "settings": settings}]}}
    outcome = evaluate_pwquality_config(facts, PAM01)
    assert outcome.status is Status.FAIL and expected in outcome.message


def test_pwquality_without_enforce_for_root_and_conflicting_files_fail() -> None:
    settings = {k: v for k, v in PWQUALITY_HARDENED["files"][1]["settings"].items()  # type: ignore[index]
                if k != "enforce_for_root"}
    facts = {**files(pam_common_password=HARDENED_PASSWORD), "pwquality_settings": {"files": [
        {"path": "/etc/security/pwquality.conf", "settings": {"minlen": "8"}},
        {"path": "/etc/security/pwquality.conf.d/50-stockade.conf", "settings": settings}]}}
    outcome = evaluate_pwquality_config(facts, PAM01)
    assert outcome.status is Status.FAIL
    assert "enforce_for_root" in outcome.message and "minlen is 8 in /etc/security/pwquality.conf" in outcome.message


def trial(accepted: dict[str, bool]) -> dict[str, Any]:
    return {"module_in_stack": True, "stack_line": "password requisite pam_pwquality.so retry=3", "caller": "root",
            "trials": {label: {"length": 10, "classes": 2, "accepted": ok, "pam_result": "x", "messages": []}
                       for label, ok in accepted.items()}}


def test_pwquality_trial_verdicts() -> None:
    good = trial({"dictionary word": False, "short": False, "compliant (32 random characters, 4 classes)": True})
    assert evaluate_pwquality_trial({"pwquality_trial": good}, PAM01).status is Status.PASS
    weak_in = trial({"dictionary word": True, "compliant (32)": True})
    outcome = evaluate_pwquality_trial({"pwquality_trial": weak_in}, PAM01)
    assert outcome.status is Status.FAIL and "weak password accepted: dictionary word" in outcome.message
    assert evaluate_pwquality_trial({"pwquality_trial": {"module_in_stack": False}}, PAM01).status is Status.FAIL
    broken = trial({"short": False})
    broken["trials"]["short"] = {"length": 1, "classes": 1, "error": "pam_start_confdir returned 4"}
    with pytest.raises(MissingFact):
        evaluate_pwquality_trial({"pwquality_trial": broken}, PAM01)
    with pytest.raises(MissingFact):
        evaluate_pwquality_trial({}, PAM01)


def test_faillock_fresh_fails_hardened_passes_and_reports_exemptions() -> None:
    fresh = evaluate_faillock(files(pam_common_auth=FRESH_AUTH, pam_common_account=FRESH_ACCOUNT,
                                    faillock_conf=FAILLOCK_FRESH), PAM01)
    assert fresh.status is Status.FAIL and "pam_faillock is not in the stack" in fresh.message
    hardened = evaluate_faillock(files(pam_common_auth=HARDENED_AUTH, pam_common_account=HARDENED_ACCOUNT,
                                       faillock_conf=FAILLOCK_HARDENED), PAM01)
    assert hardened.status is Status.PASS, hardened.message
    assert hardened.observed["exempt from lockout"] == ["stockade"]
    lax = evaluate_faillock(files(pam_common_auth=HARDENED_AUTH, pam_common_account=HARDENED_ACCOUNT,
                                  faillock_conf="deny = 50\nunlock_time = 60\n"), PAM01)
    assert lax.status is Status.FAIL and "deny is 50" in lax.message and "unlock_time is 60" in lax.message


def test_pwhistory() -> None:
    assert evaluate_pwhistory(files(pam_common_password=FRESH_PASSWORD), PAM01).status is Status.FAIL
    assert evaluate_pwhistory(files(pam_common_password=HARDENED_PASSWORD), PAM01).status is Status.PASS
    short = HARDENED_PASSWORD.replace("remember=5", "remember=2")
    outcome = evaluate_pwhistory(files(pam_common_password=short), PAM01)
    assert outcome.status is Status.FAIL and "remember is 2" in outcome.message


def pam_d(**contents: str) -> dict[str, dict[str, dict[str, str]]]:
    return {"pam_d_files": {"files": {name.replace("_", "-"): text for name, text in contents.items()}}}


def test_no_empty_passwords() -> None:
    fresh = evaluate_no_empty_passwords({**pam_d(common_auth=FRESH_AUTH, common_password=FRESH_PASSWORD,
                                                 common_account=FRESH_ACCOUNT),
                                         "shadow_summary": SHADOW_FRESH}, PAM01)
    assert fresh.status is Status.FAIL and "common-auth:2: auth [success=1 default=ignore] pam_unix.so nullok" \
        in fresh.message
    hardened_facts = {**pam_d(common_auth=HARDENED_AUTH, common_password=HARDENED_PASSWORD,
                              common_account=HARDENED_ACCOUNT), "shadow_summary": SHADOW_FRESH}
    assert evaluate_no_empty_passwords(hardened_facts, PAM01).status is Status.PASS
    empty = {**hardened_facts, "shadow_summary": [*SHADOW_FRESH, account("bob", 1001, empty=True)]}
    outcome = evaluate_no_empty_passwords(empty, PAM01)
    assert outcome.status is Status.FAIL and "bob" in outcome.message
    # nullok in any file, on any module (pam_unix in common-password, a service of its own)
    anywhere = pam_d(common_auth=HARDENED_AUTH, common_password=HARDENED_PASSWORD.replace("obscure", "nullok obscure"),
                     sshd="auth required pam_google_authenticator.so nullok\n")
    outcome = evaluate_no_empty_passwords({**anywhere, "shadow_summary": SHADOW_FRESH}, PAM01)
    assert "common-password:3" in outcome.message and "sshd:1" in outcome.message


def test_faillock_reads_the_last_line_as_pam_faillock_does() -> None:
    for appended, expected in (("deny = 0\n", "deny is 0 (0 disables the lockout)"), ("deny = 50\n", "deny is 50")):
        outcome = evaluate_faillock(files(pam_common_auth=HARDENED_AUTH, pam_common_account=HARDENED_ACCOUNT,
                                          faillock_conf=FAILLOCK_HARDENED + appended), PAM01)
        assert outcome.status is Status.FAIL and expected in outcome.message


def test_login_defs_last_line_wins() -> None:
    alice = account("alice", 1001, "yescrypt", usable=True, max_days="365", min_days="1", warn="14")
    shadow = {"shadow_summary": [*SHADOW_FRESH, alice]}
    appended = evaluate_aging({**files(login_defs=LOGIN_DEFS_HARDENED + "PASS_MAX_DAYS 99999\n"), **shadow}, PAM01)
    assert appended.status is Status.FAIL and "PASS_MAX_DAYS is 99999" in appended.message


def test_aging() -> None:
    fresh = evaluate_aging({**files(login_defs=LOGIN_DEFS_13), "shadow_summary": SHADOW_FRESH}, PAM01)
    assert fresh.status is Status.FAIL and "PASS_MAX_DAYS is 99999" in fresh.message
    alice = account("alice", 1001, "yescrypt", usable=True, max_days="365", min_days="1", warn="14")
    hardened = {**files(login_defs=LOGIN_DEFS_HARDENED), "shadow_summary": [*SHADOW_FRESH, alice]}
    outcome = evaluate_aging(hardened, PAM01)
    assert outcome.status is Status.PASS and outcome.observed["aged accounts"] == ["alice"]
    bob = account("bob", 1002, "yescrypt", usable=True)
    outcome = evaluate_aging({**hardened, "shadow_summary": [*SHADOW_FRESH, alice, bob]}, PAM01)
    assert outcome.status is Status.FAIL and "bob (max 99999" in outcome.message and "alice" not in outcome.message


def test_hash_method_per_release() -> None:
    assert evaluate_hash_config(files(login_defs=LOGIN_DEFS_13, pam_common_password=FRESH_PASSWORD),
                                PAM02).status is Status.PASS
    bookworm = evaluate_hash_config(files(login_defs=LOGIN_DEFS_12, pam_common_password=FRESH_PASSWORD), PAM02)
    assert bookworm.status is Status.FAIL and "ENCRYPT_METHOD is SHA512" in bookworm.message
    sha = evaluate_hash_config(files(login_defs=LOGIN_DEFS_13,
                                     pam_common_password=FRESH_PASSWORD.replace("yescrypt", "sha512")), PAM02)
    assert sha.status is Status.FAIL and "pam_unix hashes with sha512" in sha.message


def test_shadow_schemes() -> None:
    assert evaluate_shadow_schemes({"shadow_summary": SHADOW_FRESH}, PAM02).status is Status.PASS
    mixed = [*SHADOW_FRESH, account("alice", 1001, "yescrypt", usable=True),
             account("bob", 1002, "md5crypt", usable=True)]
    outcome = evaluate_shadow_schemes({"shadow_summary": mixed}, PAM02)
    assert outcome.status is Status.FAIL and "md5crypt: bob" in outcome.message and "alice" not in outcome.message
    with pytest.raises(MissingFact):
        evaluate_shadow_schemes({"shadow_summary": {"error": "Permission denied"}}, PAM02)


def test_compliant_candidates_hold_the_rules_by_construction() -> None:
    """cracklib refuses more than 4 ASCII-adjacent neighbours ("too simplistic/systematic"); pwquality counts
    repeats, class runs, sequences and the user name: none of them may ever occur (20000 draws)."""
    from checks.collect.pam import _compliant_candidate, _pam_classes

    for _ in range(20000):
        candidate = _compliant_candidate()
        assert len(candidate) == 32 and _pam_classes(candidate) == 4
        assert len(set(candidate)) == 32  # no repeat, no palindrome, every character different
        assert all(abs(ord(a) - ord(b)) > 1 for a, b in itertools.pairwise(candidate))
        assert not any(a.isalpha() and b.isalpha() for a, b in itertools.pairwise(candidate))
        assert not set("rootROOT") & set(candidate)
