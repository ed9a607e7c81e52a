"""PATCH-01..03 evaluators on outputs seen on real Debian 13 lab hosts (trimmed), and the host-side parsers."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from catalogue_params import params_of

from checks import patching
from checks.collect import bundle
from checks.collect import patching as collect
from checks.model import MissingFact, Status

NOW = "2026-11-29T07:15:20+00:00"

# The catalogue defaults of PATCH-01..03 (their parameter names do not overlap).
DEFAULTS = {**params_of(patching.evaluate_unattended_upgrades), **params_of(patching.evaluate_pending_security),
            **params_of(patching.evaluate_reboot)}


def ok(stdout: str) -> dict[str, Any]:
    return {"command": ["..."], "rc": 0, "stdout": stdout, "stderr": ""}


# --- PATCH-01 --------------------------------------------------------------------------------------------

APT_CONFIG_DEBIAN_DEFAULT = """\
APT::Periodic "";
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
Unattended-Upgrade "";
Unattended-Upgrade::Origins-Pattern "";
Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename},label=Debian";
Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename},label=Debian-Security";
Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
"""


def uu_facts(config: str = APT_CONFIG_DEBIAN_DEFAULT, package: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"patching_uu_package": package or ok("ii  2.12"), "patching_apt_config": ok(config)}


def test_unattended_upgrades_installed_daily_for_security_passes() -> None:
    outcome = patching.evaluate_unattended_upgrades(uu_facts(), DEFAULTS)
    assert outcome.status == Status.PASS
    assert outcome.observed["APT::Periodic::Unattended-Upgrade"] == "1"
    assert len(outcome.observed["origins"]) == 3


def test_fresh_host_without_unattended_upgrades_fails() -> None:
    missing = {"command": ["dpkg-query"], "rc": 1, "stdout": "",
               "stderr": "dpkg-query: no packages found matching unattended-upgrades\n"}
    outcome = patching.evaluate_unattended_upgrades(uu_facts("", missing), DEFAULTS)
    assert outcome.status == Status.FAIL
    assert "unattended-upgrades is not installed" in outcome.message
    assert "APT::Periodic::Unattended-Upgrade is absent (off)" in outcome.message
    assert "no unattended-upgrades origin selects the Debian security archive" in outcome.message


@pytest.mark.parametrize(("line", "problem"), [
    ('APT::Periodic::Unattended-Upgrade "0";', "APT::Periodic::Unattended-Upgrade is 0 (off)"),
    ('APT::Periodic::Update-Package-Lists "7";', "runs every 7 days, more than 1"),
    ('APT::Periodic::Enable "0";', "APT::Periodic::Enable is 0"),
])
def test_a_later_drop_in_turning_periodic_off_fails(line: str, problem: str) -> None:
    outcome = patching.evaluate_unattended_upgrades(uu_facts(APT_CONFIG_DEBIAN_DEFAULT + line + "\n"), DEFAULTS)
    assert outcome.status == Status.FAIL
    assert problem in outcome.message


def test_origins_without_the_security_archive_fail() -> None:
    config = "\n".join(line for line in APT_CONFIG_DEBIAN_DEFAULT.splitlines() if "Security" not in line)
    outcome = patching.evaluate_unattended_upgrades(uu_facts(config), DEFAULTS)
    assert outcome.status == Status.FAIL
    assert outcome.message == "no unattended-upgrades origin selects the Debian security archive"


def test_interval_threshold_is_a_parameter() -> None:
    config = APT_CONFIG_DEBIAN_DEFAULT + 'APT::Periodic::Unattended-Upgrade "2";\n'
    assert patching.evaluate_unattended_upgrades(uu_facts(config), DEFAULTS).status == Status.FAIL
    assert patching.evaluate_unattended_upgrades(uu_facts(config), {"max_periodic_interval_days": 2}).status \
        == Status.PASS


def test_apt_config_failing_is_an_error() -> None:
    facts = uu_facts()
    facts["patching_apt_config"] = {"command": ["apt-config"], "rc": 100, "stdout": "", "stderr": "E: Syntax error"}
    with pytest.raises(MissingFact, match="Syntax error"):
        patching.evaluate_unattended_upgrades(facts, DEFAULTS)


@pytest.mark.parametrize(("value", "days"), [("1", 1.0), ("0", None), ("12h", 0.5), ("always", 0.0),
                                             (None, None), ("junk", None)])
def test_periodic_values(value: str | None, days: float | None) -> None:
    assert patching.periodic_days(value) == days


@pytest.mark.parametrize(("pattern", "security"), [
    ("origin=Debian,codename=${distro_codename}-security,label=Debian-Security", True),
    ("o=Debian,l=Debian-Security", True),
    ("origin=Debian,codename=${distro_codename},label=Debian", False),
    ("${distro_id}:${distro_codename}-security", True),
    ("${distro_id}:${distro_codename}-updates", False),
])
def test_security_patterns(pattern: str, security: bool) -> None:
    assert patching.is_security_pattern(pattern) is security


TIMERS = """\
NextElapseUSecRealtime=Sun 2026-11-29 20:37:11 UTC
LastTriggerUSec=
Id=apt-daily.timer
ActiveState=active
SubState=waiting
UnitFileState=enabled

