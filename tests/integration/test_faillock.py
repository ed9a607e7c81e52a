"""PAM-01's lockout (pam_faillock) exercised on real lab hosts of both releases, through real PAM
conversations rather than by reading the configuration.

An ops account (erin, created here with useradd standing in for the accounts role) gets a known test
password; an unprivileged account on the host (nobody) runs `su - erin -c true` through a pty and answers
the password prompt. After `deny` wrong passwords the right one is refused without a prompt, `faillock`
lists the failures, the PAM-01 audit still passes (a locked account is the control working), and the
account opens again after `faillock --reset` and, on its own, after unlock_time (shortened to
UNLOCK_SECONDS in this module's inventory, and the audit's minimum with it). The automation account
`stockade` (exempt) takes more than `deny` wrong passwords without a single failure recorded, and its key
login and passwordless sudo keep working. A fresh host, without the role, does not lock at all: the
control the assertions are measured against.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Lab, boot_lab, stockade

HOST = "lab-01"
OPS_USER = "erin"
AUTOMATION_USER = "stockade"
DENY = 5  # the role's default pam_faillock_deny, left as shipped
UNLOCK_SECONDS = 20  # pam_faillock_unlock_time for this module only, so the expiry can be waited for
# A test constant, not a real secret: compliant with the role's pwquality rules. Sent only on stdin, and
# never allowed in any output (checked at the end).
OPS_PASSWORD = "Fl0ck-Trial-Qz7!pLm"
WRONG = [f"not-the-password-{n}" for n in range(DENY + 1)]
OUTPUTS: list[str] = []

# Runs ON the host as an unprivileged account (su from root would skip authentication): one
# `su - USER -c true` per password read from stdin, each answering the real prompt through a pty.
# Prints one JSON line: per attempt, whether a prompt came, su's exit status and what was said.
PROBE = r'''
import json, os, pty, select, sys, time

def attempt(user, password):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv("/usr/bin/su", ["su", "-", user, "-c", "true"])
    out, prompted, deadline = b"", False, time.monotonic() + 60
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not prompted and b"assword" in out and out.rstrip().endswith(b":"):
            prompted = True
            os.write(fd, password.encode() + b"\n")
    else:
        os.kill(pid, 9)
    status = os.waitpid(pid, 0)[1]
    said = out.decode(errors="replace").replace(password, "<password>").replace("\r", "")
    return {"prompted": prompted, "rc": os.waitstatus_to_exitcode(status), "said": said.strip()}

request = json.load(sys.stdin)
print(json.dumps([attempt(request["user"], p) for p in request["passwords"]]))
'''
PROBE_COMMAND = ("sudo -n runuser -u nobody -- python3 -c "
                 f"\"import base64; exec(base64.b64decode('{base64.b64encode(PROBE.encode()).decode()}'))\"")


class Slice:
    def __init__(self, lab: Lab, inventory: Path) -> None:
        self.lab, self.inventory = lab, inventory


def ssh(lab: Lab, command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """A fresh SSH login as the automation account (no connection sharing in the lab's ssh_config)."""
    result = subprocess.run(["ssh", "-F", str(lab.paths.ssh_config), HOST, command], input=stdin,
                            capture_output=True, text=True, timeout=600, check=False)
    OUTPUTS.extend((result.stdout, result.stderr))
    return result


def su_attempts(lab: Lab, user: str, passwords: list[str]) -> list[dict[str, Any]]:
    result = ssh(lab, PROBE_COMMAND, json.dumps({"user": user, "passwords": passwords}))
    assert result.returncode == 0, result.stderr[-2000:]
    attempts: list[dict[str, Any]] = json.loads(result.stdout)
    assert len(attempts) == len(passwords)
    return attempts


# The tallies are read and reset from the console, never through a login: an SSH login and sudo as
# `stockade` run pam_faillock's account phase for `stockade`, which resets its tally before it is read.
def recorded_failures(lab: Lab, user: str) -> list[str]:
    """The still-valid failure records `faillock --user` lists (one line each: date, time, type, source, V)."""
    result = lab.console(HOST, f"/usr/sbin/faillock --user {user}")
    OUTPUTS.extend((result.stdout, result.stderr))
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines()
            if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s", line) and line.split()[-1] == "V"]


def reset(lab: Lab, user: str) -> None:
    assert lab.console(HOST, f"/usr/sbin/faillock --user {user} --reset").returncode == 0
    assert recorded_failures(lab, user) == []


def assert_refused_after_prompt(attempts: list[dict[str, Any]]) -> None:
    for attempt in attempts:
        assert attempt["prompted"] and attempt["rc"] != 0, attempt


def assert_locked(attempt: dict[str, Any]) -> None:
    # pam_faillock preauth refuses a locked account before pam_unix asks for the password.
    assert not attempt["prompted"] and attempt["rc"] != 0, attempt
    assert "locked" in attempt["said"], attempt


def assert_accepted(attempt: dict[str, Any]) -> None:
    assert attempt["prompted"] and attempt["rc"] == 0, attempt


@pytest.fixture(scope="module", params=["12", "13"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slice]:
    for booted in boot_lab(tmp_path_factory, request.param, hosts=1):
        created = ssh(booted, f"set -e; sudo -n useradd -m -s /bin/bash {OPS_USER}; sudo -n chpasswd",
                      f"{OPS_USER}:{OPS_PASSWORD}\n")
        assert created.returncode == 0, created.stderr
        document = yaml.safe_load(booted.inventory.read_text())
        group_vars = document["all"]["children"]["lab"]["vars"]
        group_vars.update({
            "accounts_ops_users": [{"name": OPS_USER, "ssh_keys": [], "groups": [], "totp": False}],
            "pam_faillock_unlock_time": UNLOCK_SECONDS,
        })
        group_vars.setdefault("stockade_params", {})["PAM-01"] = {"min_unlock_seconds": UNLOCK_SECONDS}
        inventory = booted.inventory.parent / "faillock.yml"
        inventory.write_text(yaml.safe_dump(document))
        yield Slice(booted, inventory)


@pytest.fixture(scope="module")
def hardened(lab: Slice) -> Slice:
    started = time.monotonic()
    result = stockade("harden", "-i", str(lab.inventory), "--tags", "pam")
    OUTPUTS.extend((result.stdout, result.stderr))
    assert result.returncode == 0, result.stdout[-3000:]
    print(f"\nDebian {lab.lab.release}: pam on 1 host took {time.monotonic() - started:.1f} s")
    return lab


def test_fresh_host_does_not_lock_out(lab: Slice) -> None:
    """The control: without the role, deny wrong passwords change nothing (the probe can tell)."""
    attempts = su_attempts(lab.lab, OPS_USER, [*WRONG[:DENY], OPS_PASSWORD])
    assert_refused_after_prompt(attempts[:DENY])
    assert_accepted(attempts[DENY])


def test_wrong_passwords_lock_the_account_until_reset(hardened: Slice, tmp_path: Path) -> None:
    lab = hardened.lab
    reset(lab, OPS_USER)
    attempts = su_attempts(lab, OPS_USER, [OPS_PASSWORD, *WRONG[:DENY], OPS_PASSWORD])
    assert_accepted(attempts[0])
    assert_refused_after_prompt(attempts[1:DENY + 1])
    assert_locked(attempts[DENY + 1])
    assert len(recorded_failures(lab, OPS_USER)) == DENY

    # The audit while the account is locked: the lockout is PAM-01 working, so every check still passes.
    findings = audit(hardened, tmp_path)
    assert {check: f["status"] for check, f in findings.items()} == dict.fromkeys(findings, "pass"), findings
    assert "pam_faillock_configured" in findings and "password_aging" in findings
    observed = findings["pam_faillock_configured"]["evidence"]["observed"]
    assert (observed["deny"], observed["unlock_time"]) == (DENY, UNLOCK_SECONDS)
    assert AUTOMATION_USER in observed["exempt from lockout"]

    reset(lab, OPS_USER)
    assert_accepted(su_attempts(lab, OPS_USER, [OPS_PASSWORD])[0])


def test_the_lock_expires_after_unlock_time(hardened: Slice) -> None:
    lab = hardened.lab
    reset(lab, OPS_USER)
    attempts = su_attempts(lab, OPS_USER, [*WRONG[:DENY], OPS_PASSWORD])
    assert_refused_after_prompt(attempts[:DENY])
    assert_locked(attempts[DENY])
    # Polled, not timed: the right password is refused while locked (a refused preauth records nothing,
    # so polling does not extend the lock) and accepted once unlock_time has run out.
    deadline = time.monotonic() + UNLOCK_SECONDS + 120
    while True:
        attempt = su_attempts(lab, OPS_USER, [OPS_PASSWORD])[0]
        if attempt["rc"] == 0:
            break
        assert_locked(attempt)
        assert time.monotonic() < deadline, f"{OPS_USER} still locked {UNLOCK_SECONDS + 120} s later"
        time.sleep(3)
    assert_accepted(attempt)
    assert recorded_failures(lab, OPS_USER) == []  # the successful login reset the count


def test_automation_account_is_never_locked(hardened: Slice) -> None:
    lab = hardened.lab
    reset(lab, AUTOMATION_USER)
    # Every attempt, the last one too, reaches the password prompt: never refused as locked (without the
    # exemption the (deny+1)th is refused by preauth, seen in the lab by deleting the pam_succeed_if lines).
    assert_refused_after_prompt(su_attempts(lab, AUTOMATION_USER, WRONG[:DENY + 1]))
    # Exempt in the stack itself: pam_faillock never recorded a failure, so it can never lock.
    assert recorded_failures(lab, AUTOMATION_USER) == []
    # A fresh key login and passwordless sudo, as Ansible needs them.
    proof = ssh(lab, "sudo -n true && id -un")
    assert proof.returncode == 0 and proof.stdout.strip() == AUTOMATION_USER, proof.stderr


def audit(lab: Slice, out: Path) -> dict[str, dict[str, Any]]:
    result = stockade("audit", "-i", str(lab.inventory), "-o", str(out), "--controls", "PAM-01")
    OUTPUTS.extend((result.stdout, result.stderr))
    run_dir = sorted(path for path in out.iterdir() if path.is_dir())[-1]
    OUTPUTS.extend(path.read_text(errors="replace") for path in run_dir.iterdir() if path.is_file())
    document = json.loads((run_dir / "results.json").read_text())
    return {f["check_id"]: f for f in document["findings"] if f["host"] == HOST}


def test_no_password_in_any_output(lab: Slice) -> None:
    assert len(OUTPUTS) > 10
    for text in OUTPUTS:
        assert OPS_PASSWORD not in text
        assert not re.search(r"\$(y|6|5|1)\$[^\s\"':]{8,}", text), "a password hash was printed"
