"""PATCH-01..03 end to end on real lab hosts of both releases.

A local apt repository on the controller (tests/integration/apt_repo.py), labelled like the Debian security
origin and served over HTTP on the lab bridge, first offers `stockade-canary` 1.0 (installed on lab-01),
then 1.1 in a Release dated 10 days ago: the audit reports the update pending with its age, the patching
role's unattended-upgrades run installs it, and the audit then passes. The repository is unsigned and
added with `[trusted=yes]`: acceptable in the lab only.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apt_repo import PACKAGE, HttpServer, SecurityRepo
from conftest import Lab, boot_lab, stockade

from stockade.lab.config import RELEASES
from stockade.report.json_report import validate_results

CONTROLS = "PATCH-01,PATCH-02,PATCH-03"
HOSTS = ("lab-01",)
CANARY_AGE_DAYS = 10


@pytest.fixture(scope="module", params=["12", "13"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, request.param, hosts=1)


@pytest.fixture(scope="module")
def repo(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SecurityRepo, HttpServer]]:
    root = tmp_path_factory.mktemp(f"apt-repo-{lab.release}") / "repo"
    arch = lab.ssh("lab-01", "dpkg --print-architecture").stdout.strip() or "amd64"
    security = SecurityRepo(root, RELEASES[lab.release], arch=arch)
    security.add_version("1.0")
    security.add_version("1.1")
    security.publish(["1.0"], datetime.now(UTC) - timedelta(days=2 * CANARY_AGE_DAYS))
    server = HttpServer(root, str(lab.paths.site.gateway))
    server.start()
    try:
        yield security, server
    finally:
        server.stop()


def audit(lab: Lab, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = stockade("audit", "-i", str(lab.inventory), "-o", str(out), "--controls", CONTROLS, *extra)
    run_dirs = sorted(p for p in out.iterdir() if (p / "results.json").is_file())
    assert run_dirs, result.stderr[-2000:]
    document = json.loads((run_dirs[-1] / "results.json").read_text())
    validate_results(document)
    return result.returncode, document


def findings(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["host"], f["check_id"]): f for f in document["findings"]}


def control_statuses(document: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    result: dict[tuple[str, str], set[str]] = {}
    for f in document["findings"]:
        result.setdefault((f["host"], f["control_id"]), set()).add(f["status"])
    return result


def changed_counts(playbook_output: str) -> list[int]:
    return [int(n) for n in re.findall(r"changed=(\d+)", playbook_output)]


def harden(lab: Lab, *extra: str) -> str:
    result = stockade("harden", "-i", str(lab.inventory), "--tags", "patching", *extra)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


def sudo(lab: Lab, host: str, command: str) -> str:
    result = lab.ssh(host, f"sudo sh -c {shlex.quote(command)}")
    assert result.returncode == 0, f"{command}: {result.stderr[-2000:]}"
    return result.stdout


def test_fresh_hosts_fail_automatic_updates(lab: Lab, tmp_path: Path) -> None:
    code, document = audit(lab, tmp_path)
    found = findings(document)
    for host in HOSTS:
        uu = found[(host, "patching_unattended_upgrades_enabled")]
        assert uu["status"] == "fail"
        assert "unattended-upgrades is not installed" in uu["message"]
        assert found[(host, "patching_unattended_upgrades_recent_success")]["status"] == "fail"
        kernel = found[(host, "patching_running_newest_kernel")]
        assert kernel["status"] == "skipped"
        assert kernel["message"].startswith("not observable in a container")
    assert code == 1


def test_check_mode_on_fresh_hosts_is_clean_and_changes_nothing(lab: Lab, tmp_path: Path) -> None:
    output = harden(lab, "--check", "--diff")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in output  # the diff shows what would change
    assert "Debian-Security" in output
    _, document = audit(lab, tmp_path)
    assert findings(document)[("lab-01", "patching_unattended_upgrades_enabled")]["status"] == "fail"
    assert lab.ssh("lab-01", "test -e /etc/apt/apt.conf.d/50unattended-upgrades-stockade").returncode == 1


def test_a_planted_security_update_is_reported_pending_with_its_age(
        lab: Lab, repo: tuple[SecurityRepo, HttpServer], tmp_path: Path) -> None:
    security, server = repo
    source = security.source_line(str(lab.paths.site.gateway), server.port)
    # The lab's apt proxy serves only the Debian mirror: the canary repository is fetched directly.
    sudo(lab, "lab-01", f'echo "{source.strip()}" > /etc/apt/sources.list.d/stockade-canary.list')
    sudo(lab, "lab-01", f"echo 'Acquire::http::Proxy::{lab.paths.site.gateway} \"DIRECT\";' "
                        "> /etc/apt/apt.conf.d/01stockade-canary-direct")
    sudo(lab, "lab-01", f"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {PACKAGE}")
    assert "ii  1.0" in lab.ssh("lab-01", f"dpkg-query -W -f='${{db:Status-Abbrev}} ${{Version}}' {PACKAGE}").stdout

    published = datetime.now(UTC) - timedelta(days=CANARY_AGE_DAYS)
    security.publish(["1.0", "1.1"], published)
    sudo(lab, "lab-01", "apt-get update -qq")  # the test refreshes the lists; the audit never does

    code, document = audit(lab, tmp_path)
    pending = findings(document)[("lab-01", "patching_no_overdue_security_updates")]
    assert pending["status"] == "fail"
    assert f"{PACKAGE} 1.0 -> 1.1 (available >= {CANARY_AGE_DAYS}" in pending["message"]
    [canary] = [u for u in pending["evidence"]["observed"]["pending security updates"] if u["name"] == PACKAGE]
    assert canary["since_from"].startswith("Date of ")
    assert CANARY_AGE_DAYS <= canary["age_days"] < CANARY_AGE_DAYS + 1
    assert datetime.fromisoformat(canary["available_since"]) == published.replace(microsecond=0)
    assert "lower bound" in pending["evidence"]["observed"]["method"]
    assert code == 1
    # The audit did not install anything.
    assert "ii  1.1" not in lab.ssh("lab-01", f"dpkg-query -W -f='${{db:Status-Abbrev}} ${{Version}}' {PACKAGE}").stdout


def test_harden_installs_it_then_every_patch_check_passes(
        lab: Lab, repo: tuple[SecurityRepo, HttpServer], tmp_path: Path) -> None:
    first = harden(lab)
    assert all(count > 0 for count in changed_counts(first))
    assert "ii  1.1" in lab.ssh("lab-01", f"dpkg-query -W -f='${{db:Status-Abbrev}} ${{Version}}' {PACKAGE}").stdout
    code, document = audit(lab, tmp_path)
    statuses = control_statuses(document)
    for host in HOSTS:
        assert statuses[(host, "PATCH-01")] == {"pass"}
        assert statuses[(host, "PATCH-02")] == {"pass"}
        assert statuses[(host, "PATCH-03")] == {"pass", "skipped"}  # the kernel part: not in a container
    assert code == 0
    last_run = findings(document)[("lab-01", "patching_unattended_upgrades_recent_success")]
    assert last_run["evidence"]["observed"]["last run"]["result"] == "succeeded"


def test_second_run_changes_nothing_and_check_mode_is_clean(lab: Lab) -> None:
    assert changed_counts(harden(lab)) == [0]
    assert changed_counts(harden(lab, "--check", "--diff")) == [0]


def test_planted_drift_is_caught_by_exactly_the_right_check(lab: Lab, tmp_path: Path) -> None:
    sudo(lab, "lab-01", "systemctl disable --now apt-daily-upgrade.timer")
    sudo(lab, "lab-01", "touch -d \"9 days ago\" /var/run/reboot-required && "
                        "echo libc6 > /var/run/reboot-required.pkgs")
    sudo(lab, "lab-01", "echo \"APT::Periodic::Unattended-Upgrade \\\"0\\\";\" > /etc/apt/apt.conf.d/99zz-drift")
    try:
        code, document = audit(lab, tmp_path)
    finally:
        sudo(lab, "lab-01", "rm -f /var/run/reboot-required /var/run/reboot-required.pkgs "
                            "/etc/apt/apt.conf.d/99zz-drift && systemctl enable --now apt-daily-upgrade.timer")
    failed = {key: f["message"] for key, f in findings(document).items() if f["status"] != "pass"}
    assert failed.keys() == {("lab-01", "patching_auto_update_timers_active"),
                             ("lab-01", "patching_no_overdue_reboot"),
                             ("lab-01", "patching_unattended_upgrades_enabled"),
                             ("lab-01", "patching_running_newest_kernel")}  # skipped, never pass
    assert failed[("lab-01", "patching_auto_update_timers_active")] == (
        "apt-daily-upgrade.timer is disabled, not enabled; apt-daily-upgrade.timer is inactive, not active")
    assert failed[("lab-01", "patching_no_overdue_reboot")].startswith(
        "a reboot has been pending for 9")
    assert "APT::Periodic::Unattended-Upgrade is 0 (off)" in failed[("lab-01", "patching_unattended_upgrades_enabled")]
    assert code == 1
