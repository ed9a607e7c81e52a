"""PAM-01: the auth, account and password stacks of every service in /etc/pam.d, read as libpam reads them
(@include and `include`/`substack` expanded in place, `-type` lines kept, control values interpreted), and
run in a model: every real check (pam_unix, pam_google_authenticator, pam_faillock authfail, pam_pwquality...)
FAILS, conditional modules (pam_succeed_if, pam_access...) go both ways, everything else succeeds. A stack
that still returns success lets someone in without the credential: the lines that made it succeed are named.

Beside the model: pam_exec in any stack, and `sufficient` / `success=done|N` on a module outside the
allow-list, are failures of their own; `nullok` anywhere is pam_no_empty_passwords' finding.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from checks.model import Check, Facts, Outcome, Params, Status, fact_value

TYPES = ("auth", "account", "password")
_LINE = re.compile(r"(-?)(auth|account|password|session)\s+(\[[^\]]*\]|\S+)\s+(\S+)\s*(.*)")
_SIMPLE = {
    "required": {"success": "ok", "new_authtok_reqd": "ok", "ignore": "ignore", "default": "bad"},
    "requisite": {"success": "ok", "new_authtok_reqd": "ok", "ignore": "ignore", "default": "die"},
    "sufficient": {"success": "done", "new_authtok_reqd": "done", "default": "ignore"},
    "optional": {"success": "ok", "new_authtok_reqd": "ok", "default": "ignore"},
}
# What a module returns when the person at the keyboard does NOT hold the credential.
_FAILS = {
    "auth": {"pam_unix", "pam_unix2", "pam_google_authenticator", "pam_deny", "pam_sss", "pam_ldap", "pam_krb5",
             "pam_winbind", "pam_oath", "pam_u2f", "pam_yubico", "pam_userdb", "pam_pwdfile", "pam_tally2"},
    "account": {"pam_unix", "pam_deny", "pam_sss", "pam_ldap", "pam_krb5", "pam_winbind", "pam_tally2"},
    "password": {"pam_pwquality", "pam_cracklib", "pam_pwhistory", "pam_passwdqc", "pam_deny"},
}
_CONDITIONAL = {"pam_succeed_if", "pam_access", "pam_time", "pam_listfile", "pam_localuser", "pam_wheel",
                "pam_group", "pam_securetty", "pam_nologin", "pam_shells"}
_ROOTOK_SERVICES = {"su", "su-l", "runuser", "runuser-l", "chfn", "chsh", "passwd"}  # root needs no password
_BENIGN = {"pam_env", "pam_faildelay", "pam_nologin", "pam_limits", "pam_keyinit", "pam_loginuid", "pam_motd",
           "pam_mail", "pam_selinux", "pam_umask", "pam_lastlog", "pam_cap", "pam_faillock", "pam_systemd",
           "pam_unix", "pam_mkhomedir", "pam_xauth", "pam_securetty", "pam_gnome_keyring"}


@dataclass(frozen=True)
class Line:
    kind: str
    control: str
    module: str  # basename without .so
    args: tuple[str, ...]
    origin: str  # file:line

    def text(self) -> str:
        return " ".join((self.kind, self.control, f"{self.module}.so", *self.args))


def module_name(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".so")


def actions(control: str) -> dict[str, str]:
    if control in _SIMPLE:
        return _SIMPLE[control]
    pairs = (item.partition("=") for item in control.strip("[]").split())
    return {key: value for key, _, value in pairs}


def stack(files: Mapping[str, str], service: str, kind: str, depth: int = 0) -> list[Line]:
    """The `kind` lines of `service` as libpam runs them: @include and include/substack expanded in place."""
    if depth > 10 or service not in files:
        return []
    lines: list[Line] = []
    for number, raw in enumerate(files[service].splitlines(), 1):
        text = raw.split("#", 1)[0].strip()
        if text.startswith("@include"):
            parts = text.split()
            lines += stack(files, parts[1], kind, depth + 1) if len(parts) > 1 else []
            continue
        match = _LINE.match(text)
        if not match or match.group(2) != kind:
            continue
        control = " ".join(match.group(3).split())
        if control in ("include", "substack"):
            lines += stack(files, match.group(4), kind, depth + 1)
            continue
        lines.append(Line(kind, control, module_name(match.group(4)), tuple(match.group(5).split()),
                          f"{service}:{number}"))
    return lines


def _outcomes(line: Line, service: str) -> tuple[str, ...]:
    """The results a module can return to someone without the credential ("success" or "fail")."""
    if line.module == "pam_faillock":
        return ("fail",) if "authfail" in line.args else ("success",)
    if line.module == "pam_rootok":
        return ("fail",) if service in _ROOTOK_SERVICES else ("success",)
    if line.module in _FAILS[line.kind]:
        return ("fail",)
    if line.module in _CONDITIONAL:
        return ("success", "fail")
    return ("success",)


def run(lines: list[Line], results: tuple[str, ...]) -> tuple[bool, list[Line]]:
    """libpam's dispatch over one choice of module results: (stack succeeded, lines that set success)."""
    impression: str | None = None
    success, index = False, 0
    setters: list[Line] = []
    while index < len(lines):
        line, result = lines[index], results[index]
        table = actions(line.control)
        action = table.get("success" if result == "success" else "auth_err", table.get("default", "bad"))
        if action == "ignore":
            index += 1
            continue
        if action in ("bad", "die"):
            if impression != "negative":
                impression, success = "negative", False
            if action == "die":
                break
        elif action == "reset":
            impression, success, setters = None, False, []
        else:  # ok, done, or a jump of N lines: a positive impression when none is negative yet
            if impression is None or (impression == "positive" and success):
                impression, success = "positive", result == "success"
                if result == "success":
                    setters.append(line)
            if action == "done" and impression == "positive":
                break
            if action.isdigit():
                index += int(action) + 1
                continue
        index += 1
    return impression == "positive" and success, setters


