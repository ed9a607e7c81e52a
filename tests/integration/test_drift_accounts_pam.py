"""Issue 14 items 1-3 and 10 on real hardened Debian 13 hosts: drift a penetration tester would plant in accounts,
keys, sudo and PAM is a FAIL of the right check whose message names the offender, in ONE audit over all hosts,
while an untouched hardened host has 0 fail / 0 error; and PAM-01's compliant trial candidates are accepted by
the host's real pwquality library and PAM module many thousands of times in a row."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import Lab, boot_lab, stockade

from checks.collect.bundle import script

CONTROLS = "ACCT-01,ACCT-02,PAM-01"
TAGS = "accounts,sshd,pam"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, "13", hosts=3)


def fingerprint(public_line: str) -> str:
    raw = base64.b64decode(public_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


@pytest.fixture(scope="module")
def hardened(lab: Lab) -> dict[str, str]:
    """Harden all three hosts with one declared operator, then plant the drift on lab-02 and lab-03."""
    keys = lab.inventory.parent
    for name in ("alice", "intruder"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@x", "-f", str(keys / name)],
                       check=True)
    document = yaml.safe_load(lab.inventory.read_text())
    ops = [{"name": "alice", "ssh_keys": [(keys / "alice.pub").read_text().strip()], "groups": [], "totp": False}]
    variables = document["all"]["children"]["lab"]["vars"]
    variables["accounts_ops_users"] = ops
    params = variables["stockade_params"]
    assert params["ACCT-01"]["automation_keys"], "the lab inventory declares the automation account's key"
    params["ACCT-01"] = {**params["ACCT-01"], "operators": ops}
    params["ACCT-02"] = {"operators": ops}
    inventory = lab.inventory.with_name("drift.yml")
    inventory.write_text(yaml.safe_dump(document, sort_keys=False))
    result = stockade("harden", "-i", str(inventory), "--tags", TAGS)
    assert result.returncode == 0, result.stdout[-3000:]
    intruder = (keys / "intruder.pub").read_text().strip()
    for host, commands in plants(intruder).items():
        for command in commands:
            done = lab.ssh(host, f"sudo sh -c {json.dumps(command)}")
            assert done.returncode == 0, (host, command, done.stderr)
    return {"inventory": str(inventory), "intruder": fingerprint(intruder)}


def plants(intruder: str) -> dict[str, list[str]]:
    return {
        "lab-02": [
            "useradd -o -u 0 -g 0 -M -d /root -s /bin/bash toor",  # a second UID 0 with a shell
            "sed -i '1i auth sufficient pam_permit.so' /etc/pam.d/common-auth",
            f"echo '{intruder}' >> ~stockade/.ssh/authorized_keys",  # passwordless sudo for its holder
            "echo '%users ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers",  # in sudoers itself, group empty or not
            "echo 'deny = 0' >> /etc/security/faillock.conf",  # appended: the last line wins
        ],
        "lab-03": [
            "useradd -o -u 0 -M -s /usr/sbin/nologin sysadm",  # a UID 0 alias without a shell
            "usermod -s /bin/bash backup",  # a system account given a shell
            # sshd reads a second key file, read before the role's drop-in (first value wins)
            "echo 'AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u' > /etc/ssh/sshd_config.d/00-aaa.conf",
            f"install -d /etc/ssh/keys && echo '{intruder}' > /etc/ssh/keys/root",
            "printf '%s\\n' '%ops ALL=(ALL) NOPASSWD: ALL' 'Defaults !authenticate' > /etc/sudoers.d/zz-local"
            " && chmod 440 /etc/sudoers.d/zz-local",
            "sed -i '1i auth optional pam_exec.so quiet expose_authtok /usr/local/bin/pwlog' /etc/pam.d/sshd",
            "sed -i '/pam_unix.so/ s/$/ nullok/' /etc/pam.d/common-password",
        ],
    }


def expected(intruder: str) -> dict[str, dict[str, list[str]]]:
    """Per host: check id -> fragments its FAIL message must hold (the offender named)."""
    return {
        "lab-02": {
            "accounts_only_declared_logins": ["UID 0 besides root: toor (shell /bin/bash"],
            "accounts_keys_exact": [f"stockade has undeclared keys: {intruder}"],
            "sudoers_rules_declared": ["undeclared principal(s) %users", "NOPASSWD"],
            "pam_stacks_no_bypass": ["common-auth:1: auth sufficient pam_permit.so", "sshd", "sudo", "su"],
            "pam_faillock_configured": ["deny is 0"],
        },
        "lab-03": {
            "accounts_only_declared_logins": ["UID 0 besides root: sysadm", "backup (shell /bin/bash"],
            "accounts_keys_exact": [f"root has undeclared keys: {intruder}"],
            "sudoers_rules_declared": ["NOPASSWD sudo rule for %ops", "Defaults !authenticate"],
            "pam_stacks_no_bypass": ["pam_exec runs a program in the stack (sshd:1"],
            "pam_no_empty_passwords": ["common-password:", "nullok"],
        },
    }


def test_one_audit_catches_every_plant_and_passes_the_untouched_host(lab: Lab, hardened: dict[str, str],
                                                                     tmp_path: Path) -> None:
    result = stockade("audit", "-i", hardened["inventory"], "--controls", CONTROLS, "-o", str(tmp_path))
    run_dir = sorted(path for path in tmp_path.iterdir() if path.is_dir())[-1]
    findings = json.loads((run_dir / "results.json").read_text())["findings"]
    clean = [f for f in findings if f["host"] == "lab-01"]
    assert clean and not [f for f in clean if f["status"] in ("fail", "error")], \
        [(f["check_id"], f["message"]) for f in clean if f["status"] != "pass"]
    by_host = {host: {f["check_id"]: f for f in findings if f["host"] == host} for host in ("lab-02", "lab-03")}
    missed = []
    for host, checks in expected(hardened["intruder"]).items():
        for check_id, fragments in checks.items():
            finding = by_host[host][check_id]
            if finding["status"] != "fail" or not all(fragment in finding["message"] for fragment in fragments):
                missed.append((host, check_id, finding["status"], finding["message"]))
    assert not missed, missed
    assert not [f for f in findings if f["status"] == "error"], [f["message"] for f in findings
                                                                 if f["status"] == "error"]
    # The evidence says what was enumerated.
    keys = by_host["lab-03"]["accounts_keys_exact"]
    assert "sshd -T -C user=NAME" in json.dumps(keys)
    sudo = by_host["lab-03"]["sudoers_rules_declared"]
    assert "/etc/sudoers.d/zz-local" in json.dumps(sudo)
    assert result.returncode == 1


TRIAL = """
import ctypes, json
lib = ctypes.CDLL("libpwquality.so.1")
lib.pwquality_default_settings.restype = ctypes.c_void_p
lib.pwquality_read_config.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
lib.pwquality_set_option.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.pwquality_check.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_void_p]
lib.pwquality_strerror.restype = ctypes.c_char_p
lib.pwquality_strerror.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_void_p]
settings = lib.pwquality_default_settings()
assert lib.pwquality_read_config(settings, None, None) == 0
line = _pwquality_line(open("/etc/pam.d/common-password").read())
for arg in line.split()[3:]:
    lib.pwquality_set_option(settings, arg.encode())  # PAM-only options (retry, enforce_for_root) are refused
