"""SSH-01 (no root login, no password login) and SSH-04 (session limits), judged from sshd's effective
configuration (`sshd -T`)."""

from __future__ import annotations

from checks.model import Check, Facts, MissingFact, Outcome, Params, Status, command_output, outcome


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


# --- SSH-04: session limits -------------------------------------------------------------------------------

def _limits(facts: Facts, keywords: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    settings = parse_sshd_t(command_output(facts, "sshd_effective"))
    return settings, {keyword: settings.get(keyword, "(absent)") for keyword in keywords}



def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def evaluate_allow_groups(facts: Facts, params: Params) -> Outcome:
    """AllowGroups restricts logins to named groups, and every automation account is in one of them."""
    text = command_output(facts, "sshd_effective")
    groups = sorted({line.split(None, 1)[1].strip() for line in text.splitlines()
                     if line.startswith("allowgroups ") and len(line.split()) > 1})
    accounts = facts.get("accounts_inventory")
    if not isinstance(accounts, list):
        raise MissingFact("accounts_inventory", str((accounts or {}).get("error", "not collected")))
    member_of = {account["name"]: set(account["groups"]) for account in accounts}
    problems = [] if groups else ["AllowGroups is not set: every account with a key may log in"]
    for name in params["automation_accounts"]:
        if name in member_of and groups and not member_of[name] & set(groups):
            problems.append(f"automation account {name} is in none of the allowed groups (lockout)")
    observed = {"allowgroups": groups, "automation_accounts": {
        name: sorted(member_of.get(name, set())) for name in params["automation_accounts"]}}
    return outcome(problems, f"only members of {', '.join(groups)} may log in", observed)


def evaluate_auth_limits(facts: Facts, params: Params) -> Outcome:
    _, seen = _limits(facts, ("maxauthtries", "logingracetime"))
    problems = []
    tries, grace = _int(seen["maxauthtries"]), _int(seen["logingracetime"])
    if tries is None or tries > params["max_auth_tries"]:
        problems.append(f"MaxAuthTries is {seen['maxauthtries']} (at most {params['max_auth_tries']})")
    if grace is None or grace == 0 or grace > params["max_login_grace_time"]:
        problems.append(f"LoginGraceTime is {seen['logingracetime']} (1..{params['max_login_grace_time']} s)")
    return outcome(problems, "authentication attempts and grace time are limited", seen)


def evaluate_idle_timeout(facts: Facts, params: Params) -> Outcome:
    _, seen = _limits(facts, ("clientaliveinterval", "clientalivecountmax"))
    interval, count = _int(seen["clientaliveinterval"]), _int(seen["clientalivecountmax"])
    problems = []
    if interval is None or interval == 0 or interval > params["max_client_alive_interval"]:
        problems.append(f"ClientAliveInterval is {seen['clientaliveinterval']} "
                        f"(1..{params['max_client_alive_interval']} s)")
    if count is None or count == 0 or count > params["max_client_alive_count_max"]:
        problems.append(f"ClientAliveCountMax is {seen['clientalivecountmax']} "
                        f"(1..{params['max_client_alive_count_max']})")
    return outcome(problems, "unresponsive sessions are closed", seen)


FORWARDING = {"allowtcpforwarding": "no", "allowstreamlocalforwarding": "no", "allowagentforwarding": "no",
              "x11forwarding": "no", "permittunnel": "no", "gatewayports": "no"}


def evaluate_forwarding(facts: Facts, params: Params) -> Outcome:
    _, seen = _limits(facts, tuple(FORWARDING))
    problems = [f"{keyword} is {seen[keyword]}" for keyword, wanted in FORWARDING.items() if seen[keyword] != wanted]
    return outcome(problems, "TCP, agent, X11, stream-local forwarding and tunnels are off", seen)


def evaluate_log_level(facts: Facts, params: Params) -> Outcome:
    _, seen = _limits(facts, ("loglevel",))
    problems = [] if seen["loglevel"] == "VERBOSE" else [f"LogLevel is {seen['loglevel']} (VERBOSE logs key "
                                                          "fingerprints of every login)"]
    return outcome(problems, "LogLevel VERBOSE: each login is logged with its key fingerprint", seen)


SSH_ALLOW_GROUPS = Check(id="sshd_allow_groups", control_id="SSH-04",
                         title="only members of the allowed groups may log in, the automation account among them",
                         facts=("sshd_effective", "accounts_inventory"), evaluate=evaluate_allow_groups)
SSH_AUTH_LIMITS = Check(id="sshd_auth_limits", control_id="SSH-04",
                        title="sshd limits authentication attempts and login grace time",
                        facts=("sshd_effective",), evaluate=evaluate_auth_limits)
SSH_IDLE_TIMEOUT = Check(id="sshd_idle_timeout", control_id="SSH-04", title="sshd closes unresponsive sessions",
                         facts=("sshd_effective",), evaluate=evaluate_idle_timeout)
SSH_NO_FORWARDING = Check(id="sshd_forwarding_off", control_id="SSH-04",
                          title="sshd allows no TCP, agent, X11 or stream-local forwarding and no tunnels",
                          facts=("sshd_effective",), evaluate=evaluate_forwarding)
SSH_LOG_LEVEL = Check(id="sshd_log_level_verbose", control_id="SSH-04", title="sshd logs at level VERBOSE",
                      facts=("sshd_effective",), evaluate=evaluate_log_level)

SSH_LIMIT_CHECKS = (SSH_ALLOW_GROUPS, SSH_AUTH_LIMITS, SSH_IDLE_TIMEOUT, SSH_NO_FORWARDING, SSH_LOG_LEVEL)
