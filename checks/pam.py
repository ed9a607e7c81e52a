"""PAM-01 (password rules: complexity, lockout, history, no empty passwords, aging) and PAM-02 (hashing),
judged from the effective PAM stack (/etc/pam.d/common-*), the modules' configuration files, /etc/shadow
reduced on the host to scheme ids and aging fields, and a password-quality trial through PAM."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from checks.model import Check, Facts, MissingFact, Outcome, Params, Status, fact_list, fact_value, file_content
from checks.pam_stacks import PAM_STACKS, nullok_lines, pam_files

_PAM_LINE = re.compile(r"(\S+)\s+(\[[^\]]*\]|\S+)\s*(.*)")


def pam_lines(text: str, kind: str) -> list[list[str]]:
    """Effective `kind control module args...` lines of a PAM file (comments dropped, [..] kept whole);
    `@include` lines are kept as ["@include", file]."""
    lines = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("@include"):
            lines.append(line.split())
            continue
        match = _PAM_LINE.match(line)
        if match and match.group(1) == kind:
            lines.append([kind, " ".join(match.group(2).split()), *match.group(3).split()])
    return lines


def module_index(lines: list[list[str]], module: str, *args: str) -> int | None:
    for i, line in enumerate(lines):
        if len(line) >= 3 and line[2].rsplit("/", 1)[-1] == module and all(a in line[3:] for a in args):
            return i
    return None


def module_args(line: list[str]) -> dict[str, str]:
    return {arg.partition("=")[0]: arg.partition("=")[2] for arg in line[3:]}


def key_values(text: str, separator: str | None = "=") -> dict[str, str]:
    """`key = value` lines (separator "=") or `KEY value` lines (separator None: whitespace, as in
    login.defs), and bare `flag` lines; comments dropped. The LAST value wins, as its readers do:
    pam_faillock and pam_pwhistory set each option as they read the line, shadow's getdef overwrites."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if separator == "=":
            key, _, value = line.partition("=")
        else:
            key, value = [*line.split(None, 1), ""][:2]
        values[key.strip()] = value.strip()
    return values


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


# ---- PAM-01: complexity -----------------------------------------------------------------------------------

