"""ACCT-01 (only declared ops personnel can log in) and ACCT-02 (sudo only through the ops group), judged from
the host's account database reduced on the host (checks/collect/accounts.py): names, shells, groups, key
fingerprints, password hash scheme ids (never a hash) and `sudo -l -U` rules.

The inventory declares the operators once and hands the same list to the role and to the audit, e.g.

    accounts_ops_users: &ops [{name: alice, ssh_keys: ["ssh-ed25519 AAAA..."]}]
    stockade_params: {ACCT-01: {operators: *ops}, ACCT-02: {operators: *ops}}

An operator given as a bare name is checked for existence and rights but not for its exact keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from checks.model import Check, Facts, MissingFact, Outcome, Params, Status, outcome


def _accounts(facts: Facts) -> dict[str, dict[str, Any]]:
    accounts = facts.get("accounts_inventory")
    if not isinstance(accounts, list):
        raise MissingFact("accounts_inventory", str((accounts or {}).get("error", "not collected")))
    return {account["name"]: account for account in accounts}


def operators(params: Params) -> dict[str, list[str] | None]:
    """Declared operator name -> declared public keys (None: keys not declared to the audit)."""
    declared: dict[str, list[str] | None] = {}
    for entry in params["operators"]:
        if isinstance(entry, str):
            declared[entry] = None
        elif isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            declared[entry["name"]] = list(entry.get("ssh_keys") or [])
        else:
            raise ValueError(f"operators: each entry is a name or {{name, ssh_keys}}, got {entry!r}")
    return declared


def fingerprint(public_key: str) -> str:
    """OpenSSH's SHA256 fingerprint of an authorized_keys line ("type base64 [comment]")."""
    fields = public_key.split()
    for blob in fields[1:]:
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            continue
        return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    raise ValueError(f"not a public key: {public_key[:40]!r}")



def can_log_in(account: Mapping[str, Any]) -> bool:
    """A login shell or authorized keys (keys alone still open tunnels), on an account that has not expired."""
    return bool(account["login_shell"] or account["authorized_keys"]) and not account["expired"]


def evaluate_only_declared(facts: Facts, params: Params) -> Outcome:
    accounts = _accounts(facts)
    declared = operators(params)
    known = set(declared) | set(params["automation_accounts"]) | set(params["allowed_accounts"])
    problems = []
    undeclared = sorted(name for name, account in accounts.items()
                        if account["uid"] != 0 and can_log_in(account) and name not in known)
    if undeclared:
        problems.append(f"undeclared accounts can log in: {', '.join(undeclared)}")
    root = accounts.get("root")
    if root and root["authorized_keys"]:
        problems.append(f"root has {len(root['authorized_keys'])} authorized key(s)")
    missing = sorted(name for name in declared if name not in accounts or not can_log_in(accounts[name]))
    if missing:
        problems.append(f"declared operators without a usable account: {', '.join(missing)}")
    observed = {"can_log_in": {name: {"uid": account["uid"], "shell": account["shell"],
                                      "keys": len(account["authorized_keys"])}
                               for name, account in sorted(accounts.items()) if can_log_in(account)},
                "declared": sorted(declared), "automation": list(params["automation_accounts"]),
                "allowed": list(params["allowed_accounts"])}
    return outcome(problems, "only declared operators and automation accounts can log in", observed)


def evaluate_keys_exact(facts: Facts, params: Params) -> Outcome:
    accounts = _accounts(facts)
    problems, observed = [], {}
    for name, keys in operators(params).items():
        if keys is None or name not in accounts:
            continue  # existence is evaluate_only_declared's finding
        wanted = {fingerprint(key) for key in keys}
        present = set(accounts[name]["authorized_keys"])
        observed[name] = {"declared": sorted(wanted), "present": sorted(present)}
        if extra := present - wanted:
            problems.append(f"{name} has undeclared keys: {', '.join(sorted(extra))}")
        if lacking := wanted - present:
            problems.append(f"{name} lacks declared keys: {', '.join(sorted(lacking))}")
    ok = "each operator's authorized_keys holds exactly the declared keys" if observed \
        else "no operator keys declared to the audit"
    return outcome(problems, ok, observed)


