"""ACCT-01 and ACCT-02 evaluators, and the host-side reductions (hash scheme ids, key fingerprints)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from checks.accounts import (
    evaluate_keys_exact,
    evaluate_only_declared,
    evaluate_password_storage,
    evaluate_sudo_rights,
    evaluate_sudoers_rules,
    evaluate_sudoers_valid,
    fingerprint,
)
from checks.collect.accounts import expand_tokens, hash_scheme, key_fingerprints
from checks.model import MissingFact, Status

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvZ1fS5c5XjJrG8Ykq8dVt7m2yvZt1cHh3r0A7b4YbW alice@ops"
KEY_PRINT = "SHA256:" + base64.b64encode(hashlib.sha256(base64.b64decode(KEY.split()[1])).digest()).decode().rstrip("=")
LAB_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHLabLabLabLabLabLabLabLabLabLabLabLabLabLab stockade@controller"
LAB_PRINT = fingerprint(LAB_KEY)
OPS = [{"name": "alice", "ssh_keys": [KEY]}]
ACCT_PARAMS = {"operators": OPS, "automation_accounts": ["stockade"], "allowed_accounts": [],
               "allowed_hash_schemes": ["yescrypt", "sha512crypt"], "automation_keys": [LAB_KEY],
               "key_commands": [], "trusted_user_ca_keys": []}
SUDO_PARAMS = {"ops_group": "ops", "automation_accounts": ["stockade"], "operators": OPS, "nopasswd_accounts": [],
               "allowed_principals": ["%sudo"]}


def account(name: str, uid: int, **changes: Any) -> dict[str, Any]:
    return {"name": name, "uid": uid, "shell": "/bin/bash", "login_shell": True, "groups": [name],
            "password": "locked", "expired": False, "authorized_keys": [], "key_files": [], **changes}


HARDENED = [account("root", 0), account("daemon", 1, shell="/usr/sbin/nologin", login_shell=False),
            account("stockade", 1000, authorized_keys=[LAB_PRINT]),
            account("alice", 1001, groups=["alice", "ops"], authorized_keys=[KEY_PRINT], password="yescrypt")]
RIGHTS = {"root": {"rules": ["(ALL : ALL) ALL"], "nopasswd": False},
          "stockade": {"rules": ["(ALL : ALL) NOPASSWD: ALL"], "nopasswd": True},
          "alice": {"rules": ["(ALL : ALL) ALL"], "nopasswd": False}}


def test_hash_scheme_ids() -> None:
    assert [hash_scheme(f) for f in ("", "!", "*", "!*", "!$y$j9T$abc", "$y$j9T$salt$hash", "$6$salt$hash",
                                     "$1$salt$hash", "abcdefghijklm", "$5$x$y", "$2b$10$x")] == [
        "empty", "locked", "locked", "locked", "locked", "yescrypt", "sha512crypt", "md5crypt", "des",
        "sha256crypt", "bcrypt"]


def test_key_fingerprints_match_ssh_keygen_and_the_controller(tmp_path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    public = (tmp_path / "k.pub").read_text().strip()
    keygen = subprocess.run(["ssh-keygen", "-l", "-f", str(tmp_path / "k.pub")], capture_output=True, text=True,
                            check=True).stdout.split()[1]
    (tmp_path / "authorized_keys").write_text(f"# comment\n\nno-pty,from=\"10.0.0.1\" {public}\n{KEY}\n")
    assert key_fingerprints(tmp_path / "authorized_keys") == [keygen, KEY_PRINT]
    assert fingerprint(public) == keygen


def test_only_declared_accounts() -> None:
    assert evaluate_only_declared({"accounts_inventory": HARDENED}, ACCT_PARAMS).status is Status.PASS
    planted = [*HARDENED, account("mallory", 1002, authorized_keys=["SHA256:m"])]
    outcome = evaluate_only_declared({"accounts_inventory": planted}, ACCT_PARAMS)
    assert outcome.status is Status.FAIL and "undeclared accounts can log in: mallory" in outcome.message
    # Locked by the role: nologin shell and expired, its keys no longer open anything.
    locked = [*HARDENED, account("mallory", 1002, login_shell=False, expired=True, authorized_keys=["SHA256:m"])]
    assert evaluate_only_declared({"accounts_inventory": locked}, ACCT_PARAMS).status is Status.PASS
    # A service account with keys but no shell still opens tunnels.
    service = [*HARDENED, account("backup", 34, login_shell=False, authorized_keys=["SHA256:b"])]
    assert evaluate_only_declared({"accounts_inventory": service}, ACCT_PARAMS).status is Status.FAIL
    fresh = [a for a in HARDENED if a["name"] != "alice"]
    assert "without a usable account: alice" in evaluate_only_declared({"accounts_inventory": fresh},
                                                                          ACCT_PARAMS).message
    rooted = [account("root", 0, authorized_keys=["SHA256:r"]), *HARDENED[1:]]
    assert "root has 1 authorized key" in evaluate_only_declared({"accounts_inventory": rooted}, ACCT_PARAMS).message


def test_keys_exact() -> None:
    assert evaluate_keys_exact({"accounts_inventory": HARDENED}, ACCT_PARAMS).status is Status.PASS
    extra = [*HARDENED[:3], {**HARDENED[3], "authorized_keys": [KEY_PRINT, "SHA256:other"]}]
    outcome = evaluate_keys_exact({"accounts_inventory": extra}, ACCT_PARAMS)
    assert outcome.status is Status.FAIL and "alice has undeclared keys: SHA256:other" in outcome.message
    names_only = {**ACCT_PARAMS, "operators": ["alice"]}
    assert evaluate_keys_exact({"accounts_inventory": extra}, names_only).status is Status.PASS
    with pytest.raises(ValueError, match="operators"):
        evaluate_keys_exact({"accounts_inventory": HARDENED}, {**ACCT_PARAMS, "operators": [{"keys": []}]})


def test_password_storage_names_schemes_never_hashes() -> None:
    assert evaluate_password_storage({"accounts_inventory": HARDENED}, ACCT_PARAMS).status is Status.PASS
    weak = [account("root", 0, password="sha512crypt"), account("old", 1003, password="md5crypt"),
            account("blank", 1004, password="empty"), HARDENED[3]]
    outcome = evaluate_password_storage({"accounts_inventory": weak}, ACCT_PARAMS)
    assert outcome.status is Status.FAIL
    assert "root's password is not locked" in outcome.message and "old (md5crypt)" in outcome.message
    assert "empty passwords: blank" in outcome.message
    assert outcome.observed["schemes"]["yescrypt"] == ["alice"]


def test_sudo_rights() -> None:
    facts = {"accounts_inventory": HARDENED, "accounts_sudo_rights": RIGHTS}
    assert evaluate_sudo_rights(facts, SUDO_PARAMS).status is Status.PASS
    rogue = {**RIGHTS, "mallory": {"rules": ["(ALL) NOPASSWD: ALL"], "nopasswd": True}}
    outcome = evaluate_sudo_rights({**facts, "accounts_sudo_rights": rogue}, SUDO_PARAMS)
    assert "mallory may use sudo but is not a declared operator" in outcome.message
    assert "mallory has NOPASSWD sudo" in outcome.message
    outside = [*HARDENED[:3], {**HARDENED[3], "groups": ["alice", "sudo"]}]
    assert "outside the ops group" in evaluate_sudo_rights({**facts, "accounts_inventory": outside},
                                                           SUDO_PARAMS).message
    fresh = {"accounts_inventory": HARDENED[:3], "accounts_sudo_rights": {k: RIGHTS[k] for k in ("root", "stockade")}}
    assert "declared operators missing: alice" in evaluate_sudo_rights(fresh, SUDO_PARAMS).message
    with pytest.raises(MissingFact):
        evaluate_sudo_rights({**facts, "accounts_sudo_rights": {"alice": {"error": "sudo: unknown user"}}},
                             SUDO_PARAMS)


def test_sudoers_valid() -> None:
    ok = {"rc": 0, "stdout": "/etc/sudoers: parsed OK\n", "stderr": ""}
    assert evaluate_sudoers_valid({"sudoers_syntax": ok}, {}).status is Status.PASS
    broken = {"rc": 1, "stdout": "", "stderr": "/etc/sudoers.d/x:1:20: syntax error\n"}
    assert evaluate_sudoers_valid({"sudoers_syntax": broken}, {}).status is Status.FAIL
    with pytest.raises(MissingFact):
        evaluate_sudoers_valid({"sudoers_syntax": {"error": "command not found"}}, {})


def test_uid_0_alias_fails_whatever_its_shell() -> None:
    for shell, login in (("/bin/bash", True), ("/usr/sbin/nologin", False)):
        planted = [*HARDENED, account("toor", 0, shell=shell, login_shell=login)]
        outcome = evaluate_only_declared({"accounts_inventory": planted}, ACCT_PARAMS)
        assert outcome.status is Status.FAIL and "UID 0 besides root: toor" in outcome.message
        assert outcome.observed["uid_0"] == ["root", "toor"]


def test_a_usable_password_makes_an_account_login_capable() -> None:
    planted = [*HARDENED, account("games2", 60, shell="/usr/sbin/nologin", login_shell=False, password="yescrypt")]
    outcome = evaluate_only_declared({"accounts_inventory": planted}, ACCT_PARAMS)
    assert outcome.status is Status.FAIL and "games2 (password (yescrypt))" in outcome.message
    assert "accounts in /etc/passwd" in outcome.observed["enumerated"]


def test_automation_keys_are_declared_data() -> None:
    extra = [*HARDENED[:2], {**HARDENED[2], "authorized_keys": [LAB_PRINT, "SHA256:intruder"]}, HARDENED[3]]
    outcome = evaluate_keys_exact({"accounts_inventory": extra}, ACCT_PARAMS)
    assert outcome.status is Status.FAIL and "stockade has undeclared keys: SHA256:intruder" in outcome.message
    undeclared = evaluate_keys_exact({"accounts_inventory": HARDENED}, {**ACCT_PARAMS, "automation_keys": []})
    assert undeclared.status is Status.FAIL and "automation_keys declares none" in undeclared.message
    assert evaluate_keys_exact({"accounts_inventory": HARDENED}, ACCT_PARAMS).observed[
        "automation_keys (declared)"] == [LAB_PRINT]


def test_keys_in_any_file_sshd_reads_and_key_commands_and_cas() -> None:
    files = [{"path": "/etc/ssh/keys/alice", "keys": 1}, {"path": "/home/alice/.ssh/authorized_keys", "keys": 1}]
    moved = [*HARDENED[:3], {**HARDENED[3], "authorized_keys": [KEY_PRINT, "SHA256:other"], "key_files": files}]
    outcome = evaluate_keys_exact({"accounts_inventory": moved}, ACCT_PARAMS)
    assert "alice has undeclared keys: SHA256:other" in outcome.message
    assert outcome.observed["accounts"]["alice"]["key files read"] == files
    rooted = [{**HARDENED[0], "authorized_keys": ["SHA256:r"]}, *HARDENED[1:]]
    assert "root has undeclared keys: SHA256:r" in evaluate_keys_exact({"accounts_inventory": rooted},
                                                                         ACCT_PARAMS).message
    command = [{**HARDENED[0], "key_sources": {"authorizedkeyscommand": "/usr/local/bin/keys %u",
                                               "trustedusercakeys": "/etc/ssh/ca.pub"}}, *HARDENED[1:]]
    outcome = evaluate_keys_exact({"accounts_inventory": command}, ACCT_PARAMS)
    assert "authorizedkeyscommand '/usr/local/bin/keys %u' for root" in outcome.message
    assert "trusts user CA keys /etc/ssh/ca.pub for root" in outcome.message
    declared = {**ACCT_PARAMS, "key_commands": ["/usr/local/bin/keys %u"], "trusted_user_ca_keys": ["/etc/ssh/ca.pub"]}
    assert evaluate_keys_exact({"accounts_inventory": command}, declared).status is Status.PASS


def test_sshd_token_expansion() -> None:
    assert expand_tokens(".ssh/authorized_keys", "alice", 1001, "/home/alice") == "/home/alice/.ssh/authorized_keys"
    assert expand_tokens("/etc/ssh/keys/%u.%U", "alice", 1001, "/home/alice") == "/etc/ssh/keys/alice.1001"
    assert expand_tokens("%h/k%%", "alice", 1001, "/home/alice") == "/home/alice/k%"


def spec(principals: list[dict[str, object]], nopasswd: bool = False) -> dict[str, object]:
    options = [{"authenticate": False}] if nopasswd else []
    return {"User_List": principals, "Host_List": [{"hostname": "ALL"}],
            "Cmnd_Specs": [{"runasusers": [{"username": "ALL"}], "Options": options,
                            "Commands": [{"command": "ALL"}]}]}


SUDOERS = {"files": ["/etc/sudoers", "/etc/sudoers.d/stockade-ops"],
           "defaults": [{"Options": [{"env_reset": True}]}],
           "user_specs": [spec([{"username": "root"}]), spec([{"usergroup": "sudo"}]), spec([{"usergroup": "ops"}]),
                          spec([{"username": "stockade"}], nopasswd=True)]}


def test_sudoers_rules_hardened_pass_and_name_the_files() -> None:
    outcome = evaluate_sudoers_rules({"sudoers_rules": SUDOERS}, SUDO_PARAMS)
    assert outcome.status is Status.PASS, outcome.message
    assert "4 rule(s) and 1 Defaults entries in 2 file(s)" in outcome.observed["enumerated"]


@pytest.mark.parametrize(("planted", "expected"), [
    (spec([{"usergroup": "users"}], nopasswd=True), "undeclared principal(s) %users"),
    (spec([{"username": "mallory"}, {"username": "alice"}]), "undeclared principal(s) mallory"),
    (spec([{"username": "ALL"}]), "undeclared principal(s) ALL"),
    (spec([{"userid": 1002}]), "undeclared principal(s) #1002"),
    (spec([{"usergroup": "ops"}], nopasswd=True), "NOPASSWD sudo rule for %ops"),
])
def test_sudoers_rules_catch_undeclared_principals_and_nopasswd(planted: dict[str, object], expected: str) -> None:
    facts = {"sudoers_rules": {**SUDOERS, "user_specs": [*SUDOERS["user_specs"], planted]}}
    outcome = evaluate_sudoers_rules(facts, SUDO_PARAMS)
    assert outcome.status is Status.FAIL and expected in outcome.message


def test_sudoers_weakening_defaults() -> None:
    for default, expected in (({"Options": [{"authenticate": False}]}, "Defaults !authenticate"),
                              ({"Binding": [{"username": "alice"}], "Options": [{"authenticate": False}]},
                               "Defaults:alice !authenticate"),
                              ({"Options": [{"env_reset": False}]}, "Defaults !env_reset")):
        facts = {"sudoers_rules": {**SUDOERS, "defaults": [default]}}
        outcome = evaluate_sudoers_rules(facts, SUDO_PARAMS)
        assert outcome.status is Status.FAIL and expected in outcome.message
    bound = {"sudoers_rules": {**SUDOERS, "defaults": [{"Binding": [{"username": "stockade"}],
                                                        "Options": [{"authenticate": False}]}]}}
    assert evaluate_sudoers_rules(bound, SUDO_PARAMS).status is Status.PASS
    with pytest.raises(MissingFact):
        evaluate_sudoers_rules({"sudoers_rules": {"error": "command not found"}}, SUDO_PARAMS)