NextElapseUSecRealtime=Mon 2026-11-30 06:01:20 UTC
LastTriggerUSec=
Id=apt-daily-upgrade.timer
ActiveState=active
SubState=waiting
UnitFileState=enabled
"""


def test_enabled_active_timers_pass() -> None:
    outcome = patching.evaluate_timers({"patching_timers": ok(TIMERS)}, DEFAULTS)
    assert outcome.status == Status.PASS
    assert outcome.observed["apt-daily-upgrade.timer"]["next"] == "Mon 2026-11-30 06:01:20 UTC"


def test_disabled_stopped_upgrade_timer_fails_naming_it() -> None:
    daily, upgrade = TIMERS.split("\n\n")
    broken = daily + "\n\n" + upgrade.replace("ActiveState=active", "ActiveState=inactive").replace(
        "UnitFileState=enabled", "UnitFileState=disabled")
    outcome = patching.evaluate_timers({"patching_timers": ok(broken)}, DEFAULTS)
    assert outcome.status == Status.FAIL
    assert outcome.message == ("apt-daily-upgrade.timer is disabled, not enabled; "
                               "apt-daily-upgrade.timer is inactive, not active")


UU_LOG = [
    "2026-11-27 07:12:53,624 INFO Starting unattended upgrades script",
    "2026-11-27 07:12:58,025 INFO Packages that will be upgraded: libzstd1 stockade-canary",
    "2026-11-27 07:13:02,791 INFO All upgrades installed",
    "2026-11-28 06:13:06,193 INFO Starting unattended upgrades script",
    "2026-11-28 06:13:07,086 INFO No packages found that can be upgraded unattended and no pending auto-removals",
]


def log_fact(lines: list[str], stamp: str | None = None, offset: str = "+0000") -> dict[str, Any]:
    return {"patching_uu_log": {"collected_at": NOW, "log": "/var/log/unattended-upgrades/unattended-upgrades.log",
                                "lines": lines, "utc_offset": offset, "success_stamp": stamp}}


def test_recent_successful_run_passes() -> None:
    outcome = patching.evaluate_last_run(log_fact(UU_LOG), {"max_days_since_unattended_run": 2})
    assert outcome.status == Status.PASS
    assert outcome.observed["last successful run"] == "2026-11-28T06:13:07+00:00"
    assert outcome.observed["days since last success"] == 1.04


def test_old_last_success_fails_and_local_time_is_converted() -> None:
    outcome = patching.evaluate_last_run(log_fact(UU_LOG[:3], offset="+0200"), {"max_days_since_unattended_run": 2})
    assert outcome.status == Status.FAIL
    assert outcome.observed["last successful run"] == "2026-11-27T05:13:02+00:00"
    assert "2.08 days ago" in outcome.message


def test_never_ran_fails() -> None:
    outcome = patching.evaluate_last_run(log_fact([]), DEFAULTS)
    assert outcome.status == Status.FAIL
    assert outcome.message == "unattended-upgrades has never completed a run on this host"


def test_a_failed_run_is_not_a_success_and_is_reported() -> None:
    lines = [*UU_LOG[:3], "2026-11-29 06:10:00,000 INFO Starting unattended upgrades script",
             "2026-11-29 06:10:05,000 ERROR Installing the upgrades failed!",
             "2026-11-29 06:10:05,100 INFO All upgrades installed"]
    outcome = patching.evaluate_last_run(log_fact(lines), {"max_days_since_unattended_run": 3})
    assert outcome.status == Status.PASS
    assert outcome.observed["last successful run"] == "2026-11-27T07:13:02+00:00"
    assert outcome.observed["last run"]["result"] == "failed"
    assert "the latest run (started 2026-11-29 06:10Z) failed" in outcome.message


def test_success_stamp_counts_when_the_log_rotated_away() -> None:
    outcome = patching.evaluate_last_run(log_fact([], stamp="2026-11-29T06:00:00+00:00"), DEFAULTS)
    assert outcome.status == Status.PASS


# --- PATCH-02 --------------------------------------------------------------------------------------------

SIMULATION = """\
Reading package lists...
Inst libzstd1 [1.5.7+dfsg-1] (1.5.7+dfsg-1+deb13u1 Debian-Security:13/stable-security [amd64])
Inst stockade-canary [1.0] (1.1 Debian-Security:stable-security [all])
Inst tzdata [2025b-4] (2025b-4+deb13u1 Debian:13-updates/stable-updates [all])
Conf stockade-canary (1.1 Debian-Security:stable-security [all])
"""
POLICY = """\
libzstd1:
  Installed: 1.5.7+dfsg-1
  Candidate: 1.5.7+dfsg-1+deb13u1
  Version table:
     1.5.7+dfsg-1+deb13u1 500
        500 http://deb.debian.org/debian-security trixie-security/main amd64 Packages
 *** 1.5.7+dfsg-1 500
        500 http://deb.debian.org/debian trixie/main amd64 Packages
        100 /var/lib/dpkg/status