def evaluate_password_storage(facts: Facts, params: Params) -> Outcome:
    accounts = _accounts(facts)
    allowed = set(params["allowed_hash_schemes"])
    schemes = {name: account["password"] for name, account in sorted(accounts.items())}
    problems = []
    if schemes.get("root") != "locked":
        problems.append(f"root's password is not locked ({schemes.get('root')})")
    if empty := sorted(name for name, scheme in schemes.items() if scheme == "empty"):
        problems.append(f"empty passwords: {', '.join(empty)}")
    weak = sorted(f"{name} ({scheme})" for name, scheme in schemes.items()
                  if scheme not in allowed | {"locked", "empty"})
    if weak:
        problems.append(f"passwords not hashed with {'/'.join(sorted(allowed))}: {', '.join(weak)}")
    observed = {"schemes": {scheme: sorted(name for name, s in schemes.items() if s == scheme)
                            for scheme in sorted(set(schemes.values()))}}
    return outcome(problems, "root locked; no empty password; every password hash is "
                    f"{'/'.join(sorted(allowed))}", observed)


def evaluate_sudo_rights(facts: Facts, params: Params) -> Outcome:
    accounts = _accounts(facts)
    rights = facts.get("accounts_sudo_rights")
    if not isinstance(rights, Mapping) or "error" in rights:
        raise MissingFact("accounts_sudo_rights", str((rights or {}).get("error", "not collected")))
    if failed := {name: r["error"] for name, r in rights.items() if "error" in r}:
        raise MissingFact("accounts_sudo_rights", f"sudo -l failed for {', '.join(sorted(failed))}", failed)
    group, automation = params["ops_group"], set(params["automation_accounts"])
    declared = set(operators(params))
    nopasswd_ok = automation | set(params["nopasswd_accounts"])
    problems = []
    for name, right in sorted(rights.items()):
        if not right["rules"] or name == "root" or name in automation:
            continue
        if name not in declared:
            problems.append(f"{name} may use sudo but is not a declared operator")
        elif group not in accounts.get(name, {}).get("groups", []):
            problems.append(f"{name} may use sudo outside the {group} group")
    problems += [f"{name} has NOPASSWD sudo" for name, right in sorted(rights.items())
                 if right["nopasswd"] and name not in nopasswd_ok]
    lacking = sorted(name for name in declared if name in accounts and not rights.get(name, {}).get("rules"))
    problems += [f"declared operators without sudo: {', '.join(lacking)}"] if lacking else []
    problems += [f"declared operators missing: {', '.join(sorted(declared - set(accounts)))}"] \
        if declared - set(accounts) else []
    observed = {name: right["rules"] for name, right in sorted(rights.items()) if right["rules"]}
    return outcome(problems, f"sudo only for root, automation accounts and the {group} group's declared operators",
                    {"sudo_rules": observed, "ops_group": group})


def evaluate_sudoers_valid(facts: Facts, params: Params) -> Outcome:
    fact = facts.get("sudoers_syntax")
    if not isinstance(fact, Mapping) or "rc" not in fact:
        raise MissingFact("sudoers_syntax", str((fact or {}).get("error", "not collected")))
    lines = [line for line in (str(fact["stdout"]) + str(fact["stderr"])).splitlines() if line.strip()]
    if fact["rc"] != 0:
        return Outcome(Status.FAIL, "visudo -c rejects the sudoers configuration", {"visudo": lines})
    return Outcome(Status.PASS, "visudo -c parses /etc/sudoers and every drop-in", {"visudo": lines})


ACCT_ONLY_DECLARED = Check(id="accounts_only_declared_logins", control_id="ACCT-01",
                           title="only declared operators and automation accounts can log in",
                           facts=("accounts_inventory",), evaluate=evaluate_only_declared)
ACCT_KEYS_EXACT = Check(id="accounts_keys_exact", control_id="ACCT-01",
                        title="each operator's authorized_keys holds exactly the declared keys",
                        facts=("accounts_inventory",), evaluate=evaluate_keys_exact)
ACCT_PASSWORD_STORAGE = Check(id="accounts_password_storage", control_id="ACCT-01",
                              title="root's password is locked, none is empty, every hash is yescrypt or SHA-512",
                              facts=("accounts_inventory",), evaluate=evaluate_password_storage)
SUDO_RIGHTS = Check(id="sudo_rights_declared", control_id="ACCT-02",
                    title="sudo rights only for root, automation accounts and declared operators in the ops group",
                    facts=("accounts_inventory", "accounts_sudo_rights"), evaluate=evaluate_sudo_rights)
SUDOERS_VALID = Check(id="sudoers_valid", control_id="ACCT-02", title="the sudoers configuration parses",
                      facts=("sudoers_syntax",), evaluate=evaluate_sudoers_valid)

ACCOUNT_CHECKS = (ACCT_ONLY_DECLARED, ACCT_KEYS_EXACT, ACCT_PASSWORD_STORAGE, SUDO_RIGHTS, SUDOERS_VALID)
