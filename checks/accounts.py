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



def password_usable(account: Mapping[str, Any]) -> bool:
    """A password field that PAM can match (an empty one too): su and the console accept it."""
    return account["password"] not in ("locked", "no shadow entry")


def can_log_in(account: Mapping[str, Any]) -> bool:
    """A login shell, authorized keys (keys alone still open tunnels) or a usable password, on an account that
    has not expired."""
    return bool(account["login_shell"] or account["authorized_keys"] or password_usable(account)) \
        and not account["expired"]


def _why_login(account: Mapping[str, Any]) -> str:
    reasons = [f"shell {account['shell']}"] if account["login_shell"] else []
    reasons += [f"{len(account['authorized_keys'])} key(s)"] if account["authorized_keys"] else []
    reasons += [f"password ({account['password']})"] if password_usable(account) else []
    return ", ".join(reasons)


def evaluate_only_declared(facts: Facts, params: Params) -> Outcome:
    accounts = _accounts(facts)
    declared = operators(params)
    known = set(declared) | set(params["automation_accounts"]) | set(params["allowed_accounts"])
    problems = []
    if root_aliases := sorted(name for name, account in accounts.items() if account["uid"] == 0 and name != "root"):
        problems.append("accounts with UID 0 besides root: "
                        + ", ".join(f"{name} ({_why_login(accounts[name]) or 'no login'})" for name in root_aliases))
    undeclared = sorted(name for name, account in accounts.items()
                        if account["uid"] != 0 and can_log_in(account) and name not in known)
    if undeclared:
        problems.append("undeclared accounts can log in: "
                        + ", ".join(f"{name} ({_why_login(accounts[name])})" for name in undeclared))
    root = accounts.get("root")
    if root and root["authorized_keys"]:
        problems.append(f"root has {len(root['authorized_keys'])} authorized key(s)")
    missing = sorted(name for name in declared if name not in accounts or not can_log_in(accounts[name]))
    if missing:
        problems.append(f"declared operators without a usable account: {', '.join(missing)}")
    observed = {"enumerated": f"{len(accounts)} accounts in /etc/passwd and /etc/shadow; login-capable: a login "
                              "shell, keys in a file sshd reads for the account, or a usable password",
                "uid_0": sorted(name for name, account in accounts.items() if account["uid"] == 0),
                "can_log_in": {name: {"uid": account["uid"], "shell": account["shell"],
                                      "keys": len(account["authorized_keys"]), "why": _why_login(account)}
                               for name, account in sorted(accounts.items()) if can_log_in(account)},
                "declared": sorted(declared), "automation": list(params["automation_accounts"]),
                "allowed": list(params["allowed_accounts"])}
    return outcome(problems, "only declared operators and automation accounts can log in", observed)


def _compare_keys(name: str, wanted: set[str], present: set[str], problems: list[str]) -> None:
    if extra := present - wanted:
        problems.append(f"{name} has undeclared keys: {', '.join(sorted(extra))}")
    if lacking := wanted - present:
        problems.append(f"{name} lacks declared keys: {', '.join(sorted(lacking))}")


def evaluate_keys_exact(facts: Facts, params: Params) -> Outcome:
    """Every key sshd would accept for an account (the files of the effective AuthorizedKeysFile, per account;
    AuthorizedKeysCommand, AuthorizedPrincipalsCommand and TrustedUserCAKeys, which let in keys no file shows)
    against the declared ones: the operators' keys and the automation accounts' keys (ACCT-01 automation_keys)."""
    accounts = _accounts(facts)
    problems: list[str] = []
    declared: dict[str, set[str] | None] = {name: None if keys is None else {fingerprint(k) for k in keys}
                                            for name, keys in operators(params).items()}
    automation_keys = {fingerprint(key) for key in params["automation_keys"]}
    for name in params["automation_accounts"]:
        declared[name] = automation_keys
    declared["root"] = set()
    key_commands = set(params["key_commands"])
    ca_files = set(params["trusted_user_ca_keys"])
    observed: dict[str, Any] = {"automation_keys (declared)": sorted(automation_keys), "accounts": {}}
    for name, account in sorted(accounts.items()):
        sources = dict(account.get("key_sources", {}))
        for keyword in ("authorizedkeyscommand", "authorizedprincipalscommand"):
            if keyword in sources and sources[keyword] not in key_commands:
                problems.append(f"sshd runs {keyword} {sources[keyword]!r} for {name}: keys no file shows "
                                "(not declared in ACCT-01 key_commands)")
        if "trustedusercakeys" in sources and sources["trustedusercakeys"] not in ca_files:
            problems.append(f"sshd trusts user CA keys {sources['trustedusercakeys']} for {name}: any certificate "
                            "it signs logs in (not declared in ACCT-01 trusted_user_ca_keys)")
        present = set(account["authorized_keys"])
        if present or sources.keys() - {"authorizedkeysfile"}:
            observed["accounts"][name] = {"key files read": account.get("key_files", []),
                                          "present": sorted(present), **({"sshd key sources": sources}
                                                                         if sources else {})}
        wanted = declared.get(name)
        if wanted is None:
            continue  # an undeclared or name-only account: evaluate_only_declared judges whether it may log in
        if name in params["automation_accounts"] and present and not automation_keys:
            problems.append(f"{name} has {len(present)} key(s) but ACCT-01 automation_keys declares none")
            continue
        _compare_keys(name, wanted, present, problems)
    observed["enumerated"] = (f"{len(accounts)} accounts; for each, the files of sshd's effective AuthorizedKeysFile "
                              "(sshd -T -C user=NAME) and its key commands and CA keys")
    return outcome(problems, "every account's keys (files sshd reads, commands, CAs) are exactly the declared ones",
                    observed)


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