def effective_pwquality(files: list[Mapping[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """Merged settings and the keys that two files set to different values (an ambiguity to report)."""
    merged: dict[str, str] = {}
    origin: dict[str, str] = {}
    conflicts = []
    for entry in files:
        for key, value in dict(entry.get("settings", {})).items():
            if key in merged and merged[key] != value:
                conflicts.append(f"{key} is {merged[key]} in {origin[key]} but {value} in {entry['path']}")
            merged[key] = value
            origin[key] = str(entry["path"])
    return merged, conflicts


def evaluate_pwquality_config(facts: Facts, params: Params) -> Outcome:
    lines = pam_lines(file_content(facts, "pam_common_password"), "password")
    settings, conflicts = effective_pwquality(list(fact_value(facts, "pwquality_settings")["files"]))
    quality = module_index(lines, "pam_pwquality.so")
    unix = module_index(lines, "pam_unix.so")
    observed: dict[str, Any] = {
        "pam_pwquality in common-password": " ".join(lines[quality]) if quality is not None else "(absent)",
        "pwquality settings": settings,
    }
    problems = list(conflicts)
    if quality is None:
        problems.append("pam_pwquality is not in the password stack")
    elif unix is not None and quality > unix:
        problems.append("pam_pwquality comes after pam_unix (the password is stored before it is checked)")
    elif lines[quality][1] not in ("requisite", "required"):
        problems.append(f"pam_pwquality's control is {lines[quality][1]}, not requisite/required")
    if quality is not None:  # module arguments override the file
        settings = {**settings, **module_args(lines[quality])}
    minlen, minclass = _int(settings.get("minlen", "8")), _int(settings.get("minclass", "0"))
    if minlen is None or minlen < int(params["min_length"]):
        problems.append(f"minlen is {settings.get('minlen', '8 (default)')}, below {params['min_length']}")
    if minclass is None or minclass < int(params["min_classes"]):
        problems.append(f"minclass is {settings.get('minclass', '0 (default)')}, below {params['min_classes']}")
    for credit in ("dcredit", "ucredit", "lcredit", "ocredit"):
        value = _int(settings.get(credit, "0"))
        if value is None or value > 0:
            problems.append(f"{credit} is {settings.get(credit)}: positive credits shorten the real minimum length")
    if settings.get("dictcheck", "1") == "0":
        problems.append("dictcheck is off")
    if "enforce_for_root" not in settings:
        problems.append("enforce_for_root is not set (root may set a weak password)")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, f"pam_pwquality requires {minlen}+ characters of {minclass}+ classes, "
                                "checks the dictionary and binds root", observed)


def evaluate_pwquality_trial(facts: Facts, params: Params) -> Outcome:
    trial = fact_value(facts, "pwquality_trial")
    if not trial.get("module_in_stack"):
        return Outcome(Status.FAIL, "pam_pwquality is not in the password stack: nothing refuses a weak password",
                       {"module_in_stack": False})
    trials: Mapping[str, Mapping[str, Any]] = trial["trials"]
    for label, result in trials.items():
        if "error" in result:
            raise MissingFact("pwquality_trial", f"{label}: {result['error']}", dict(trial))
    observed = {
        "method": "pam_chauthtok as root through the live pam_pwquality line, followed by pam_permit "
                  "(no password is changed)",
        "stack line": trial.get("stack_line"),
        "trials": {label: {"accepted": r["accepted"], "length": r["length"], "classes": r["classes"],
                           "module said": r.get("messages", [])} for label, r in trials.items()},
    }
    weak_accepted = [label for label, r in trials.items() if not label.startswith("compliant") and r["accepted"]]
    compliant_refused = [label for label, r in trials.items() if label.startswith("compliant") and not r["accepted"]]
    problems = [f"weak password accepted: {label}" for label in weak_accepted]
    problems += [f"compliant password refused: {label}" for label in compliant_refused]
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, f"PAM refused {len(trials) - 1} weak passwords and accepted a compliant one",
                   observed)


# ---- PAM-01: lockout, history, empty passwords, aging --------------------------------------------------------

def evaluate_faillock(facts: Facts, params: Params) -> Outcome:
    auth = pam_lines(file_content(facts, "pam_common_auth"), "auth")
    account = pam_lines(file_content(facts, "pam_common_account"), "account")
    conf = key_values(file_content(facts, "faillock_conf"))
    preauth, authfail = module_index(auth, "pam_faillock.so", "preauth"), module_index(auth, "pam_faillock.so",
                                                                                        "authfail")
    unix = module_index(auth, "pam_unix.so")
    in_account = module_index(account, "pam_faillock.so")
    settings = {**conf}
    for index in (preauth, authfail):
        if index is not None:
            settings.update(module_args(auth[index]))
    deny, unlock = _int(settings.get("deny", "3")), _int(settings.get("unlock_time", "600"))
    exempt: list[str] = []
    for index in (preauth, authfail):
        before = auth[index - 1] if index else []
        if len(before) >= 6 and before[2].endswith("pam_succeed_if.so") and "user" in before and "in" in before:
            exempt.append(before[before.index("in") + 1])
    observed = {"common-auth": [" ".join(line) for line in auth],
                "read": "/etc/security/faillock.conf (last line wins, as pam_faillock reads it), then the "
                        "module arguments",
                "deny": deny, "unlock_time": unlock, "exempt from lockout": sorted(set(exempt))}
    problems = []
    if preauth is None or authfail is None or in_account is None:
        problems.append("pam_faillock is not in the stack (preauth and authfail in common-auth, and common-account)")
    elif unix is not None and not preauth < unix < authfail:
        problems.append("pam_faillock preauth/authfail are not around pam_unix")
    if deny is None or deny < 1 or deny > int(params["max_failures"]):
        problems.append(f"deny is {settings.get('deny', '3 (default)')}"
                        + (" (0 disables the lockout)" if deny == 0 else f", above {params['max_failures']}"))
    if unlock is None or (unlock != 0 and unlock < int(params["min_unlock_seconds"])):
        problems.append(f"unlock_time is {settings.get('unlock_time', '600 (default)')}, "
                        f"below {params['min_unlock_seconds']} s")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, f"pam_faillock locks an account after {deny} failures for "
                                f"{'ever' if unlock == 0 else f'{unlock} s'}", observed)


