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
    evaluate_sudoers_valid,
    fingerprint,
)
from checks.collect.accounts import hash_scheme, key_fingerprints
from checks.model import MissingFact, Status

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvZ1fS5c5XjJrG8Ykq8dVt7m2yvZt1cHh3r0A7b4YbW alice@ops"
KEY_PRINT = "SHA256:" + base64.b64encode(hashlib.sha256(base64.b64decode(KEY.split()[1])).digest()).decode().rstrip("=")
OPS = [{"name": "alice", "ssh_keys": [KEY]}]
ACCT_PARAMS = {"operators": OPS, "automation_accounts": ["stockade"], "allowed_accounts": [],
               "allowed_hash_schemes": ["yescrypt", "sha512crypt"]}
SUDO_PARAMS = {"ops_group": "ops", "automation_accounts": ["stockade"], "operators": OPS, "nopasswd_accounts": []}


def account(name: str, uid: int, **changes: Any) -> dict[str, Any]:
    return {"name": name, "uid": uid, "shell": "/bin/bash", "login_shell": True, "groups": [name],
            "password": "locked", "expired": False, "authorized_keys": [], "key_files": [], **changes}


HARDENED = [account("root", 0), account("daemon", 1, shell="/usr/sbin/nologin", login_shell=False),
            account("stockade", 1000, authorized_keys=["SHA256:lab"]),
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
