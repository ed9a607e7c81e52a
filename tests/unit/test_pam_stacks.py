"""PAM-01 pam_stacks_no_bypass: every service's stacks, includes expanded, run in the adversarial model."""

from __future__ import annotations

import pytest
from test_pam import FRESH_ACCOUNT, FRESH_AUTH, FRESH_PASSWORD, HARDENED_ACCOUNT, HARDENED_AUTH, HARDENED_PASSWORD

from checks.model import MissingFact, Status
from checks.pam_stacks import bypasses, evaluate_stacks, stack

PARAMS = {"success_modules": ["pam_unix.so", "pam_google_authenticator.so", "pam_faillock.so", "pam_succeed_if.so",
                              "pam_rootok.so", "pam_sss.so"]}
SERVICES = {
    "sshd": "@include common-auth\naccount required pam_nologin.so\n@include common-account\n"
            "@include common-session\n@include common-password\n",
    "login": "auth optional pam_faildelay.so delay=3000000\nauth requisite pam_nologin.so\n@include common-auth\n"
             "@include common-account\n@include common-password\n",
    "su": "auth sufficient pam_rootok.so\n# auth required pam_wheel.so\n@include common-auth\n"
          "@include common-account\n",
    "sudo": "session required pam_limits.so\n@include common-auth\n@include common-account\n",
    "other": "@include common-auth\n@include common-account\n@include common-password\n",
    "chpasswd": "@include common-password\n",
    "common-session": "session required pam_unix.so\n",
}
HARDENED = {**SERVICES, "common-auth": HARDENED_AUTH, "common-account": HARDENED_ACCOUNT,
            "common-password": HARDENED_PASSWORD}
FRESH = {**SERVICES, "common-auth": FRESH_AUTH, "common-account": FRESH_ACCOUNT, "common-password": FRESH_PASSWORD}
TOTP_SSHD = ("auth [success=done new_authtok_reqd=done default=die] pam_google_authenticator.so\n"
             "account required pam_nologin.so\n@include common-account\n")


def facts(files: dict[str, str]) -> dict[str, dict[str, dict[str, str]]]:
    return {"pam_d_files": {"files": files}}


def test_stock_and_hardened_stacks_pass() -> None:
    for files in (FRESH, HARDENED, {**HARDENED, "sshd": TOTP_SSHD}):
        outcome = evaluate_stacks(facts(files), PARAMS)
        assert outcome.status is Status.PASS, outcome.message
    assert "10 files in /etc/pam.d" in outcome.observed["enumerated"]
    assert outcome.observed["lines per stack"]["sshd"]["auth"] == 1


def test_includes_expand_in_place() -> None:
    lines = stack(HARDENED, "login", "auth")
    assert [line.origin for line in lines[:3]] == ["login:1", "login:2", "common-auth:1"]
    assert stack({"a": "auth include b\n", "b": "auth required pam_unix.so\n"}, "a", "auth")[0].origin == "b:1"
    assert stack({"a": "-auth optional pam_gnome_keyring.so\n"}, "a", "auth")[0].module == "pam_gnome_keyring"


@pytest.mark.parametrize(("service", "text", "expected"), [
    ("common-auth", "auth sufficient pam_permit.so\n" + HARDENED_AUTH,
     "authenticates with every real check failing, through common-auth:1: auth sufficient pam_permit.so"),
    ("common-auth", "auth [success=done default=ignore] pam_exec.so /usr/local/bin/x\n" + HARDENED_AUTH,
     "pam_exec runs a program in the stack (common-auth:1"),
    ("common-auth", HARDENED_AUTH.replace("auth\trequisite\t\t\tpam_deny.so\n", "").replace("[default=die]",
                                                                                           "optional"),
     "common-auth:6: auth required pam_permit.so"),
    ("sshd", "auth sufficient pam_rootok.so\n@include common-auth\n", "sshd auth authenticates"),
    ("sudo", "auth sufficient pam_succeed_if.so user ingroup users\n@include common-auth\n",
     "sudo auth authenticates with every real check failing, through sudo:1"),
    ("common-account", "account sufficient pam_permit.so\n" + HARDENED_ACCOUNT,
     "admits an expired or locked account"),
    ("common-password", "password sufficient pam_permit.so\n" + HARDENED_PASSWORD,
     "sets a password every quality check refused"),
    ("common-auth", "auth [success=2 default=ignore] pam_env.so\n" + HARDENED_AUTH,
     "[success=2 default=ignore] on pam_env.so, not in the allow-list"),
    ("backdoor", "auth sufficient pam_permit.so\n", "backdoor auth authenticates"),
])
def test_planted_bypass_fails_naming_the_line(service: str, text: str, expected: str) -> None:
    outcome = evaluate_stacks(facts({**HARDENED, service: text}), PARAMS)
    assert outcome.status is Status.FAIL and expected in outcome.message, outcome.message


def test_rootok_is_a_bypass_only_outside_su() -> None:
    assert bypasses(stack(HARDENED, "su", "auth"), "su") is None
    assert bypasses(stack({**HARDENED, "login": SERVICES["su"]}, "login", "auth"), "login") is not None


def test_not_collected_is_an_error() -> None:
    with pytest.raises(MissingFact):
        evaluate_stacks({"pam_d_files": {"error": "Permission denied"}}, PARAMS)