def evaluate_pwhistory(facts: Facts, params: Params) -> Outcome:
    lines = pam_lines(file_content(facts, "pam_common_password"), "password")
    history = module_index(lines, "pam_pwhistory.so")
    unix = module_index(lines, "pam_unix.so")
    conf_fact = facts.get("pwhistory_conf") or {}
    conf = key_values(str(conf_fact.get("content", ""))) if "content" in conf_fact else {}
    remember = None
    if history is not None:
        remember = _int(module_args(lines[history]).get("remember") or conf.get("remember") or "10")
    observed = {"pam_pwhistory in common-password": " ".join(lines[history]) if history is not None else "(absent)",
                "remember": remember}
    problems = []
    if history is None:
        problems.append("pam_pwhistory is not in the password stack")
    elif unix is not None and history > unix:
        problems.append("pam_pwhistory comes after pam_unix")
    if history is not None and (remember is None or remember < int(params["remember"])):
        problems.append(f"remember is {remember}, below {params['remember']}")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, f"the last {remember} passwords of an account are refused", observed)


def evaluate_no_empty_passwords(facts: Facts, params: Params) -> Outcome:
    files = pam_files(facts)
    nullok = nullok_lines(files)
    empty = sorted(str(a["name"]) for a in fact_list(facts, "shadow_summary") if a.get("empty"))
    observed = {"enumerated": f"every line of the {len(files)} files in /etc/pam.d; /etc/shadow",
                "lines with nullok": nullok, "accounts with an empty password": empty}
    problems = []
    if nullok:
        problems.append(f"a module accepts empty passwords (nullok): {'; '.join(nullok)}")
    if empty:
        problems.append(f"accounts with an empty password: {', '.join(empty)}")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, "no empty password is accepted and no account has one", observed)


def evaluate_aging(facts: Facts, params: Params) -> Outcome:
    defs = key_values(file_content(facts, "login_defs"), None)
    max_days, min_days, warn = (_int(defs.get(k)) for k in ("PASS_MAX_DAYS", "PASS_MIN_DAYS", "PASS_WARN_AGE"))
    uid_min = _int(defs.get("UID_MIN")) or 1000
    exempt = set(params["exempt_accounts"])
    problems = []
    if max_days is None or max_days > int(params["max_days"]):
        problems.append(f"login.defs PASS_MAX_DAYS is {defs.get('PASS_MAX_DAYS')}, above {params['max_days']}")
    if min_days is None or min_days < int(params["min_days"]):
        problems.append(f"login.defs PASS_MIN_DAYS is {defs.get('PASS_MIN_DAYS')}, below {params['min_days']}")
    if warn is None or warn < int(params["warn_days"]):
        problems.append(f"login.defs PASS_WARN_AGE is {defs.get('PASS_WARN_AGE')}, below {params['warn_days']}")
    aged, not_aged, no_password = [], [], []
    for account in fact_list(facts, "shadow_summary"):
        uid = account.get("uid")
        if uid is None or uid < uid_min or uid >= 65534 or account["name"] in exempt:
            continue
        if not account.get("usable"):
            no_password.append(account["name"])
            continue
        a_max, a_min, a_warn = (_int(account.get(k)) for k in ("max_days", "min_days", "warn_days"))
        if a_max is None or a_max > int(params["max_days"]) or a_min is None or a_min < int(params["min_days"]) \
                or a_warn is None or a_warn < int(params["warn_days"]):
            not_aged.append(f"{account['name']} (max {account.get('max_days') or '-'}, "
                            f"min {account.get('min_days') or '-'}, warn {account.get('warn_days') or '-'})")
        else:
            aged.append(account["name"])
    if not_aged:
        problems.append(f"human accounts with a password outside the aging rules: {', '.join(not_aged)}")
    observed = {"login.defs": {"PASS_MAX_DAYS": max_days, "PASS_MIN_DAYS": min_days, "PASS_WARN_AGE": warn},
                "aged accounts": aged, "accounts without a usable password (not aged)": no_password}
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, f"passwords expire after at most {max_days} days "
                                f"({len(aged)} human account(s) with a password, all aged)", observed)


# ---- PAM-02: hashing ---------------------------------------------------------------------------------------

_PAM_UNIX_METHODS = ("yescrypt", "sha512", "sha256", "md5", "bigcrypt", "blowfish", "gost_yescrypt")
_SCHEME_OF = {"yescrypt": "yescrypt", "sha512": "sha512crypt"}