def _principal(entry: Mapping[str, Any]) -> str:
    """A cvtsudoers JSON User_List / Binding entry in sudoers spelling: alice, %group, +netgroup, #uid."""
    prefix = {"username": "", "usergroup": "%", "netgroup": "+", "userid": "#", "groupid": "%#",
              "nonunixgroup": "%:"}
    for key, mark in prefix.items():
        if key in entry:
            return ("!" if entry.get("negated") else "") + mark + str(entry[key])
    return str(dict(entry))


def _options(options: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for option in options or []:
        if isinstance(option, Mapping):
            merged.update(option)
    return merged


_WEAKENING_DEFAULTS = {"authenticate": False, "env_reset": False}


def evaluate_sudoers_rules(facts: Facts, params: Params) -> Outcome:
    """Every user spec and Defaults entry sudo reads (its own parser, includes followed, aliases expanded):
    each rule's principals must be declared, NOPASSWD only for the declared accounts, no Defaults that drop
    authentication or the environment reset."""
    rules = facts.get("sudoers_rules")
    if not isinstance(rules, Mapping) or "error" in rules:
        raise MissingFact("sudoers_rules", str((rules or {}).get("error", "not collected")))
    automation = list(params["automation_accounts"])
    allowed = {"root", *automation, f"%{params['ops_group']}", *params["allowed_principals"]}
    nopasswd_ok = {*automation, *params["nopasswd_accounts"]}
    problems: list[str] = []
    listed: list[str] = []
    for spec in rules["user_specs"]:
        principals = [_principal(entry) for entry in spec.get("User_List", [])]
        nopasswd = any(_options(cmnd.get("Options")).get("authenticate") is False
                       for cmnd in spec.get("Cmnd_Specs", []))
        commands = sorted({str(_options([c]).get("command", c)) for cmnd in spec.get("Cmnd_Specs", [])
                           for c in cmnd.get("Commands", [])})
        rule = f"{','.join(principals)} -> {', '.join(commands)}{' NOPASSWD' if nopasswd else ''}"
        listed.append(rule)
        if undeclared := [p for p in principals if p not in allowed]:
            problems.append(f"sudo rule for undeclared principal(s) {', '.join(undeclared)}: {rule}")
        elif nopasswd and (loose := [p for p in principals if p not in nopasswd_ok]):
            problems.append(f"NOPASSWD sudo rule for {', '.join(loose)} (not declared passwordless): {rule}")
    for default in rules["defaults"]:
        options = _options(default.get("Options"))
        bound = [_principal(entry) for entry in default.get("Binding", [])]
        for key, weak in _WEAKENING_DEFAULTS.items():
            if options.get(key) is weak and not (bound and all(p in nopasswd_ok for p in bound)):
                where = f"Defaults:{','.join(bound)}" if bound else "Defaults"
                problems.append(f"{where} !{key} weakens sudo for {', '.join(bound) or 'everyone'}")
    observed = {"enumerated": f"{len(rules['user_specs'])} rule(s) and {len(rules['defaults'])} Defaults entries "
                              f"in {len(rules['files'])} file(s), aliases expanded (cvtsudoers -e -f json)",
                "files read": list(rules["files"]), "rules": listed, "declared principals": sorted(allowed),
                "declared passwordless": sorted(nopasswd_ok)}
    return outcome(problems, f"every sudo rule is for a declared principal ({', '.join(sorted(allowed))}); "
                              "NOPASSWD only where declared; no weakening Defaults", observed)


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
SUDOERS_RULES = Check(id="sudoers_rules_declared", control_id="ACCT-02",
                      title="every sudoers rule (includes followed, aliases expanded) is for a declared principal, "
                            "NOPASSWD only where declared, no weakening Defaults",
                      facts=("sudoers_rules",), evaluate=evaluate_sudoers_rules)
SUDOERS_VALID = Check(id="sudoers_valid", control_id="ACCT-02", title="the sudoers configuration parses",
                      facts=("sudoers_syntax",), evaluate=evaluate_sudoers_valid)

ACCOUNT_CHECKS = (ACCT_ONLY_DECLARED, ACCT_KEYS_EXACT, ACCT_PASSWORD_STORAGE, SUDO_RIGHTS, SUDOERS_RULES,
                  SUDOERS_VALID)
