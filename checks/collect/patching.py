"""Host side of the patching checks (PATCH-01..03): apt's view of pending updates, unattended-upgrades'
configuration, timers and log, a pending reboot, and the kernels.

Nothing here changes the host: no `apt-get update` (the host's existing package lists are used, and their
freshness is reported), pending updates come from `apt-get -s` (a simulation, without taking apt's lock).
"""

import contextlib
import gzip
import os
import re
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checks.collect.core import command_fact, fact, run_command

_PATCHING_LISTS = Path("/var/lib/apt/lists")
_PATCHING_ARCHIVES = Path("/var/cache/apt/archives")
_PATCHING_PERIODIC = Path("/var/lib/apt/periodic")
_PATCHING_UU_LOG_DIR = Path("/var/log/unattended-upgrades")
_PATCHING_RELEASE_FIELDS = ("Origin", "Label", "Suite", "Codename", "Version", "Date", "Valid-Until")
_PATCHING_SYSTEM_CACHES = (Path("/var/cache/apt/pkgcache.bin"), Path("/var/cache/apt/srcpkgcache.bin"))
# The first apt run on a private cache may have to rebuild it (after a dpkg change, from srcpkgcache.bin; with no
# usable cache at all, from every package list): on a busy 2-core machine that took more than COMMAND_TIMEOUT
# (30 s) and left PATCH-02 ERROR. It gets most of its fact's deadline (FACT_DEADLINE_SECONDS, 60 s); the runs
# after it reuse the cache it built. Past either bound the fact is an error, so PATCH-02 is ERROR, never PASS.
_PATCHING_APT_FIRST_TIMEOUT = 50
_PATCHING_INST = re.compile(r"^Inst (\S+) \[([^\]]+)\] \((\S+) ")
# unattended-upgrades log lines worth keeping: run boundaries, what it did, and what went wrong.
_PATCHING_UU_KEEP = re.compile(r" (ERROR|WARNING|CRITICAL) |Starting unattended upgrades script|All upgrades installed|"
                      r"No packages found that can be upgraded|Packages that will be upgraded|"
                      r"Installing the upgrades failed|Packages that are auto removed|package .* kept back")


def _patching_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _patching_mtime(path: Path) -> str | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    except OSError:
        return None


def _patching_release_header(path: Path) -> dict[str, str]:
    """The top fields of a Release/InRelease file (an InRelease starts with a PGP armour line)."""
    fields: dict[str, str] = {}
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle):
            if number > 60 or line.startswith((" ", "MD5Sum:", "SHA1:", "SHA256:", "SHA512:")):
                break
            key, sep, value = line.partition(":")
            if sep and key in _PATCHING_RELEASE_FIELDS:
                fields[key] = value.strip()
    return fields


def _patching_configured_suites(apt_ro: list[str]) -> list[dict[str, Any]]:
    """Every suite of the configured sources (`apt-get indextargets --no-release-info`, which lists what
    `apt-get update` would fetch) with the Release list file the host holds for it, or None."""
    targets = run_command(["apt-get", *apt_ro, "indextargets", "--no-release-info",
                           "--format", "$(REPO_URI) $(RELEASE) $(FILENAME)", "Identifier: Packages"])
    if targets.get("rc") != 0:
        return [{"error": targets.get("error") or targets.get("stderr", "")}]
    suites: dict[tuple[str, str], str | None] = {}
    for line in str(targets.get("stdout", "")).splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or (parts[0], parts[1]) in suites:
            continue
        repo, suite, filename = parts
        marker = f"_dists_{suite.replace('/', '_')}_"
        prefix = filename[:filename.find(marker) + len(marker)] if marker in filename else None
        found = None
        for name in ("InRelease", "Release"):
            if prefix and Path(prefix + name).is_file():
                found = Path(prefix + name).name
                break
        suites[(repo, suite)] = found
    return [{"repo": repo, "suite": suite, "release_file": found} for (repo, suite), found in suites.items()]


def _patching_private_cache(directory: str) -> list[str]:
    """apt options for binary caches in `directory`, a private copy of the system's (apt still validates them
    against the package lists and the dpkg status and rebuilds them there if stale): apt's runs below build
    the cache at most once (not once per run in memory), and /var/cache/apt is never written. Both caches are
    copied: a pkgcache.bin made stale by a dpkg change (hardening installs packages) is then rebuilt from the
    still valid srcpkgcache.bin, without parsing every package list again."""
    for system in _PATCHING_SYSTEM_CACHES:
        with contextlib.suppress(OSError):  # no system cache, or unreadable: the first run builds one there
            shutil.copyfile(system, Path(directory) / system.name)
    return ["-o", "Debug::NoLocking=1", "-o", f"Dir::Cache::pkgcache={directory}/pkgcache.bin",
            "-o", f"Dir::Cache::srcpkgcache={directory}/srcpkgcache.bin"]