stockade-canary:
  Installed: 1.0
  Candidate: 1.1
  Version table:
     1.1 500
        500 http://198.18.2.1:34419 trixie-security/main amd64 Packages
 *** 1.0 500
        500 http://198.18.2.1:34419 trixie-security/main amd64 Packages
        100 /var/lib/dpkg/status
tzdata:
  Installed: 2025b-4
  Candidate: 2025b-4+deb13u1
  Version table:
     2025b-4+deb13u1 500
        500 http://deb.debian.org/debian trixie-updates/main amd64 Packages
 *** 2025b-4 500
        500 http://deb.debian.org/debian trixie/main amd64 Packages
        100 /var/lib/dpkg/status
"""
SOURCES = """\
Package files:
 100 /var/lib/dpkg/status
     release a=now
 500 http://198.18.2.1:34419 trixie-security/main amd64 Packages
     release o=Debian,a=stable-security,n=trixie-security,l=Debian-Security,c=main,b=amd64
     origin 198.18.2.1
 500 http://deb.debian.org/debian-security trixie-security/main amd64 Packages
     release v=13,o=Debian,a=stable-security,n=trixie-security,l=Debian-Security,c=main,b=amd64
     origin deb.debian.org
 500 http://deb.debian.org/debian trixie-updates/main amd64 Packages
     release v=13-updates,o=Debian,a=stable-updates,n=trixie-updates,l=Debian,c=main,b=amd64
     origin deb.debian.org
 500 http://deb.debian.org/debian trixie/main amd64 Packages
     release v=13.8,o=Debian,a=stable,n=trixie,l=Debian,c=main,b=amd64
     origin deb.debian.org
