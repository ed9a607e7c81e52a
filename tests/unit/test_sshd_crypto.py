"""SSH-03 and SSH-04 evaluators and the wire probe's KEXINIT parser, from output seen on Debian 12 and 13 hosts."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from checks.model import MissingFact, Status
from checks.probes.ssh_wire import parse_kexinit
from checks.sshd import (
    evaluate_allow_groups,
    evaluate_auth_limits,
    evaluate_forwarding,
    evaluate_idle_timeout,
    evaluate_log_level,
)
from checks.sshd_crypto import (
    SSH_CIPHERS,
    SSH_KEX,
    SSH_MACS,
    evaluate_host_key_algorithms,
    evaluate_host_keys,
    evaluate_wire,
    weak,
)

CRYPTO_PARAMS = {"min_rsa_host_key_bits": 3072, "host_key_algorithms": ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"]}
LIMIT_PARAMS = {"automation_accounts": ["stockade"], "max_auth_tries": 4, "max_login_grace_time": 60,
                "max_client_alive_interval": 300, "max_client_alive_count_max": 3}

# Debian 12 (OpenSSH 9.2p1) defaults, as `sshd -T` prints them.
BOOKWORM = """\
logingracetime 120
maxauthtries 6
clientaliveinterval 0
clientalivecountmax 3
x11forwarding yes
gatewayports no
allowtcpforwarding yes
allowagentforwarding yes
allowstreamlocalforwarding yes
permittunnel no
loglevel INFO
ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com
macs umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,\
hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1
kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,\
ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,\
diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,\
rsa-sha2-512,rsa-sha2-256
pubkeyacceptedalgorithms ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256
casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256
"""

# Debian 13 (OpenSSH 10.0p1) after the sshd role.
HARDENED = """\
logingracetime 60
maxauthtries 4
clientaliveinterval 300
clientalivecountmax 3
x11forwarding no
gatewayports no
allowtcpforwarding no
allowagentforwarding no
allowstreamlocalforwarding no
permittunnel no
loglevel VERBOSE
allowgroups ops
allowgroups stockade
ciphers chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr
macs umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128@openssh.com,\
hmac-sha2-256,hmac-sha2-512
kexalgorithms mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,\
curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521
hostkeyalgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256
pubkeyacceptedalgorithms ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256
casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256
"""

ACCOUNTS = [{"name": "stockade", "uid": 1000, "groups": ["stockade"], "login_shell": True, "expired": False,
             "authorized_keys": ["SHA256:x"], "password": "locked", "shell": "/bin/bash"}]


def sshd_t(text: str, **extra: Any) -> dict[str, Any]:
    return {"sshd_effective": {"command": ["sshd", "-T"], "rc": 0, "stdout": text, "stderr": ""}, **extra}


def test_weak_families() -> None:
    assert weak("cipher", ["aes128-cbc", "3des-cbc", "aes256-ctr", "rijndael-cbc@lysator.liu.se"]) == [
        "aes128-cbc", "3des-cbc", "rijndael-cbc@lysator.liu.se"]
    assert weak("mac", ["hmac-sha1", "hmac-sha1-etm@openssh.com", "umac-64@openssh.com", "hmac-sha2-256",
                        "umac-128@openssh.com", "hmac-md5-96"]) == [
        "hmac-sha1", "hmac-sha1-etm@openssh.com", "umac-64@openssh.com", "hmac-md5-96"]
    assert weak("kex", ["diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1",
                        "diffie-hellman-group14-sha256", "sntrup761x25519-sha512", "kex-strict-s-v00@openssh.com"]) \
        == ["diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1"]
    assert weak("signature", ["ssh-rsa", "ssh-rsa-cert-v01@openssh.com", "rsa-sha2-256", "ssh-dss"]) == [
        "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", "ssh-dss"]


def test_bookworm_defaults_fail_on_macs_and_host_key_algorithms_only() -> None:
    facts = sshd_t(BOOKWORM)
    assert SSH_MACS.evaluate(facts, CRYPTO_PARAMS).status is Status.FAIL
    assert SSH_CIPHERS.evaluate(facts, CRYPTO_PARAMS).status is Status.PASS
    assert SSH_KEX.evaluate(facts, CRYPTO_PARAMS).status is Status.PASS
    outcome = evaluate_host_key_algorithms(facts, CRYPTO_PARAMS)
    assert outcome.status is Status.FAIL and "ecdsa-sha2-nistp256" in outcome.message
    assert "SHA-1" not in outcome.message


def test_hardened_passes_every_crypto_family() -> None:
    facts = sshd_t(HARDENED)
    for evaluate in (SSH_MACS.evaluate, SSH_CIPHERS.evaluate, SSH_KEX.evaluate, evaluate_host_key_algorithms):
        assert evaluate(facts, CRYPTO_PARAMS).status is Status.PASS


def test_ssh_rsa_anywhere_fails() -> None:
    planted = HARDENED.replace("pubkeyacceptedalgorithms ssh-ed25519", "pubkeyacceptedalgorithms ssh-rsa,ssh-ed25519")
    outcome = evaluate_host_key_algorithms(sshd_t(planted), CRYPTO_PARAMS)
    assert outcome.status is Status.FAIL and "pubkeyacceptedalgorithms allows SHA-1 signatures: ssh-rsa" in \
        outcome.message


def test_missing_keyword_is_an_error_not_a_pass() -> None:
    with pytest.raises(MissingFact):
        SSH_MACS.evaluate(sshd_t("port 22\n"), CRYPTO_PARAMS)


def test_host_keys() -> None:
    good = [{"path": "/etc/ssh/ssh_host_ed25519_key", "bits": 256, "type": "ED25519"},
            {"path": "/etc/ssh/ssh_host_rsa_key", "bits": 3072, "type": "RSA"}]
    assert evaluate_host_keys({"sshd_host_keys": good}, CRYPTO_PARAMS).status is Status.PASS
    small = [good[0], {**good[1], "bits": 2048}]
    outcome = evaluate_host_keys({"sshd_host_keys": small}, CRYPTO_PARAMS)
    assert outcome.status is Status.FAIL and "RSA 2048 bits < 3072" in outcome.message
    assert "no ed25519" in evaluate_host_keys({"sshd_host_keys": [good[1]]}, CRYPTO_PARAMS).message
    with pytest.raises(MissingFact):
        evaluate_host_keys({"sshd_host_keys": {"error": "boom"}}, CRYPTO_PARAMS)


def kexinit(*lists: str) -> bytes:
    body = bytes([20]) + b"\x00" * 16
    for item in (*lists, *([""] * (10 - len(lists)))):
        body += struct.pack(">I", len(item)) + item.encode()
    return body + b"\x00" + b"\x00\x00\x00\x00"


def test_parse_kexinit() -> None:
    parsed = parse_kexinit(kexinit("curve25519-sha256,ext-info-s", "ssh-ed25519,rsa-sha2-256", "aes128-ctr",
                                   "aes256-ctr", "hmac-sha2-256", "hmac-sha2-512"))
    assert parsed["kex_algorithms"] == ["curve25519-sha256", "ext-info-s"]
    assert parsed["host_key_algorithms"] == ["ssh-ed25519", "rsa-sha2-256"]
    assert parsed["macs_server_to_client"] == ["hmac-sha2-512"]
    with pytest.raises(ValueError, match="expected KEXINIT"):
        parse_kexinit(b"\x15rest")


def wire(**changes: Any) -> dict[str, Any]:
    offer = {"address": "198.18.3.11:22", "banner": "SSH-2.0-OpenSSH_10.0p2 Debian-7",
             "kex_algorithms": ["mlkem768x25519-sha256", "curve25519-sha256", "ext-info-s"],
             "host_key_algorithms": ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"],
             "ciphers_client_to_server": ["aes128-gcm@openssh.com"],
             "ciphers_server_to_client": ["aes128-gcm@openssh.com"],
             "macs_client_to_server": ["hmac-sha2-256-etm@openssh.com"],
             "macs_server_to_client": ["hmac-sha2-256-etm@openssh.com"],
             "rsa_host_key": {"offered": True, "negotiated": "rsa-sha2-512", "bits": 3072}}
    return {"ssh_wire": {**offer, **changes}}


def test_wire() -> None:
    assert evaluate_wire(wire(), CRYPTO_PARAMS).status is Status.PASS
    outcome = evaluate_wire(wire(host_key_algorithms=["ssh-ed25519", "rsa-sha2-256", "ssh-rsa"],
                                 rsa_host_key={"offered": True, "bits": 2048}), CRYPTO_PARAMS)
    assert outcome.status is Status.FAIL
    assert "ssh-rsa" in outcome.message and "2048 bits < 3072" in outcome.message
    assert "no RSA host key" in evaluate_wire(wire(rsa_host_key={"offered": False}), CRYPTO_PARAMS).message
    with pytest.raises(MissingFact):
        evaluate_wire({"ssh_wire": {"error": "ConnectionRefusedError"}}, CRYPTO_PARAMS)


def test_session_limits_fail_on_defaults_and_pass_hardened() -> None:
    for evaluate in (evaluate_auth_limits, evaluate_idle_timeout, evaluate_forwarding, evaluate_log_level):
        assert evaluate(sshd_t(BOOKWORM), LIMIT_PARAMS).status is Status.FAIL
        assert evaluate(sshd_t(HARDENED), LIMIT_PARAMS).status is Status.PASS
    outcome = evaluate_forwarding(sshd_t(BOOKWORM), LIMIT_PARAMS)
    assert "x11forwarding is yes" in outcome.message and "permittunnel" not in outcome.message


def test_allow_groups_must_keep_the_automation_account() -> None:
    assert evaluate_allow_groups(sshd_t(HARDENED, accounts_inventory=ACCOUNTS), LIMIT_PARAMS).status is Status.PASS
    assert "not set" in evaluate_allow_groups(sshd_t(BOOKWORM, accounts_inventory=ACCOUNTS), LIMIT_PARAMS).message
    ops_only = HARDENED.replace("allowgroups stockade\n", "")
    outcome = evaluate_allow_groups(sshd_t(ops_only, accounts_inventory=ACCOUNTS), LIMIT_PARAMS)
    assert outcome.status is Status.FAIL and "lockout" in outcome.message
