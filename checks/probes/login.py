"""MFA-01 from the controller: real SSH logins of the accounts that elected 2FA, with and without a code.

For each elected account (inventory: `accounts_ops_users` entries with `totp: true`, or `totp_users`) that
has a seed in the inventory's `totp_seeds` (Ansible Vault values are decrypted with the controller's vault
secrets), three fresh connections, each verified against the inventory's known_hosts:
  1. the key alone must not open a session (publickey is only a partial success),
  2. the key and the current TOTP code (pyotp) must open one,
  3. the same code again must be refused (DISALLOW_REUSE).
The automation accounts must still get in with their key alone. Neither the seed nor any code is ever put
in the result: only what the server answered.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import paramiko
import pyotp

from checks.model import Param, Params
from checks.probes import SSH_CONNECTION_RATE, ProbeTarget, probe

CONNECT_TIMEOUT = 10.0


def elected_accounts(variables: Mapping[str, Any]) -> list[str]:
    """Who elected 2FA, as the inventory declares it."""
    explicit = variables.get("totp_users")
    if isinstance(explicit, list) and all(isinstance(name, str) for name in explicit):
        return sorted(explicit)
    users = variables.get("accounts_ops_users") or []
    return sorted(str(user["name"]) for user in users
                  if isinstance(user, Mapping) and "name" in user and user.get("totp") is True)


def _reveal(value: Any) -> str | None:
    """A seed from the inventory: plain, or an Ansible Vault value decrypted with the configured secrets."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "__ansible_vault" in value:
        from ansible.cli import CLI  # only when the inventory holds vaulted seeds
        from ansible.parsing.dataloader import DataLoader
        from ansible.parsing.vault import VaultLib
        loader = DataLoader()
        secrets = CLI.setup_vault_secrets(loader, vault_ids=[], auto_prompt=False)
        plain: bytes = VaultLib(secrets).decrypt(str(value["__ansible_vault"]).encode())
        return plain.decode().strip()
    return None


def _option(options: tuple[str, ...], name: str) -> str | None:
    """The value of `-o Name=value` in an ssh argv fragment."""
    for i, item in enumerate(options):
        text = options[i + 1] if item == "-o" and i + 1 < len(options) else item.removeprefix("-o")
        key, _, value = text.partition("=")
        if key.strip().lower() == name.lower() and value:
            return value.strip()
    return None


class _Session:
    """One fresh SSH transport whose host key is checked against the known_hosts the inventory uses."""

    def __init__(self, target: ProbeTarget) -> None:
        self.transport = paramiko.Transport((target.address, target.ssh_port))
        self.transport.banner_timeout = CONNECT_TIMEOUT
        self.transport.auth_timeout = CONNECT_TIMEOUT
        self.transport.start_client(timeout=CONNECT_TIMEOUT)
        known_hosts = Path(_option(target.ssh_options, "UserKnownHostsFile") or "~/.ssh/known_hosts").expanduser()
        keys = paramiko.HostKeys(str(known_hosts)) if known_hosts.exists() else paramiko.HostKeys()
        server_key = self.transport.get_remote_server_key()
        names = [target.address] if target.ssh_port == 22 else [f"[{target.address}]:{target.ssh_port}"]
        if not any(keys.check(name, server_key) for name in names):
            self.transport.close()
            raise paramiko.SSHException(f"host key of {target.address} not in {known_hosts}")

    def __enter__(self) -> paramiko.Transport:
        return self.transport

    def __exit__(self, *exc: object) -> None:
        self.transport.close()


def _publickey(transport: paramiko.Transport, user: str, key: paramiko.PKey) -> dict[str, Any]:
    try:
        remaining = transport.auth_publickey(user, key)
    except paramiko.BadAuthenticationType as exc:
        return {"result": "refused", "allowed": sorted(exc.allowed_types)}
    except paramiko.AuthenticationException as exc:
        return {"result": "refused", "detail": str(exc) or type(exc).__name__}
    if transport.is_authenticated():
        return {"result": "accepted"}
    return {"result": "partial", "then": sorted(remaining)}


def _with_code(target: ProbeTarget, user: str, key: paramiko.PKey, code: str) -> dict[str, Any]:
    with _Session(target) as transport:
        first = _publickey(transport, user, key)
        if first["result"] != "partial":
            return {"result": "not tried", "publickey": first}
        prompts: list[str] = []

        def answer(_title: str, _instructions: str, prompt_list: list[tuple[str, bool]]) -> list[str]:
            prompts.extend(prompt for prompt, _echo in prompt_list)
            return [code for _ in prompt_list]

        try:
            transport.auth_interactive(user, answer)
        except paramiko.AuthenticationException as exc:
            return {"result": "refused", "prompts": prompts[:3], "detail": str(exc) or type(exc).__name__}
        return {"result": "accepted" if transport.is_authenticated() else "refused", "prompts": prompts[:3]}


def login_trials(target: ProbeTarget, user: str, key: paramiko.PKey, seed: str) -> dict[str, Any]:
    with _Session(target) as transport:
        key_alone = _publickey(transport, user, key)
    totp = pyotp.TOTP(seed)
    now = time.time()
    code, step = totp.at(now), 0
    with_code = _with_code(target, user, key, code)
    if with_code["result"] == "refused":
        # This step's code may already be spent (an audit or a login a moment ago): the next step's code
        # is inside the accepted window (WINDOW_SIZE 3).
        code, step = totp.at(now + totp.interval), 1
        with_code = {**_with_code(target, user, key, code), "current_step_refused": True}
    reused = _with_code(target, user, key, code) if with_code["result"] == "accepted" else {"result": "not tried"}
    return {"key_alone": key_alone, "key_and_code": {**with_code, "step": step}, "same_code_again": reused}


@probe("mfa_login", params=(Param("MFA-01", "probe_key_file"), Param("MFA-01", "exempt_accounts")),
       meets=(SSH_CONNECTION_RATE,))
def mfa_login(target: ProbeTarget, params: Params) -> dict[str, Any]:
    variables = target.variables
    elected = elected_accounts(variables)
    key_file = str(params["probe_key_file"] or variables.get("ansible_ssh_private_key_file") or "")
    result: dict[str, Any] = {"elected": elected, "key_file": key_file or None, "accounts": {}, "exempt": {}}
    if not key_file:
        result["error"] = "no probe key: set MFA-01 probe_key_file or ansible_ssh_private_key_file"
        return result
    key = paramiko.PKey.from_path(key_file)
    seeds = variables.get("totp_seeds") or {}
    for user in elected:
        seed = _reveal(seeds.get(user)) if isinstance(seeds, Mapping) else None
        if not seed:
            result["accounts"][user] = {"error": "no seed for this account in the inventory (totp_seeds)"}
            continue
        try:
            result["accounts"][user] = login_trials(target, user, key, seed)
        except (OSError, paramiko.SSHException) as exc:
            result["accounts"][user] = {"error": f"{type(exc).__name__}: {exc}"}
    automation_key_file = str(variables.get("ansible_ssh_private_key_file") or key_file)
    automation_key = key if automation_key_file == key_file else paramiko.PKey.from_path(automation_key_file)
    for user in params["exempt_accounts"]:
        try:
            with _Session(target) as transport:
                result["exempt"][user] = {"key_alone": _publickey(transport, user, automation_key)}
        except (OSError, paramiko.SSHException) as exc:
            result["exempt"][user] = {"error": f"{type(exc).__name__}: {exc}"}
    return result
