"""MFA-01: accounts that elected 2FA log in with a key AND a Google Authenticator code; automation accounts
keep key-only access. Judged from sshd's effective settings per account, sshd's PAM stack, the enrolment
files' metadata (never their content) and real logins from the controller (checks/probes/login.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import checks.probes.login  # noqa: F401 - registers the mfa_login probe
from checks.model import Check, Facts, MissingFact, Outcome, Params, Status, fact_value, file_content
from checks.pam import pam_lines

_NOT_APPLICABLE = "no account on this host elected 2FA (inventory: accounts_ops_users with totp: true)"


def elected(facts: Facts) -> list[str]:
    """The elected accounts as the controller's inventory declares them (reported by the mfa_login probe)."""
    probe = facts.get("mfa_login")
    if probe is None:
        raise MissingFact("mfa_login", "probe not run")
    if "elected" not in probe:
        raise MissingFact("mfa_login", str(probe.get("error", "no elected list")), probe)
    return [str(name) for name in probe["elected"]]


def requires_key_and_code(methods: str) -> bool:
    """Every alternative list of AuthenticationMethods needs both a key and keyboard-interactive."""
    if methods in ("", "any"):
        return False
    for alternative in methods.split():
        steps = [step.split(":", 1)[0] for step in alternative.split(",")]
        if "publickey" not in steps or "keyboard-interactive" not in steps:
            return False
    return True


def google_authenticator_in_sshd(text: str) -> tuple[str | None, list[str]]:
    """The pam_google_authenticator line of /etc/pam.d/sshd and what is wrong with it."""
    lines = pam_lines(text, "auth")
    problems = []
    found = None
    include = next((i for i, line in enumerate(lines) if line[:2] == ["@include", "common-auth"]), None)
    for i, line in enumerate(lines):
        if len(line) >= 3 and line[2].endswith("pam_google_authenticator.so"):
            found = " ".join(line)
            if "nullok" in line[3:]:
                problems.append("pam_google_authenticator has nullok (an account without a seed gets in)")
            if include is not None and i > include:
                problems.append("pam_google_authenticator comes after @include common-auth (password asked first)")
            if line[1] in ("optional", "sufficient"):
                problems.append(f"pam_google_authenticator's control is {line[1]}")
            break
    if found is None:
        problems.append("pam_google_authenticator is not in sshd's auth stack")
    return found, problems


def evaluate_sshd(facts: Facts, params: Params) -> Outcome:
    accounts = elected(facts)
    if not accounts:
        return Outcome(Status.SKIPPED, _NOT_APPLICABLE, {"elected": []})
    per_user: Mapping[str, Any] = fact_value(facts, "sshd_auth_per_user")
    pam_line, problems = google_authenticator_in_sshd(file_content(facts, "pam_sshd"))
    observed: dict[str, Any] = {"/etc/pam.d/sshd": pam_line or "(no pam_google_authenticator line)", "accounts": {}}
    for user in accounts:
        settings = per_user.get(user)
        if settings is None:
            problems.append(f"{user}: no such account on the host")
            continue
        if "error" in settings:
            raise MissingFact("sshd_auth_per_user", f"{user}: {settings['error']}", dict(settings))
        observed["accounts"][user] = settings
        if not requires_key_and_code(settings.get("authenticationmethods", "any")):
            problems.append(f"{user}: AuthenticationMethods is {settings.get('authenticationmethods')}, "
                            "not publickey,keyboard-interactive")
        if settings.get("kbdinteractiveauthentication") != "yes" or settings.get("usepam") != "yes":
            problems.append(f"{user}: keyboard-interactive through PAM is off (no code can be asked)")
    for user in params["exempt_accounts"]:
        settings = per_user.get(user)
        if isinstance(settings, Mapping) and "authenticationmethods" in settings:
            observed["accounts"][user] = settings
            methods = settings["authenticationmethods"]
            if methods != "any" and "publickey" not in methods.split():
                problems.append(f"automation account {user}: AuthenticationMethods {methods} (key alone refused)")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, f"sshd requires a key and a TOTP code from {', '.join(accounts)}", observed)


