"""Scheduled audits on a real lab host: roles/audit_schedule on lab-01 audits lab-02 from a systemd timer.

lab-02 gets SSH-01 hardened, then lab-01 becomes the audit host (offline venv from the controller's
wheelhouse, the lab's automation key and known_hosts, a 15-second schedule). The history grows run after
run as the sandboxed audit account, the journal shows each run; a `PermitRootLogin yes` drop-in planted on
lab-02 makes the next run regress and the notification command fire exactly once, naming SSH-01 and holding
no secret. A second role run changes nothing; `--check --diff` on a fresh host is clean. playbooks/audit.yml
audits only the play's hosts as an Ansible job, publishes set_stats, and fails the job on FAIL when asked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from conftest import REPO, Lab, boot_lab, stockade

from stockade.project import ansible_environment

HOME = "/var/lib/stockade-audit"
VENV = "/opt/stockade-audit/venv"
AS_AUDIT = f"sudo -u stockade-audit {VENV}/bin/stockade"
REGRESSION_DROPIN = "/etc/ssh/sshd_config.d/0-regress.conf"  # sorts before 00-stockade.conf: it wins
DEADLINE = 150  # seconds to wait for scheduled runs (the timer fires every 15 s)
T = TypeVar("T")


def playbook(lab: Lab, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ansible-playbook", "-i", str(lab.inventory), str(REPO / "playbooks" / name), *args],
                          capture_output=True, text=True, cwd=REPO, env=ansible_environment(), timeout=900,
                          check=False)


def recap(output: str, host: str) -> dict[str, int]:
    match = re.search(rf"^{host}\s+:\s+(.*)$", output, re.MULTILINE)
    assert match, output[-3000:]
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


def wait_for(what: str, probe: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(2)
    raise AssertionError(f"gave up waiting for {what} after {DEADLINE}s")


@dataclass(frozen=True)
class AuditHost:
    lab: Lab
    vars_file: Path
    first_apply: subprocess.CompletedProcess[str]

    def apply(self, host: str = "lab-01", *args: str) -> subprocess.CompletedProcess[str]:
        return playbook(self.lab, "audit_host.yml", "-e", f"audit_host_group={host}", "-e", f"@{self.vars_file}",
                        *args)

    def runs(self) -> list[dict[str, Any]]:
        result = self.lab.ssh("lab-01", f"{AS_AUDIT} history --json --history {HOME}/history.sqlite")
        return json.loads(result.stdout) if result.returncode == 0 else []

    def notifications(self) -> list[str]:
        result = self.lab.ssh("lab-01", f"sudo find {HOME}/notifications -name '*.json' -printf '%f\\n'")
        return sorted(result.stdout.split())

    def read(self, path: str) -> str:
        result = self.lab.ssh("lab-01", f"sudo cat {path}")
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="module", params=["12", "13"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, request.param, hosts=2)


@pytest.fixture(scope="module")
def audit_host(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> AuditHost:
    harden = stockade("harden", "-i", str(lab.inventory), "--limit", "lab-02", "--tags", "ssh_01")
    assert harden.returncode == 0, harden.stdout[-3000:]
    settings = {
        "audit_schedule_inventory_src": str(lab.inventory),
        "audit_schedule_limit": "lab-02",
        "audit_schedule_controls": ["SSH-01"],
        "audit_schedule_ssh_private_key_src": str(lab.paths.key),
        "audit_schedule_known_hosts_src": str(lab.paths.known_hosts),
        "audit_schedule_on_calendar": "*:*:0/15",
        "audit_schedule_randomized_delay_sec": "2s",
        "audit_schedule_accuracy_sec": "1s",
        # Writes the summary and the STOCKADE_* variables it was given where the sandbox lets it write.
        "audit_schedule_notify_command": [
            "/bin/sh", "-c",
            'mkdir -p "$HOME/notifications" && cat > "$HOME/notifications/$STOCKADE_RUN_ID.json" '
            '&& env | grep "^STOCKADE_" | sort > "$HOME/notifications/$STOCKADE_RUN_ID.env"',
        ],
        # To test a commit instead of the working tree (e.g. while the tree is mid-edit).
        "audit_schedule_source_ref": os.environ.get("STOCKADE_AUDIT_SCHEDULE_REF", ""),
    }
    vars_file = tmp_path_factory.mktemp("audit-schedule") / "vars.yml"
    vars_file.write_text(yaml.safe_dump(settings))
    host = AuditHost(lab, vars_file, subprocess.CompletedProcess([], 0))
    first = host.apply()
    assert first.returncode == 0, first.stdout[-4000:]
    return AuditHost(lab, vars_file, first)


@pytest.fixture(scope="module")
def regression(audit_host: AuditHost) -> dict[str, Any]:
    """Two clean scheduled runs, then the planted drift; returns the one notification it caused."""
    wait_for("two scheduled runs", lambda: len(audit_host.runs()) >= 2 or None)
    assert audit_host.notifications() == []
    planted = audit_host.lab.ssh("lab-02", f"echo 'PermitRootLogin yes' | sudo tee {REGRESSION_DROPIN} >/dev/null "
                                 "&& sudo systemctl reload ssh")
    assert planted.returncode == 0, planted.stderr
    (name,) = wait_for("the notification", audit_host.notifications)
    return {"name": name, "summary": json.loads(audit_host.read(f"{HOME}/notifications/{name}")),
            "env": audit_host.read(f"{HOME}/notifications/{name.removesuffix('.json')}.env")}


def test_role_installs_offline_with_a_dedicated_account(audit_host: AuditHost) -> None:
    lab = audit_host.lab
    account = lab.ssh("lab-01", "getent passwd stockade-audit").stdout.strip().split(":")
    assert account[5:] == [HOME, "/usr/sbin/nologin"]
    key = lab.ssh("lab-01", f"sudo stat -c '%U %a' {HOME}/.ssh/id_stockade_audit").stdout.split()
    assert key == ["stockade-audit", "400"]
    # The venv came from the wheelhouse only (--no-index): pip's own check passes, Stockade runs.
    version = lab.ssh("lab-01", f"{VENV}/bin/pip check && {VENV}/bin/stockade --version")
    assert version.returncode == 0 and "stockade" in version.stdout, version.stdout + version.stderr
    # The key was handled with no_log: its body never reaches Ansible's output.
    body = "".join(lab.paths.key.read_text().splitlines()[1:-1])
    assert body[:40] not in audit_host.first_apply.stdout


def test_timer_runs_the_audit_and_the_history_grows(audit_host: AuditHost) -> None:
    runs = wait_for("two scheduled runs", lambda: r if len(r := audit_host.runs()) >= 2 else None)
    assert all(run["hosts"] == 1 for run in runs)
    # SSH-01 on lab-02 holds: its general and its Match-context check.
    assert [run["summary"].get("pass") for run in runs[:2]] == [2, 2]
    lab = audit_host.lab
    journal = lab.ssh("lab-01", "sudo journalctl -t stockade-audit --no-pager -o cat").stdout
    assert f"wrote {HOME}/reports/{runs[0]['run_id']}/results.json" in journal
    assert "stockade-scheduled-audit: audit exited 0" in journal
    shown = lab.ssh("lab-01", "systemctl show stockade-audit.service -p User -p NoNewPrivileges -p ProtectSystem "
                    "-p SuccessExitStatus").stdout
    assert "User=stockade-audit" in shown and "NoNewPrivileges=yes" in shown and "ProtectSystem=strict" in shown
    timer = lab.ssh("lab-01", "systemctl is-enabled stockade-audit.timer; systemctl is-active stockade-audit.timer")
    assert timer.stdout.split() == ["enabled", "active"]


def test_regression_fires_the_notification_once_without_secrets(audit_host: AuditHost,
                                                                 regression: dict[str, Any]) -> None:
    summary = regression["summary"]
    assert summary["head_run_id"] == regression["name"].removesuffix(".json")
    assert [(r["category"], r["host"], r["control_id"], r["before"], r["after"]) for r in summary["regressions"]] \
        == [("regressed", "lab-02", "SSH-01", "pass", "fail")]
    assert "STOCKADE_REGRESSED_CONTROLS=SSH-01" in regression["env"].splitlines()
    text = json.dumps(summary) + regression["env"]
    key = audit_host.lab.paths.key.read_text()
    assert "PRIVATE KEY" not in text and "".join(key.splitlines()[1:-1])[:40] not in text
    assert "evidence" not in text and "message" not in text
    # The next run finds the same failure: unchanged, so no second notification.
    seen = len(audit_host.runs())
    wait_for("one more run", lambda: len(audit_host.runs()) > seen or None)
    assert audit_host.notifications() == [regression["name"]]
    # Exit 1 (a finding fails) is a successful run of the unit; the journal says what happened.
    lab = audit_host.lab
    assert lab.ssh("lab-01", "systemctl show stockade-audit.service -p Result").stdout.strip() == "Result=success"
    journal = lab.ssh("lab-01", "sudo journalctl -t stockade-audit --no-pager -o cat").stdout
    assert "1 regression(s) (SSH-01); notifying" in journal


def test_second_role_run_changes_nothing(audit_host: AuditHost) -> None:
    # The same wheelhouse: a rebuild would (rightly) reinstall if anyone edited the working tree meanwhile.
    again = audit_host.apply("lab-01", "-e", "audit_schedule_build_wheelhouse=false")
    assert again.returncode == 0, again.stdout[-3000:]
    assert recap(again.stdout, "lab-01")["changed"] == 0, again.stdout[-3000:]


def test_check_diff_is_clean_on_a_fresh_host(audit_host: AuditHost) -> None:
    check = audit_host.apply("lab-02", "--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:]
    counts = recap(check.stdout, "lab-02")
    assert counts["failed"] == 0 and counts["unreachable"] == 0
    assert audit_host.lab.ssh("lab-02", "test -e /opt/stockade-audit || test -e /etc/systemd/system/"
                              "stockade-audit.timer").returncode == 1  # check mode changed nothing


def custom_stats(output: str) -> dict[str, Any]:
    block = output.split("CUSTOM STATS:", 1)[1]
    match = re.search(r"RUN:\s*(\{.*\})\s*$", block, re.DOTALL)
    assert match, block
    document: dict[str, Any] = json.loads(match.group(1))
    return document


def test_audit_playbook_audits_the_play_hosts_and_publishes_stats(audit_host: AuditHost,
                                                                    regression: dict[str, Any],
                                                                    tmp_path: Path) -> None:
    lab = audit_host.lab
    args = ("--limit", "lab-02", "-e", f"stockade_audit_reports_dir={tmp_path / 'reports'}",
            "-e", f"stockade_audit_key_dir={tmp_path / 'keys'}", "-e", '{"stockade_audit_controls": ["SSH-01"]}')
    env_stats = {"ANSIBLE_SHOW_CUSTOM_STATS": "true", "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    os.environ.update(env_stats)
    try:
        job = playbook(lab, "audit.yml", *args)
        strict = playbook(lab, "audit.yml", *args, "-e", "stockade_audit_fail_on_findings=true")
    finally:
        for name in env_stats:
            os.environ.pop(name)
    assert job.returncode == 0, job.stdout[-3000:]  # FAIL findings do not fail the job by default
    stats = custom_stats(job.stdout)["stockade_audit"]
    assert (stats["exit_code"], stats["verdict"], stats["hosts"]) == (1, "fail", 1)
    assert stats["counts"]["fail"] == 1  # the planted PermitRootLogin yes
    results = json.loads((Path(stats["report_dir"]) / "results.json").read_text())
    assert results["metadata"]["hosts"] == ["lab-02"]  # only the play's hosts (a slice) were audited
    assert results["metadata"]["run_id"] == stats["run_id"]
    assert strict.returncode == 2, strict.stdout[-3000:]  # the job fails on FAIL when asked
    assert custom_stats(strict.stdout)["stockade_audit"]["verdict"] == "fail"


def test_an_audit_that_cannot_evaluate_leaves_the_unit_failed(audit_host: AuditHost,
                                                              regression: dict[str, Any]) -> None:
    # Exit 3 (ERROR) must not hide behind SuccessExitStatus=1: `systemctl --failed` shows the unit.
    lab = audit_host.lab
    stopped = lab.console("lab-02", "systemctl stop ssh.service ssh.socket 2>/dev/null; systemctl is-active ssh")
    assert stopped.stdout.strip() != "active", stopped.stdout + stopped.stderr

    def failed_unit() -> str | None:
        listed = lab.ssh("lab-01", "systemctl --failed --no-legend --plain").stdout
        return listed if "stockade-audit.service" in listed else None

    wait_for("the unit to fail", failed_unit)
    result = lab.ssh("lab-01", "systemctl show stockade-audit.service -p Result -p ExecMainStatus").stdout.split()
    assert sorted(result) == ["ExecMainStatus=3", "Result=exit-code"]