Pinned packages:
"""
RELEASES = {
    "198.18.2.1:34419_dists_trixie-security_Release": {
        "mtime": "2026-11-19T07:12:45+00:00", "Origin": "Debian", "Label": "Debian-Security",
        "Codename": "trixie-security", "Date": "Thu, 19 Nov 2026 07:12:45 GMT"},
    "deb.debian.org_debian-security_dists_trixie-security_InRelease": {
        "mtime": "2026-11-29T07:10:43+00:00", "Origin": "Debian", "Label": "Debian-Security",
        "Codename": "trixie-security", "Date": "Thu, 26 Nov 2026 21:03:36 UTC"},
    "deb.debian.org_debian_dists_trixie-updates_InRelease": {
        "mtime": "2026-11-29T07:10:43+00:00", "Date": "Fri, 27 Nov 2026 02:10:32 UTC"},
    "deb.debian.org_debian_dists_trixie_InRelease": {
        "mtime": "2026-11-29T07:02:11+00:00", "Date": "Sat, 21 Nov 2026 09:15:44 UTC"},
}
SUITES = [
    {"repo": "http://deb.debian.org/debian/", "suite": "trixie",
     "release_file": "deb.debian.org_debian_dists_trixie_InRelease"},
    {"repo": "http://deb.debian.org/debian/", "suite": "trixie-updates",
     "release_file": "deb.debian.org_debian_dists_trixie-updates_InRelease"},
    {"repo": "http://deb.debian.org/debian-security/", "suite": "trixie-security",
     "release_file": "deb.debian.org_debian-security_dists_trixie-security_InRelease"},
    {"repo": "http://198.18.2.1:34419/", "suite": "trixie-security",
     "release_file": "198.18.2.1:34419_dists_trixie-security_Release"},
]


def pending_facts(simulation: str | dict[str, Any] = SIMULATION, **changes: Any) -> dict[str, Any]:
    fact = {"collected_at": NOW, "simulation": ok(simulation) if isinstance(simulation, str) else simulation,
            "policy": ok(POLICY), "sources": ok(SOURCES),
            "releases": copy.deepcopy(RELEASES), "suites": copy.deepcopy(SUITES), "downloaded": {},
            "update_success_stamp": None}
    fact.update(changes)
    return {"patching_pending_updates": fact}


def test_security_update_pending_ten_days_fails_with_its_age_and_origin() -> None:
    outcome = patching.evaluate_pending_security(pending_facts(), {"max_pending_security_days": 7})
    assert outcome.status == Status.FAIL
    assert outcome.message == ("1 security update(s) pending longer than 7 days: stockade-canary 1.0 -> 1.1 "
                               "(available >= 10 days)")
    canary, zstd = sorted(outcome.observed["pending security updates"], key=lambda u: u["name"] != "stockade-canary")
    assert canary["available_since"] == "2026-11-19T07:12:45+00:00"
    assert canary["since_from"] == "Date of 198.18.2.1:34419_dists_trixie-security_Release"
    assert canary["origins"][0]["release"]["l"] == "Debian-Security"
    assert (zstd["name"], zstd["age_days"]) == ("libzstd1", 2.42)
    assert outcome.observed["other pending updates"] == ["tzdata 2025b-4 -> 2025b-4+deb13u1"]
    assert "lower bound" in outcome.observed["method"]


def test_threshold_is_a_parameter() -> None:
    outcome = patching.evaluate_pending_security(pending_facts(), {"max_pending_security_days": 14})
    assert outcome.status == Status.PASS
    assert outcome.message == "2 security update(s) pending, the oldest available for >= 10 days (within 14)"


def test_a_downloaded_deb_older_than_the_release_dates_the_update() -> None:
    facts = pending_facts(downloaded={"libzstd1_1.5.7+dfsg-1+deb13u1_amd64.deb": "2026-11-18T00:00:00+00:00"})
    outcome = patching.evaluate_pending_security(facts, {"max_pending_security_days": 10.5})
    assert outcome.status == Status.FAIL
    assert outcome.message.startswith("1 security update(s) pending longer than 10.5 days: libzstd1")


def test_nothing_pending_passes_and_only_non_security_pending_passes() -> None:
    assert patching.evaluate_pending_security(pending_facts("0 upgraded.\n"), DEFAULTS).message == \
        "no security update is pending"
    only_updates = "\n".join(line for line in SIMULATION.splitlines() if "tzdata" in line)
    outcome = patching.evaluate_pending_security(pending_facts(only_updates), DEFAULTS)
    assert outcome.status == Status.PASS
    assert outcome.observed["other pending updates"] == ["tzdata 2025b-4 -> 2025b-4+deb13u1"]


def test_a_security_suite_never_fetched_is_not_a_pass() -> None:
    suites = [dict(s, release_file=None) if s["suite"] == "trixie-security" else s for s in SUITES]
    outcome = patching.evaluate_pending_security(pending_facts("0 upgraded.\n", suites=suites), DEFAULTS)
    assert outcome.status == Status.FAIL
    assert "security suite(s) never fetched: http://deb.debian.org/debian-security/ trixie-security" \
        in outcome.message


def test_a_pending_security_update_without_a_dated_release_is_an_error() -> None:
    releases = {k: v for k, v in RELEASES.items() if not k.startswith("198.18")}
    with pytest.raises(MissingFact, match="no Release date found for the origin of stockade-canary"):
        patching.evaluate_pending_security(pending_facts(releases=releases), DEFAULTS)


def test_a_failed_simulation_is_an_error() -> None:
    broken = {"command": ["apt-get"], "rc": 100, "stdout": "", "stderr": "E: The package lists are broken"}
    with pytest.raises(MissingFact, match="package lists are broken"):
        patching.evaluate_pending_security(pending_facts(broken), DEFAULTS)


def test_release_file_names_follow_apt() -> None:
    assert patching.release_file_for("http://deb.debian.org/debian-security trixie-security/main amd64 Packages",
                                     RELEASES) == "deb.debian.org_debian-security_dists_trixie-security_InRelease"
    assert patching.release_file_for("http://198.18.2.1:34419 trixie-security/main amd64 Packages",
                                     RELEASES) == "198.18.2.1:34419_dists_trixie-security_Release"
    assert patching.release_file_for("http://example.org/x bookworm/main amd64 Packages", RELEASES) is None


def test_fresh_lists_pass_stale_lists_fail() -> None:
    outcome = patching.evaluate_lists_fresh(pending_facts(), {"max_package_lists_age_hours": 48})
    assert outcome.status == Status.PASS
    assert outcome.observed["refreshed no earlier than"] == "2026-11-29T07:10:43+00:00"
    stale = {name: dict(info, mtime="2026-11-25T07:00:00+00:00") for name, info in RELEASES.items()}
    outcome = patching.evaluate_lists_fresh(pending_facts(releases=stale), {"max_package_lists_age_hours": 48})
    assert outcome.status == Status.FAIL
    assert outcome.message.startswith("apt package lists are 96.3 hours old (more than 48)")


def test_suites_never_fetched_fail_the_freshness_check() -> None:
    suites = [dict(s, release_file=None) if s["suite"] == "trixie-updates" else s for s in SUITES]
    outcome = patching.evaluate_lists_fresh(pending_facts(suites=suites), DEFAULTS)
    assert outcome.status == Status.FAIL
    assert "never fetched" in outcome.message and "trixie-updates" in outcome.message


# --- PATCH-03 --------------------------------------------------------------------------------------------

def reboot_fact(since: str | None) -> dict[str, Any]:
    if since is None:
        return {"patching_reboot_required": {"required": False, "collected_at": NOW}}
    return {"patching_reboot_required": {"required": True, "collected_at": NOW, "since": since,
                                         "packages": ["libc6", "linux-image-6.1.0-28-amd64"]}}


def test_reboot_absent_or_recent_passes_overdue_fails() -> None:
    assert patching.evaluate_reboot(reboot_fact(None), DEFAULTS).status == Status.PASS
    recent = patching.evaluate_reboot(reboot_fact("2026-11-27T07:15:20+00:00"), {"max_reboot_pending_days": 7})
    assert recent.status == Status.PASS
    assert recent.message == "a reboot is pending since 2026-11-27 07:15Z (2 days, within 7)"
    overdue = patching.evaluate_reboot(reboot_fact("2026-11-19T07:15:20+00:00"), {"max_reboot_pending_days": 7})
    assert overdue.status == Status.FAIL
    assert overdue.message == ("a reboot has been pending for 10 days (more than 7), required by libc6, "
                               "linux-image-6.1.0-28-amd64")


def kernel_fact(container: str | None, running: str, boot: list[str]) -> dict[str, Any]:
    return {"patching_kernel": {"running": running, "container": container, "boot_kernels": boot, "packages": []}}


def test_kernel_in_a_container_is_skipped_never_passed() -> None:
    outcome = patching.evaluate_kernel(kernel_fact("systemd-nspawn", "6.18.44-fc-v857", []), DEFAULTS)
    assert outcome.status == Status.SKIPPED
    assert outcome.message.startswith("not observable in a container")


def test_kernel_older_than_installed_fails_newest_passes() -> None:
    boot = ["6.1.0-9-amd64", "6.1.0-28-amd64", "6.1.0-18-amd64"]
    outcome = patching.evaluate_kernel(kernel_fact(None, "6.1.0-18-amd64", boot), DEFAULTS)
    assert outcome.status == Status.FAIL
    assert outcome.message == ("running kernel 6.1.0-18-amd64 is not the newest installed (6.1.0-28-amd64): "
                               "reboot to load it")
    assert patching.evaluate_kernel(kernel_fact(None, "6.1.0-28-amd64", boot), DEFAULTS).status == Status.PASS
    assert patching.evaluate_kernel(kernel_fact(None, "6.1.0-28-amd64", []), DEFAULTS).status == Status.SKIPPED


# --- host side -------------------------------------------------------------------------------------------

def test_release_header_reads_an_inrelease_without_its_signature(tmp_path: Path) -> None:
    inrelease = tmp_path / "x_InRelease"
    inrelease.write_text("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: Debian\nLabel: Debian-Security\n"
                         "Suite: stable-security\nVersion: 13\nCodename: trixie-security\n"
                         "Date: Thu, 26 Nov 2026 21:03:36 UTC\nAcquire-By-Hash: yes\nSHA256:\n abc 1 main/x\n"
                         "Label: not-this\n")
    assert collect._patching_release_header(inrelease) == {
        "Origin": "Debian", "Label": "Debian-Security", "Suite": "stable-security", "Version": "13",
        "Codename": "trixie-security", "Date": "Thu, 26 Nov 2026 21:03:36 UTC"}


def test_bundle_defines_the_patching_facts_in_its_own_namespace() -> None:
    script = bundle.script().decode()
    compile(script, "bundle", "exec")
    for name in ("patching_pending_updates", "patching_apt_config", "patching_uu_package", "patching_timers",
                 "patching_uu_log", "patching_reboot_required", "patching_kernel"):
        assert f'"{name}"' in script
    # The reboot fact runs anywhere (no apt needed) and reports the host clock.
    out = subprocess.run([sys.executable, "-I", "-c", script, "patching_reboot_required"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert '"collected_at"' in out


def test_a_simulation_past_its_deadline_is_an_error_never_a_pass() -> None:
    timed_out = {"command": ["apt-get", "-s", "dist-upgrade"], "error": "timed out after 50s"}
    with pytest.raises(MissingFact, match="timed out after 50s"):
        patching.evaluate_pending_security(pending_facts(timed_out), DEFAULTS)


def test_run_command_honours_its_own_timeout() -> None:
    from checks.collect.core import run_command

    assert run_command(["sleep", "5"], timeout=0.2)["error"] == "timed out after 0.2s"


def test_the_first_apt_run_gets_the_longer_deadline_on_a_private_copy_of_both_caches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PATCH-02's evidence under load (issue 17): the apt run that may rebuild the cache gets most of the fact's
    deadline, and both system caches are copied, so a pkgcache made stale by dpkg is rebuilt from srcpkgcache."""
    caches = tuple(tmp_path / name for name in ("pkgcache.bin", "srcpkgcache.bin"))
    for cache in caches:
        cache.write_bytes(cache.name.encode())
    monkeypatch.setattr(collect, "_PATCHING_SYSTEM_CACHES", caches)
    runs: list[tuple[list[str], float, set[str]]] = []

    def fake_run(argv: list[str], timeout: float = 30) -> dict[str, Any]:
        private = next((a.split("=", 1)[1] for a in argv if a.startswith("Dir::Cache::pkgcache=")), "")
        copied = {p.name for p in Path(private).parent.iterdir()} if private else set()
        runs.append((argv, timeout, copied))
        return {"command": argv, "rc": 0, "stdout": "", "stderr": ""}

    monkeypatch.setattr(collect, "run_command", fake_run)
    collect._patching_pending_updates()
    collect._patching_apt_inputs()
    apt_runs = [(argv[:2], timeout, copied) for argv, timeout, copied in runs if argv[0] in ("apt-get", "apt-cache")]
    first_of_each = [run for run in apt_runs if run[1] == collect._PATCHING_APT_FIRST_TIMEOUT]
    assert [run[0] for run in first_of_each] == [["apt-get", "-s"], ["apt-cache", "-o"]]
    assert collect._PATCHING_APT_FIRST_TIMEOUT > 30 and collect._PATCHING_APT_FIRST_TIMEOUT < 60
    assert all(copied == {"pkgcache.bin", "srcpkgcache.bin"} for _, _, copied in apt_runs), apt_runs