def evaluate_enrolment(facts: Facts, params: Params) -> Outcome:
    accounts = elected(facts)
    if not accounts:
        return Outcome(Status.SKIPPED, _NOT_APPLICABLE, {"elected": []})
    files: Mapping[str, Any] = fact_value(facts, "totp_enrolment")
    observed = {user: files.get(user, {"exists": False, "note": "no such human account"}) for user in accounts}
    problems = []
    for user in accounts:
        entry = files.get(user)
        if entry is None or not entry.get("exists"):
            problems.append(f"{user}: no ~/.google_authenticator")
            continue
        if "error" in entry:
            raise MissingFact("totp_enrolment", f"{user}: {entry['error']}", dict(entry))
        if not entry.get("regular_file"):
            problems.append(f"{user}: ~/.google_authenticator is not a regular file")
        if entry.get("owner") != user:
            problems.append(f"{user}: ~/.google_authenticator is owned by {entry.get('owner')}")
        if entry.get("mode") != "0400":
            problems.append(f"{user}: ~/.google_authenticator has mode {entry.get('mode')}, not 0400")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, f"{', '.join(accounts)} enrolled: file owned by the account, mode 0400 "
                                "(content not read)", observed)


def evaluate_logins(facts: Facts, params: Params) -> Outcome:
    accounts = elected(facts)
    probe = fact_value(facts, "mfa_login")
    exempt: Mapping[str, Any] = probe.get("exempt", {})
    if not accounts and not exempt:
        return Outcome(Status.SKIPPED, _NOT_APPLICABLE, {"elected": []})
    results: Mapping[str, Any] = probe.get("accounts", {})
    observed = {"elected": dict(results), "automation accounts": dict(exempt)}
    problems = []
    for user in accounts:
        trials = results.get(user, {"error": "not probed"})
        if "error" in trials:
            raise MissingFact("mfa_login", f"{user}: {trials['error']}", observed)
        alone, with_code, again = trials["key_alone"], trials["key_and_code"], trials["same_code_again"]
        if alone["result"] == "accepted":
            problems.append(f"{user}: the key alone opened a session")
        elif alone["result"] == "refused":
            # The probe key is not one of this account's keys: the login cannot be judged from here.
            raise MissingFact("mfa_login", f"{user}: the probe key was refused outright "
                                           f"(set MFA-01 probe_key_file to a key of {user})", observed)
        if with_code["result"] != "accepted":
            problems.append(f"{user}: key + valid TOTP code was refused")
        if again["result"] == "accepted":
            problems.append(f"{user}: a reused TOTP code was accepted")
    for user, result in exempt.items():
        if "error" in result:
            raise MissingFact("mfa_login", f"{user}: {result['error']}", observed)
        if result["key_alone"]["result"] != "accepted":
            problems.append(f"automation account {user}: key-only login refused ({result['key_alone']['result']})")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    if not accounts:  # nothing about 2FA was tried: not applicable, never a pass that claims logins
        return Outcome(Status.SKIPPED, f"{_NOT_APPLICABLE} (automation account(s) {', '.join(exempt)} logged in "
                                       "with the key alone)", observed)
    return Outcome(Status.PASS, f"{', '.join(accounts)}: key alone refused, key + code accepted, reused code "
                                f"refused; {', '.join(exempt) or 'no automation account'} in with the key alone",
                   observed)


MFA_SSHD = Check("mfa_sshd_requires_key_and_code", "MFA-01",
                 "sshd asks the elected accounts for a key and a TOTP code (no nullok) and the automation "
                 "account for its key alone",
                 facts=("sshd_auth_per_user", "pam_sshd"), evaluate=evaluate_sshd, probes=("mfa_login",))
MFA_ENROLMENT = Check("mfa_enrolment", "MFA-01",
                      "each elected account has its own ~/.google_authenticator, mode 0400",
                      facts=("totp_enrolment",), evaluate=evaluate_enrolment, probes=("mfa_login",))
MFA_LOGIN = Check("mfa_login_behaviour", "MFA-01",
                  "key alone refused, key + TOTP code accepted, reused code refused; automation key-only",
                  facts=(), evaluate=evaluate_logins, probes=("mfa_login",))

MFA_CHECKS = (MFA_SSHD, MFA_ENROLMENT, MFA_LOGIN)
