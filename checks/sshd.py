"""SSH-01: no root login and no password login, judged from sshd's effective configuration (`sshd -T`)."""

from __future__ import annotations

from checks.model import Check, Facts, Outcome, Params, command_output
from stockade.engine.model import Status


def parse_sshd_t(text: str) -> dict[str, str]:
    """`sshd -T` prints one lower-case `keyword value` per line; keep the first value of each keyword."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        keyword, _, value = line.strip().partition(" ")
        if keyword:
            settings.setdefault(keyword.lower(), value.strip())
    return settings


def password_login_paths(settings: dict[str, str]) -> list[str]:
    """Every way this configuration lets someone in with a password alone."""
    paths = []
    if settings.get("passwordauthentication") != "no":
        paths.append("PasswordAuthentication is not no")
    if settings.get("permitemptypasswords") != "no":
        paths.append("PermitEmptyPasswords is not no")
    # Keyboard-interactive through PAM asks for the password unless a public key is also required.
    methods = settings.get("authenticationmethods", "any")
    key_always_required = methods != "any" and all(
        "publickey" in method_list.split(",") for method_list in methods.split())
    if settings.get("kbdinteractiveauthentication") == "yes" and settings.get("usepam") == "yes" \
            and not key_always_required:
        paths.append("KbdInteractiveAuthentication through PAM without a required public key")
    return paths


def evaluate_login(facts: Facts, params: Params) -> Outcome:
    general = parse_sshd_t(command_output(facts, "sshd_effective"))
    as_root = parse_sshd_t(command_output(facts, "sshd_effective_root"))
    observed = {
        context: {key: settings.get(key, "(absent)") for key in (
            "permitrootlogin", "passwordauthentication", "kbdinteractiveauthentication", "usepam",
            "permitemptypasswords", "authenticationmethods")}
        for context, settings in (("all users", general), ("root connection", as_root))
    }
    problems = []
    if as_root.get("permitrootlogin") != "no":
        problems.append(f"PermitRootLogin is {as_root.get('permitrootlogin', '(absent)')} for root")
    problems += [f"{path} (all users)" for path in password_login_paths(general)]
    problems += [f"{path} (root connection)" for path in password_login_paths(as_root)
                 if f"{path} (all users)" not in problems]
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, "root login and password login are refused by sshd", observed)


SSH_LOGIN = Check(
    id="sshd_no_root_no_password_login",
    control_id="SSH-01",
    title="sshd refuses root login and every password path",
    facts=("sshd_effective", "sshd_effective_root"),
    evaluate=evaluate_login,
)