@fact("patching_pending_updates")
def _patching_pending_updates() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stockade-apt-") as directory:
        apt_ro = _patching_private_cache(directory)
        simulation = run_command(["apt-get", "-s", *apt_ro, "dist-upgrade"],  # builds the cache if stale
                                 timeout=_PATCHING_APT_FIRST_TIMEOUT)
        names = sorted({m.group(1) for m in map(_PATCHING_INST.match, str(simulation.get("stdout", "")).splitlines())
                        if m})
        policy = run_command(["apt-cache", *apt_ro, "policy", *names]) if names else None
        sources_policy = run_command(["apt-cache", *apt_ro, "policy"])
        suites = _patching_configured_suites(apt_ro)
    releases = {}
    for path in sorted(_PATCHING_LISTS.glob("*Release")):
        if path.name.endswith(("_InRelease", "_Release")):
            releases[path.name] = {"mtime": _patching_mtime(path), **_patching_release_header(path)}
    downloaded = {p.name: _patching_mtime(p) for p in sorted(_PATCHING_ARCHIVES.glob("*.deb"))}
    return {
        "collected_at": _patching_now(),
        "simulation": simulation,
        "policy": policy,
        "sources": sources_policy,
        "releases": releases,
        "suites": suites,
        "downloaded": downloaded,
        "update_success_stamp": _patching_mtime(_PATCHING_PERIODIC / "update-success-stamp"),
    }


@fact("patching_apt_config")
def _patching_apt_config() -> dict[str, Any]:
    """apt's effective configuration (`apt-config dump`), reduced to APT::Periodic and Unattended-Upgrade."""
    dump = run_command(["apt-config", "dump"])
    if dump.get("rc") == 0:
        dump["stdout"] = "".join(line + "\n" for line in str(dump["stdout"]).splitlines()
                                 if line.startswith(("APT::Periodic", "Unattended-Upgrade")))
    return dump


command_fact("patching_uu_package", ["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Version}", "unattended-upgrades"])
command_fact("patching_timers", [
    "systemctl", "show", "--property=Id,UnitFileState,ActiveState,SubState,LastTriggerUSec,NextElapseUSecRealtime",
    "apt-daily.timer", "apt-daily-upgrade.timer"])


@fact("patching_uu_log")
def _patching_uu_log() -> dict[str, Any]:
    """The run boundaries, results and errors from unattended-upgrades' log (newest file that has lines),
    with the host's UTC offset (the log's timestamps are local time), and the success stamp."""
    kept: list[str] = []
    source = None
    for name in ("unattended-upgrades.log", "unattended-upgrades.log.1", "unattended-upgrades.log.2.gz"):
        path = _PATCHING_UU_LOG_DIR / name
        try:
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
                lines = [line.rstrip("\n") for line in handle if _PATCHING_UU_KEEP.search(line)]
        except OSError:
            continue
        if lines:
            kept, source = lines[-300:], str(path)
            break
    return {
        "collected_at": _patching_now(),
        "log": source,
        "lines": kept,
        "log_dir_exists": _PATCHING_UU_LOG_DIR.is_dir(),
        "utc_offset": time.strftime("%z"),
        "success_stamp": _patching_mtime(_PATCHING_PERIODIC / "unattended-upgrades-stamp"),
    }


@fact("patching_reboot_required")
def _patching_reboot_required() -> dict[str, Any]:
    flag = Path("/var/run/reboot-required")
    if not flag.exists():
        return {"required": False, "collected_at": _patching_now()}
    try:
        packages = sorted(set(Path("/var/run/reboot-required.pkgs").read_text().split()))
    except OSError:
        packages = []
    return {"required": True, "collected_at": _patching_now(), "since": _patching_mtime(flag), "packages": packages}


@fact("patching_kernel")
def _patching_kernel() -> dict[str, Any]:
    virt = run_command(["systemd-detect-virt", "--container"])
    container = str(virt.get("stdout", "")).strip() if virt.get("rc") == 0 else None
    if container is None and Path("/run/systemd/container").exists():
        container = Path("/run/systemd/container").read_text().strip() or "unknown"
    images = run_command(["dpkg-query", "-W", "-f=${Package} ${Version} ${db:Status-Abbrev}\n", "linux-image-[0-9]*"])
    return {
        "running": os.uname().release,
        "container": container,
        "boot_kernels": sorted(p.name.removeprefix("vmlinuz-") for p in Path("/boot").glob("vmlinuz-*")),
        "packages": str(images.get("stdout", "")).splitlines() if images.get("rc") == 0 else [],
    }


@fact("patching_apt_inputs")
def _patching_apt_inputs() -> dict[str, Any]:
    """What decides whether security updates can arrive at all, in apt's own view: the release's codename, every
    configured suite and whether its Release was fetched, the per-source priorities and pins (`apt-cache policy`),
    the preferences files, and each held package with its installed and candidate versions."""
    codename = ""
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("VERSION_CODENAME="):
                codename = line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    preferences = []
    for path in [Path("/etc/apt/preferences"), *sorted(Path("/etc/apt/preferences.d").glob("*"))]:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            preferences.append({"path": str(path), "content": text[:4000]})
    holds = run_command(["apt-mark", "showhold"])
    held = str(holds.get("stdout", "")).split() if holds.get("rc") == 0 else []
    # One private copy of the binary cache for its three apt runs, as in patching_pending_updates: with the
    # in-memory cache each run rebuilt it (4-6 s each on a loaded lab host, 0.1-0.3 s on the copy; apt still
    # validates the copy against the lists, so its view is the same). The first run may rebuild the copy.
    with tempfile.TemporaryDirectory(prefix="stockade-apt-") as directory:
        apt_ro = _patching_private_cache(directory)
        policy = run_command(["apt-cache", *apt_ro, "policy"], timeout=_PATCHING_APT_FIRST_TIMEOUT)
        held_policy = run_command(["apt-cache", *apt_ro, "policy", *held]) if held else None
        suites = _patching_configured_suites(apt_ro)
    return {
        "codename": codename,
        "suites": suites,
        "policy": policy,
        "preferences": preferences,
        "holds": holds,
        "held_policy": held_policy,
    }