refusals = {}
for _ in range(LIBRARY_DRAWS):
    rc = lib.pwquality_check(settings, _compliant_candidate().encode(), None, b"root", None)
    if rc < 0:
        reason = lib.pwquality_strerror(None, 0, rc, None).decode()
        refusals[reason] = refusals.get(reason, 0) + 1
pam_refused = []
for _ in range(PAM_DRAWS):
    trials = pwquality_trial()["trials"]
    compliant = [r for label, r in trials.items() if label.startswith("compliant")][0]
    if not compliant["accepted"]:
        pam_refused.append(compliant["messages"])
print(json.dumps({"line": line, "library_refusals": refusals, "pam_refused": pam_refused}))
"""


def test_compliant_candidates_are_never_refused_by_the_real_module(lab: Lab, hardened: dict[str, str]) -> None:
    """20000 draws through libpwquality as pam_pwquality configures it (the host's pwquality.conf and .d, the
    stack line's arguments), and 300 full trials through pam_chauthtok on the live module: no refusal."""
    collector = script().decode().rsplit("main_from_argv()", 1)[0]
    program = collector + TRIAL.replace("LIBRARY_DRAWS", "20000").replace("PAM_DRAWS", "300")
    done = subprocess.run(["ssh", "-F", str(lab.paths.ssh_config), "lab-01", "sudo python3 -"], input=program,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert "pam_pwquality.so" in outcome["line"]
    assert outcome["library_refusals"] == {} and outcome["pam_refused"] == [], outcome
