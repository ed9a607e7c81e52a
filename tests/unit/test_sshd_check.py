"""SSH-01's evaluator, from `sshd -T` output as Debian 12 and 13 print it."""

from __future__ import annotations

from typing import Any

import pytest

from checks.model import MissingFact, Status
from checks.sshd import evaluate_login, parse_sshd_t, password_login_paths

DEBIAN_DEFAULTS = """\
port 22
usepam yes
permitrootlogin without-password
passwordauthentication yes
kbdinteractiveauthentication no
permitemptypasswords no
authenticationmethods any
"""

HARDENED = """\
usepam yes
permitrootlogin no
passwordauthentication no
kbdinteractiveauthentication no
permitemptypasswords no
authenticationmethods any
"""


def facts(general: str, root: str | None = None) -> dict[str, Any]:
    def ok(stdout: str) -> dict[str, Any]:
        return {"command": ["sshd", "-T"], "rc": 0, "stdout": stdout, "stderr": ""}

    return {"sshd_effective": ok(general), "sshd_effective_root": ok(root if root is not None else general)}


def test_parse_keeps_first_value_and_lowercases_keywords() -> None:
    assert parse_sshd_t("PermitRootLogin no\npermitrootlogin yes\nhostkey /a\n") == {
        "permitrootlogin": "no", "hostkey": "/a"}


def test_debian_defaults_fail_naming_both_problems() -> None:
    outcome = evaluate_login(facts(DEBIAN_DEFAULTS), {})
    assert outcome.status is Status.FAIL
    assert "PermitRootLogin is without-password" in outcome.message
    assert "PasswordAuthentication is not no" in outcome.message
    assert outcome.observed["root connection"]["permitrootlogin"] == "without-password"


def test_hardened_configuration_passes() -> None:
    outcome = evaluate_login(facts(HARDENED), {})
    assert outcome.status is Status.PASS
    assert outcome.observed["all users"]["passwordauthentication"] == "no"


def test_match_block_reenabling_root_login_fails() -> None:
    outcome = evaluate_login(facts(HARDENED, HARDENED.replace("permitrootlogin no", "permitrootlogin yes")), {})
    assert outcome.status is Status.FAIL
    assert "PermitRootLogin is yes for root" in outcome.message


@pytest.mark.parametrize(("methods", "open_to_password"), [
    ("any", True),
    ("publickey,keyboard-interactive", False),
    ("publickey,keyboard-interactive keyboard-interactive", True),
])
def test_keyboard_interactive_is_password_login_unless_a_key_is_required(
        methods: str, open_to_password: bool) -> None:
    text = HARDENED.replace("kbdinteractiveauthentication no", "kbdinteractiveauthentication yes")
    settings = parse_sshd_t(text.replace("authenticationmethods any", f"authenticationmethods {methods}"))
    assert bool(password_login_paths(settings)) is open_to_password


def test_absent_keyword_is_not_taken_as_safe() -> None:
    assert evaluate_login(facts("usepam yes\n"), {}).status is Status.FAIL


def test_failed_sshd_command_is_missing_fact_not_a_verdict() -> None:
    broken = facts(HARDENED)
    broken["sshd_effective"] = {"command": ["sshd", "-T"], "rc": 255, "stdout": "",
                                "stderr": "/etc/ssh/sshd_config line 3: Bad configuration option"}
    with pytest.raises(MissingFact, match=r"exit 255: .*Bad configuration option"):
        evaluate_login(broken, {})