def evaluate_hash_config(facts: Facts, params: Params) -> Outcome:
    wanted = str(params["hash_algorithm"]).lower()
    defs = key_values(file_content(facts, "login_defs"), None)
    lines = pam_lines(file_content(facts, "pam_common_password"), "password")
    unix = module_index(lines, "pam_unix.so")
    methods = [arg for arg in lines[unix][3:] if arg in _PAM_UNIX_METHODS] if unix is not None else []
    encrypt = defs.get("ENCRYPT_METHOD", "(absent: DES)")
    observed = {"login.defs ENCRYPT_METHOD": encrypt,
                "pam_unix in common-password": " ".join(lines[unix]) if unix is not None else "(absent)"}
    problems = []
    if encrypt.lower() != wanted:
        problems.append(f"login.defs ENCRYPT_METHOD is {encrypt}, not {wanted.upper()}")
    if unix is None:
        problems.append("pam_unix is not in the password stack")
    elif methods != [wanted]:
        problems.append(f"pam_unix hashes with {', '.join(methods) or 'its default'}, not {wanted}")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, f"new passwords are hashed with {wanted} (pam_unix and login.defs)", observed)


def evaluate_shadow_schemes(facts: Facts, params: Params) -> Outcome:
    wanted = _SCHEME_OF.get(str(params["hash_algorithm"]).lower(), str(params["hash_algorithm"]).lower())
    by_scheme: dict[str, list[str]] = {}
    for account in fact_list(facts, "shadow_summary"):
        if account.get("usable"):
            by_scheme.setdefault(str(account["scheme"]), []).append(str(account["name"]))
    observed = {"accounts with a usable password, by hash scheme": by_scheme}
    others = {scheme: names for scheme, names in by_scheme.items() if scheme != wanted}
    if others:
        listed = "; ".join(f"{scheme}: {', '.join(names)}" for scheme, names in sorted(others.items()))
        return Outcome(Status.FAIL, f"passwords not stored as {wanted} ({listed}); they change to {wanted} "
                                    "at the next password change", observed)
    count = len(by_scheme.get(wanted, []))
    return Outcome(Status.PASS, f"every stored password ({count}) is a {wanted} hash", observed)


PAM_PWQUALITY_CONFIG = Check("pam_pwquality_configured", "PAM-01",
                             "pam_pwquality is in the password stack with the required length, classes, "
                             "dictionary check and enforce_for_root",
                             facts=("pam_common_password", "pwquality_settings"), evaluate=evaluate_pwquality_config)
PAM_PWQUALITY_TRIAL = Check("pam_pwquality_refuses_weak", "PAM-01",
                            "PAM refuses weak passwords and accepts a compliant one",
                            facts=("pwquality_trial",), evaluate=evaluate_pwquality_trial)
PAM_FAILLOCK = Check("pam_faillock_configured", "PAM-01",
                     "pam_faillock locks an account after repeated failures",
                     facts=("pam_common_auth", "pam_common_account", "faillock_conf"), evaluate=evaluate_faillock)
PAM_PWHISTORY = Check("pam_pwhistory_configured", "PAM-01", "recent passwords cannot be reused (pam_pwhistory)",
                      facts=("pam_common_password", "pwhistory_conf"), evaluate=evaluate_pwhistory)
PAM_NO_EMPTY = Check("pam_no_empty_passwords", "PAM-01", "no empty password is accepted (no nullok) or stored",
                     facts=("pam_d_files", "shadow_summary"),
                     evaluate=evaluate_no_empty_passwords)
PAM_AGING = Check("password_aging", "PAM-01", "passwords of human accounts expire (login.defs and chage)",
                  facts=("login_defs", "shadow_summary"), evaluate=evaluate_aging)
PAM_HASH_CONFIG = Check("password_hash_method", "PAM-02",
                        "new passwords are hashed with yescrypt (pam_unix and login.defs)",
                        facts=("login_defs", "pam_common_password"), evaluate=evaluate_hash_config)
PAM_SHADOW_SCHEMES = Check("shadow_hash_schemes", "PAM-02", "every stored password is a yescrypt hash",
                           facts=("shadow_summary",), evaluate=evaluate_shadow_schemes)

PAM_CHECKS = (PAM_PWQUALITY_CONFIG, PAM_PWQUALITY_TRIAL, PAM_FAILLOCK, PAM_PWHISTORY, PAM_NO_EMPTY, PAM_AGING,
              PAM_HASH_CONFIG, PAM_SHADOW_SCHEMES, PAM_STACKS)