def bypasses(lines: list[Line], service: str) -> list[Line] | None:
    """None when no combination of results lets the stack succeed; else the lines of the first one that does."""
    choices = [_outcomes(line, service) for line in lines]
    if sum(len(c) > 1 for c in choices) > 12:
        choices = [c if len(c) == 1 else ("success",) for c in choices]  # worst case, bounded
    for results in itertools.product(*choices):
        succeeded, setters = run(lines, results)
        if succeeded:
            return [line for line in setters if line.module not in _BENIGN] or setters
    return None


def evaluate_stacks(facts: Facts, params: Params) -> Outcome:
    files: Mapping[str, str] = fact_value(facts, "pam_d_files")["files"]
    allowed = {module_name(m) for m in params["success_modules"]}
    problems: list[str] = []
    judged: dict[str, dict[str, int]] = {}
    open_doors: dict[tuple[str, str], list[str]] = {}
    for service in sorted(files):
        for kind in TYPES:
            lines = stack(files, service, kind)
            if not lines:
                continue
            judged.setdefault(service, {})[kind] = len(lines)
            for line in lines:
                table = actions(line.control)
                if line.module == "pam_exec":
                    problems.append(f"{service} {kind}: pam_exec runs a program in the stack ({line.origin}: "
                                    f"{line.text()})")
                elif (table.get("success") == "done" or table.get("success", "").isdigit()) \
                        and line.module not in allowed:
                    problems.append(f"{service} {kind}: {line.control} on {line.module}.so, not in the allow-list "
                                    f"({line.origin}: {line.text()})")
            if kind == "password" and not any(line.module in _FAILS["password"] - {"pam_deny"} for line in lines):
                continue  # no quality module to model (pam_pwquality_configured says so for common-password)
            if (through := bypasses(lines, service)) is not None:
                named = "; ".join(f"{line.origin}: {line.text()}" for line in through)
                open_doors.setdefault((kind, named), []).append(service)
    for (kind, named), services in open_doors.items():
        what = {"auth": "authenticates", "account": "admits an expired or locked account",
                "password": "sets a password every quality check refused"}[kind]
        problems.append(f"{', '.join(services)} {kind} {what} with every real check failing, through {named}")
    observed = {"enumerated": f"{len(files)} files in /etc/pam.d; the auth/account/password stacks of "
                              f"{len(judged)} services, @include expanded",
                "lines per stack": judged, "allow-list (sufficient / success=)": sorted(allowed),
                "model": "real checks fail, conditional modules both ways, other modules succeed"}
    unique = list(dict.fromkeys(problems))
    if unique:
        return Outcome(Status.FAIL, "; ".join(unique), observed)
    return Outcome(Status.PASS, f"no stack of the {len(judged)} services succeeds without its credential check; "
                                "no pam_exec; sufficient/success= only on allow-listed modules", observed)


def nullok_lines(files: Mapping[str, str]) -> list[str]:
    """Every line of every /etc/pam.d file whose module takes nullok (or nullok_secure)."""
    found = []
    for service, text in sorted(files.items()):
        for number, raw in enumerate(text.splitlines(), 1):
            fields = raw.split("#", 1)[0].split()
            if any(field.startswith("nullok") for field in fields[3:]):
                found.append(f"{service}:{number}: {' '.join(fields)}")
    return found


def pam_files(facts: Facts) -> Mapping[str, Any]:
    return dict(fact_value(facts, "pam_d_files")["files"])


PAM_STACKS = Check("pam_stacks_no_bypass", "PAM-01",
                   "no PAM stack of any service succeeds without its credential check (no pam_permit/pam_exec "
                   "short-cut, sufficient/success= only on allow-listed modules)",
                   facts=("pam_d_files",), evaluate=evaluate_stacks)
