"""PATCH-01..03: patch level as evidence a reviewer can weigh.

PATCH-01 automatic security updates (unattended-upgrades configured, timers running, last run succeeded),
PATCH-02 no security update pending too long (and the package lists it is judged from are fresh),
PATCH-03 no reboot pending too long, and the running kernel is the newest installed.

Facts come from checks/collect/patching.py; nothing here touches a host.

How long a pending update has been available: apt keeps no publication date per package, so the age is
a LOWER BOUND taken from what the host itself holds: the earliest of (a) the `Date:` of the Release/InRelease
file of the origin that offers the candidate version (the candidate was in that index when it was
generated) and (b) the mtime of the candidate's .deb if apt already downloaded it to /var/cache/apt/archives
(APT::Periodic::Download-Upgradeable-Packages; apt dates it with the server's Last-Modified). An update is
"security" when its candidate comes from an origin labelled Debian-Security or whose codename or suite
ends in -security (how Debian names its security archive, and what unattended-upgrades matches).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from checks.model import (
    Check,
    Facts,
    MissingFact,
    Outcome,
    Params,
    Status,
    command_output,
    fact_field,
    fact_value,
    outcome,
)

CONTAINER_REASON = "not observable in a container"
AGE_METHOD = (
    "age is a lower bound: the earliest of the Date of the Release file of the origin offering the candidate "
    "and the mtime of the candidate's .deb already downloaded by apt; apt records no publication date per "
    "package. Computed from the host's existing package lists (no apt-get update; `apt-get -s dist-upgrade`)."
)


# --- small parsers ---------------------------------------------------------------------------------------

def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        try:
            stamp = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _days(delta: timedelta) -> float:
    return round(delta.total_seconds() / 86400, 2)


def parse_apt_config(text: str) -> dict[str, list[str]]:
    """`apt-config dump` lines `Key "value";`; list items (`Key:: "value";`) collect under `Key`."""
    config: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.match(r'^(\S+?)(::)? "(.*)";$', line.strip())
        if not match:
            continue
        key, is_item, value = match.groups()
        if is_item:
            config.setdefault(key, []).append(value)
        else:
            config.setdefault(key, [])
            if value:
                config[key] = [value]
    return config


def periodic_days(value: str | None) -> float | None:
    """APT::Periodic intervals: a number of days, or a number with s/m/h/d, or `always`; 0/absent is off."""
    if value is None:
        return None
    value = value.strip()
    if value == "always":
        return 0.0
    match = re.fullmatch(r"(\d+)([smhd]?)", value)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2) or "d"
    if number == 0:
        return None
    return number / {"s": 86400, "m": 1440, "h": 24, "d": 1}[unit]


def is_security_pattern(pattern: str) -> bool:
    """An Origins-Pattern (`key=value,...`) or Allowed-Origins (`origin:archive`) entry that selects a
    Debian security archive."""
    if "=" in pattern:
        fields = dict(part.split("=", 1) for part in pattern.split(",") if "=" in part)
        label = fields.get("label", fields.get("l", ""))
        suite = fields.get("codename", fields.get("n", fields.get("archive", fields.get("a", fields.get("suite", "")))))
        return label == "Debian-Security" or suite.endswith("-security")
    return pattern.partition(":")[2].endswith("-security")


def parse_systemctl_show(text: str) -> dict[str, dict[str, str]]:
    units: dict[str, dict[str, str]] = {}
    for block in text.strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if "Id" in props:
            units[props["Id"]] = props
    return units


# --- PATCH-01 --------------------------------------------------------------------------------------------

def evaluate_unattended_upgrades(facts: Facts, params: Params) -> Outcome:
    package = facts.get("patching_uu_package") or {}
    installed_text = str(package.get("stdout", "")) if package.get("rc") == 0 else ""
    installed = installed_text.startswith("ii")
    if not installed and "error" not in package and package.get("rc") not in (0, 1):
        command_output(facts, "patching_uu_package")  # raises: dpkg-query failed otherwise
    config = parse_apt_config(command_output(facts, "patching_apt_config"))

    def value(key: str) -> str | None:
        values = config.get(key)
        return values[-1] if values else None

    origins = config.get("Unattended-Upgrade::Origins-Pattern", []) + config.get(
        "Unattended-Upgrade::Allowed-Origins", [])
    max_interval = float(params["max_periodic_interval_days"])
    observed = {
        "unattended-upgrades package": installed_text.strip() or "not installed",
        "APT::Periodic::Enable": value("APT::Periodic::Enable") or "(default 1)",
        "APT::Periodic::Update-Package-Lists": value("APT::Periodic::Update-Package-Lists") or "(absent: off)",
        "APT::Periodic::Unattended-Upgrade": value("APT::Periodic::Unattended-Upgrade") or "(absent: off)",
        "origins": origins,
        "package blacklist": config.get("Unattended-Upgrade::Package-Blacklist", []),
        "automatic reboot": value("Unattended-Upgrade::Automatic-Reboot") or "(default false)",
        "automatic reboot time": value("Unattended-Upgrade::Automatic-Reboot-Time") or "(default now)",
        "source": "apt-config dump (effective configuration of every apt.conf.d file)",
    }
    problems = []
    if not installed:
        problems.append("unattended-upgrades is not installed")
    if value("APT::Periodic::Enable") == "0":
        problems.append("APT::Periodic::Enable is 0 (apt's daily jobs are off)")
    for key in ("APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"):
        days = periodic_days(value(key))
        if days is None:
            problems.append(f"{key} is {value(key) or 'absent'} (off)")
        elif days > max_interval:
            problems.append(f"{key} runs every {days:g} days, more than {max_interval:g}")
    if not any(is_security_pattern(pattern) for pattern in origins):
        problems.append("no unattended-upgrades origin selects the Debian security archive")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, "unattended-upgrades is installed and runs at least every "
                   f"{max_interval:g} day(s) for the security origin", observed)


TIMERS = ("apt-daily.timer", "apt-daily-upgrade.timer")


def evaluate_timers(facts: Facts, params: Params) -> Outcome:
    units = parse_systemctl_show(command_output(facts, "patching_timers"))
    observed: dict[str, Any] = {}
    problems = []
    for timer in TIMERS:
        props = units.get(timer, {})
        state, active = props.get("UnitFileState", "(unknown)"), props.get("ActiveState", "(unknown)")
        observed[timer] = {"enabled": state, "active": active, "last": props.get("LastTriggerUSec") or "never",
                           "next": props.get("NextElapseUSecRealtime") or "(none)"}
        if state != "enabled":
            problems.append(f"{timer} is {state}, not enabled")
        if active != "active":
            problems.append(f"{timer} is {active}, not active")
    if problems:
        return Outcome(Status.FAIL, "; ".join(problems), observed)
    return Outcome(Status.PASS, "apt-daily.timer and apt-daily-upgrade.timer are enabled and active", observed)


_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:,\d+)? (\w+) (.*)$")


def parse_uu_runs(lines: list[str], utc_offset: str) -> list[dict[str, Any]]:
    """unattended-upgrades runs from its log: start, end, result (succeeded | failed | incomplete), errors."""
    offset = datetime.strptime(utc_offset or "+0000", "%z").tzinfo
    runs: list[dict[str, Any]] = []
    for line in lines:
        match = _LOG_LINE.match(line)
        if not match:
            continue
        when = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=offset).astimezone(UTC)
        level, message = match.group(2), match.group(3)
        if "Starting unattended upgrades script" in message or not runs:
            runs.append({"started": when, "ended": None, "result": "incomplete", "errors": []})
            if "Starting unattended upgrades script" in message:
                continue
        run = runs[-1]
        if level in ("ERROR", "CRITICAL") or "Installing the upgrades failed" in message:
            run["errors"].append(message[:300])
            run["result"], run["ended"] = "failed", when
        elif ("All upgrades installed" in message or "No packages found that can be upgraded" in message) \
                and not run["errors"]:
            run["result"], run["ended"] = "succeeded", when
    return runs


def evaluate_last_run(facts: Facts, params: Params) -> Outcome:
    log = fact_value(facts, "patching_uu_log")
    now = _time(log.get("collected_at"))
    if now is None:
        raise MissingFact("patching_uu_log", "the host's clock was not reported", log)
    max_days = float(params["max_days_since_unattended_run"])
    runs = parse_uu_runs(list(log.get("lines", [])), str(log.get("utc_offset", "+0000")))
    successes = [run["ended"] for run in runs if run["result"] == "succeeded"]
    stamp = _time(log.get("success_stamp"))
    candidates = [t for t in (*successes, stamp) if t is not None]
    last_success = max(candidates) if candidates else None
    last = runs[-1] if runs else None
    observed: dict[str, Any] = {
        "log": log.get("log") or "(no unattended-upgrades log with runs)",
        "runs in log": len(runs),
        "last run": None if last is None else {
            "started": last["started"].isoformat(), "result": last["result"], "errors": last["errors"][-3:]},
        "last successful run": last_success.isoformat() if last_success else "never",
        "success stamp (/var/lib/apt/periodic/unattended-upgrades-stamp)": log.get("success_stamp") or "absent",
        "host clock": now.isoformat(),
        "max days": max_days,
    }
    if last_success is None:
        return Outcome(Status.FAIL, "unattended-upgrades has never completed a run on this host", observed)
    age = _days(now - last_success)
    observed["days since last success"] = age
    failed_after = last is not None and last["result"] == "failed" and last["started"] >= last_success
    note = f"; the latest run (started {last['started']:%Y-%m-%d %H:%M}Z) failed" if failed_after and last else ""
    if age > max_days:
        return Outcome(Status.FAIL, f"last successful unattended-upgrades run was {age:g} days ago "
                       f"(more than {max_days:g}){note}", observed)
    return Outcome(Status.PASS, f"unattended-upgrades last succeeded {age:g} days ago{note}", observed)


# --- PATCH-02 --------------------------------------------------------------------------------------------

_INST = re.compile(r"^Inst (\S+) \[([^\]]+)\] \((\S+) (.*?)(?: \[([^\]]+)\])?\)")


def parse_simulation(text: str) -> list[dict[str, str]]:
    updates = []
    for line in text.splitlines():
        match = _INST.match(line)
        if match:
            name, installed, candidate, release, arch = match.groups()
            updates.append({"name": name, "installed": installed, "candidate": candidate, "release": release,
                            "arch": arch or ""})
    return updates


def parse_policy(text: str) -> dict[str, list[str]]:
    """`apt-cache policy PKG...`: for each package, the sources (`URI dist/comp arch Packages`) of its
    candidate version."""
    result: dict[str, list[str]] = {}
    package = candidate = None
    in_candidate = False
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            package, candidate, in_candidate = line[:-1], None, False
            continue
        stripped = line.strip()
        if stripped.startswith("Candidate:"):
            candidate = stripped.partition(":")[2].strip()
            continue
        version_line = re.match(r"^ (?:\*\*\*| {3}) (\S+) (-?\d+)$", line)
        if version_line:
            in_candidate = version_line.group(1) == candidate
            continue
        source = re.match(r"^ {8}-?\d+ (.+ Packages)$", line)
        if source and in_candidate and package:
            result.setdefault(package, []).append(source.group(1))
    return result


def parse_sources(text: str) -> dict[str, dict[str, str]]:
    """`apt-cache policy`: each package file (`URI dist/comp arch Packages`) with its release fields."""
    sources: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        source = re.match(r"^ *-?\d+ (.+ Packages)$", line)
        if source:
            current = source.group(1)
            sources[current] = {}
            continue
        release = re.match(r"^ +release (.*)$", line)
        if release and current:
            sources[current] = dict(part.split("=", 1) for part in release.group(1).split(",") if "=" in part)
    return sources


def release_file_for(source: str, releases: Mapping[str, Any]) -> str | None:
    """The list file holding the Release of a `URI dist/comp arch Packages` source (apt names list files
    after the URI without its scheme, '/' turned into '_')."""
    uri, _, rest = source.partition(" ")
    dist = rest.split(" ")[0].rsplit("/", 1)[0]
    base = re.sub(r"^[a-z+]+://([^@/]*@)?", "", uri).rstrip("/")
    prefix = f"{base}/dists/{dist}/".replace("/", "_")
    for name in (f"{prefix}InRelease", f"{prefix}Release"):
        if name in releases:
            return name
    unquoted = {re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), key): key for key in releases}
    for name in (f"{prefix}InRelease", f"{prefix}Release"):
        if name in unquoted:
            return unquoted[name]
    return None


def is_security_release(fields: Mapping[str, str]) -> bool:
    return fields.get("l") == "Debian-Security" or any(
        fields.get(key, "").endswith("-security") for key in ("n", "a"))


def _deb_name(name: str, version: str, arch: str) -> str:
    return f"{name}_{version.replace(':', '%3a')}_{arch}.deb"


def pending_security_updates(facts: Facts) -> tuple[list[dict[str, Any]], list[str], Mapping[str, Any]]:
    """(security updates with their evidence, names of other pending updates, the raw fact)."""
    pending = fact_value(facts, "patching_pending_updates")
    now = _time(pending.get("collected_at"))
    if now is None:
        raise MissingFact("patching_pending_updates", "the host's clock was not reported", pending)
    simulation = {"patching_pending_updates.simulation": pending.get("simulation") or {"error": "absent"}}
    updates = parse_simulation(command_output(simulation, "patching_pending_updates.simulation"))
    if not updates:
        return [], [], pending
    policy = parse_policy(command_output({"policy": pending.get("policy") or {"error": "absent"}}, "policy"))
    sources = parse_sources(command_output({"sources": pending.get("sources") or {"error": "absent"}}, "sources"))
    releases: Mapping[str, Any] = pending.get("releases", {})
    downloaded: Mapping[str, Any] = pending.get("downloaded", {})
    security, others = [], []
    for update in updates:
        offered_by = policy.get(update["name"], [])
        fields = [sources.get(source, {}) for source in offered_by]
        if not any(is_security_release(f) for f in fields):
            others.append(f"{update['name']} {update['installed']} -> {update['candidate']}")
            continue
        evidence: dict[str, Any] = {"name": update["name"], "installed": update["installed"],
                                    "candidate": update["candidate"], "origins": []}
        since: list[tuple[datetime, str]] = []
        for source, release in zip(offered_by, fields, strict=True):
            if not is_security_release(release):
                continue
            file = release_file_for(source, releases)
            header = releases.get(file, {}) if file else {}
            dated = _time(header.get("Date"))
            evidence["origins"].append({"source": source, "release": release, "release_file": file,
                                        "release_date": header.get("Date")})
            if dated:
                since.append((dated, f"Date of {file}"))
        deb = _deb_name(update["name"], update["candidate"], update["arch"])
        fetched = _time(downloaded.get(deb))
        if fetched:
            since.append((fetched, f"mtime of /var/cache/apt/archives/{deb}"))
        if since:
            first, how = min(since)
            evidence["available_since"], evidence["since_from"] = first.isoformat(), how
            evidence["age_days"] = _days(now - first)
        else:
            evidence["available_since"] = None
        security.append(evidence)
    return security, others, pending


def evaluate_pending_security(facts: Facts, params: Params) -> Outcome:
    max_days = float(params["max_pending_security_days"])
    security, others, pending = pending_security_updates(facts)
    observed: dict[str, Any] = {
        "pending security updates": security,
        "other pending updates": others,
        "max days": max_days,
        "method": AGE_METHOD,
        "host clock": pending.get("collected_at"),
    }
    unknown = [f"{s['repo']} {s['suite']}" for s in pending.get("suites", [])
               if "error" not in s and not s.get("release_file") and str(s.get("suite", "")).endswith("-security")]
    if unknown:
        return Outcome(Status.FAIL, f"security suite(s) never fetched: {', '.join(unknown)}: pending security "
                       "updates cannot be known", observed)
    undated = [u["name"] for u in security if u.get("available_since") is None]
    if undated:
        raise MissingFact("patching_pending_updates",
                          f"no Release date found for the origin of {', '.join(undated)}", observed)
    overdue = [u for u in security if u["age_days"] > max_days]
    if overdue:
        listed = ", ".join(f"{u['name']} {u['installed']} -> {u['candidate']} (available >= {u['age_days']:g} "
                           f"days)" for u in overdue)
        return Outcome(Status.FAIL, f"{len(overdue)} security update(s) pending longer than {max_days:g} days: "
                       f"{listed}", observed)
    if security:
        oldest = max(u["age_days"] for u in security)
        return Outcome(Status.PASS, f"{len(security)} security update(s) pending, the oldest available for "
                       f">= {oldest:g} days (within {max_days:g})", observed)
    return Outcome(Status.PASS, "no security update is pending", observed)


def evaluate_lists_fresh(facts: Facts, params: Params) -> Outcome:
    pending = fact_value(facts, "patching_pending_updates")
    now = _time(pending.get("collected_at"))
    if now is None:
        raise MissingFact("patching_pending_updates", "the host's clock was not reported", pending)
    max_hours = float(params["max_package_lists_age_hours"])
    releases: Mapping[str, Any] = pending.get("releases", {})
    times = {name: _time(info.get("mtime")) for name, info in releases.items()}
    stamp = _time(pending.get("update_success_stamp"))
    known = [t for t in (*times.values(), stamp) if t is not None]
    suites = list(pending.get("suites", []))
    if any("error" in suite for suite in suites):
        raise MissingFact("patching_pending_updates", f"apt-get indextargets failed: {suites}", pending)
    never = [f"{s['repo']} {s['suite']}" for s in suites if not s.get("release_file")]
    observed: dict[str, Any] = {
        "configured suites": {f"{s['repo']} {s['suite']}": s.get("release_file") or "never fetched"
                              for s in suites},
        "release files": {name: {"mtime": info.get("mtime"), "Date": info.get("Date")}
                          for name, info in releases.items()},
        "update-success-stamp": pending.get("update_success_stamp") or "absent",
        "method": "the lists were refreshed no earlier than the newest of the Release files' mtimes (apt dates "
                  "them with the server's Last-Modified) and apt's update-success-stamp",
        "max hours": max_hours,
    }
    if never:
        return Outcome(Status.FAIL, f"configured suites never fetched (no Release file in /var/lib/apt/lists): "
                       f"{', '.join(never)}: their pending updates cannot be known", observed)
    if not known:
        return Outcome(Status.FAIL, "no apt package lists on the host: pending updates cannot be known", observed)
    newest = max(known)
    hours = round((now - newest).total_seconds() / 3600, 1)
    observed["refreshed no earlier than"], observed["age hours"] = newest.isoformat(), hours
    if hours > max_hours:
        return Outcome(Status.FAIL, f"apt package lists are {hours:g} hours old (more than {max_hours:g}): "
                       "updates published since are not seen", observed)
    return Outcome(Status.PASS, f"apt package lists are {hours:g} hours old (within {max_hours:g})", observed)


# --- PATCH-03 --------------------------------------------------------------------------------------------

def evaluate_reboot(facts: Facts, params: Params) -> Outcome:
    reboot = fact_value(facts, "patching_reboot_required")
    max_days = float(params["max_reboot_pending_days"])
    if not fact_field(facts, "patching_reboot_required", "required"):
        return Outcome(Status.PASS, "no reboot is required (/var/run/reboot-required absent)",
                       {"reboot-required": "absent"})
    now, since = _time(reboot.get("collected_at")), _time(reboot.get("since"))
    if now is None or since is None:
        raise MissingFact("patching_reboot_required", "no time for the pending reboot or the host clock", reboot)
    age = _days(now - since)
    observed = {"reboot-required": "present", "since (mtime)": since.isoformat(), "days": age,
                "packages": reboot.get("packages", []), "max days": max_days}
    if age > max_days:
        return Outcome(Status.FAIL, f"a reboot has been pending for {age:g} days (more than {max_days:g}), "
                       f"required by {', '.join(reboot.get('packages', [])) or 'unnamed packages'}", observed)
    return Outcome(Status.PASS, f"a reboot is pending since {since:%Y-%m-%d %H:%M}Z ({age:g} days, within "
                   f"{max_days:g})", observed)


def _natural(text: str) -> list[Any]:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", text)]


def evaluate_kernel(facts: Facts, params: Params) -> Outcome:
    kernel = fact_value(facts, "patching_kernel")
    installed = list(kernel.get("boot_kernels", []))
    observed = {"running": kernel.get("running"), "installed (/boot)": installed,
                "kernel packages": kernel.get("packages", []), "container": kernel.get("container") or "no"}
    if kernel.get("container"):
        return Outcome(Status.SKIPPED, f"{CONTAINER_REASON}: the running kernel is the machine's own "
                       f"({kernel.get('container')})", observed)
    if not installed:
        return Outcome(Status.SKIPPED, "no kernel image in /boot: the kernel is supplied by the platform", observed)
    newest = max(installed, key=_natural)
    observed["newest installed"] = newest
    if kernel.get("running") != newest:
        return Outcome(Status.FAIL, f"running kernel {kernel.get('running')} is not the newest installed "
                       f"({newest}): reboot to load it", observed)
    return Outcome(Status.PASS, f"running kernel {newest} is the newest installed", observed)


UNATTENDED_UPGRADES = Check(
    id="patching_unattended_upgrades_enabled",
    control_id="PATCH-01",
    title="unattended-upgrades is installed and apt runs it daily for the Debian security origin",
    facts=("patching_uu_package", "patching_apt_config"),
    evaluate=evaluate_unattended_upgrades,
)
AUTO_UPDATE_TIMERS = Check(
    id="patching_auto_update_timers_active",
    control_id="PATCH-01",
    title="apt-daily.timer and apt-daily-upgrade.timer are enabled and active",
    facts=("patching_timers",),
    evaluate=evaluate_timers,
)
LAST_RUN = Check(
    id="patching_unattended_upgrades_recent_success",
    control_id="PATCH-01",
    title="unattended-upgrades completed a run recently",
    facts=("patching_uu_log",),
    evaluate=evaluate_last_run,
)
PENDING_SECURITY = Check(
    id="patching_no_overdue_security_updates",
    control_id="PATCH-02",
    title="no security update has been pending longer than the allowed days",
    facts=("patching_pending_updates",),
    evaluate=evaluate_pending_security,
)
LISTS_FRESH = Check(
    id="patching_package_lists_fresh",
    control_id="PATCH-02",
    title="apt's package lists are fresh enough to know the pending updates",
    facts=("patching_pending_updates",),
    evaluate=evaluate_lists_fresh,
)
REBOOT = Check(
    id="patching_no_overdue_reboot",
    control_id="PATCH-03",
    title="no reboot has been pending longer than the allowed days",
    facts=("patching_reboot_required",),
    evaluate=evaluate_reboot,
)
KERNEL = Check(
    id="patching_running_newest_kernel",
    control_id="PATCH-03",
    title="the running kernel is the newest installed",
    facts=("patching_kernel",),
    evaluate=evaluate_kernel,
)



# --- PATCH-01/02: the inputs that decide whether security updates can arrive at all -------------------------

def parse_source_priorities(text: str) -> list[dict[str, Any]]:
    """`apt-cache policy` (no package): each package file with its priority and release fields, and the
    `Pinned packages:` lines (`name -> version with priority N`)."""
    entries: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    in_pins = False
    for line in text.splitlines():
        if line.startswith("Pinned packages:"):
            in_pins = True
            continue
        if in_pins:
            pin = re.match(r"^\s+(\S+) -> (\S+) with priority (-?\d+)", line)
            if pin:
                entries.append({"pinned_package": pin.group(1), "version": pin.group(2),
                                "priority": int(pin.group(3))})
            continue
        source = re.match(r"^ *(-?\d+) (\S.*)$", line)
        if source:
            current = None
            if source.group(2).endswith(" Packages"):  # not /var/lib/dpkg/status
                current = {"source": source.group(2), "priority": int(source.group(1)), "release": {}}
                entries.append(current)
            continue
        release = re.match(r"^ +release (.*)$", line)
        if release and current is not None:
            current["release"] = dict(part.split("=", 1) for part in release.group(1).split(",") if "=" in part)
    return entries


def parse_installed_candidate(text: str) -> dict[str, tuple[str, str]]:
    """`apt-cache policy PKG...`: installed and candidate version of each package."""
    result: dict[str, tuple[str, str]] = {}
    package, installed = None, ""
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            package, installed = line[:-1], ""
        elif line.strip().startswith("Installed:"):
            installed = line.partition(":")[2].strip()
        elif line.strip().startswith("Candidate:") and package:
            result[package] = (installed, line.partition(":")[2].strip())
    return result


def _inputs(facts: Facts) -> Mapping[str, Any]:
    inputs: Mapping[str, Any] = fact_value(facts, "patching_apt_inputs")
    if any("error" in suite for suite in inputs.get("suites", [])):
        raise MissingFact("patching_apt_inputs", f"apt-get indextargets failed: {inputs['suites']}", inputs)
    return inputs


def evaluate_security_suite(facts: Facts, params: Params) -> Outcome:
    """The release's security suite is among apt's index targets, its Release was fetched, and apt sees it
    labelled Debian-Security."""
    inputs = _inputs(facts)
    codename = str(inputs.get("codename") or "")
    if not codename:
        raise MissingFact("patching_apt_inputs", "no VERSION_CODENAME in /etc/os-release", inputs)
    suite = f"{codename}-security"
    suites = list(inputs.get("suites", []))
    sources = parse_source_priorities(command_output({"policy": inputs.get("policy") or {"error": "absent"}},
                                                     "policy"))
    seen = [entry for entry in sources if "source" in entry and entry["release"].get("n") == suite]
    configured = [s for s in suites if s.get("suite") == suite]
    observed: dict[str, Any] = {
        "release": codename, "security suite": suite,
        "configured suites (apt-get indextargets)": {f"{s['repo']} {s['suite']}": s.get("release_file") or
                                                     "never fetched" for s in suites},
        "security package files (apt-cache policy)": [
            {"source": e["source"], "priority": e["priority"], "label": e["release"].get("l")} for e in seen],
    }
    if not configured:
        return Outcome(Status.FAIL, f"{suite} is not among apt's sources ({len(suites)} suite(s) configured: "
                       f"{', '.join(sorted({s['suite'] for s in suites})) or 'none'}): no security update can "
                       "ever arrive", observed)
    unfetched = [f"{s['repo']} {s['suite']}" for s in configured if not s.get("release_file")]
    if unfetched:
        return Outcome(Status.FAIL, f"{suite} is configured but was never fetched: {', '.join(unfetched)}",
                       observed)
    if not any(e["release"].get("l") == "Debian-Security" for e in seen):
        return Outcome(Status.FAIL, f"apt sees no package file of {suite} labelled Debian-Security", observed)
    return Outcome(Status.PASS, f"{suite} is configured and fetched ({len(seen)} package file(s) labelled "
                   "Debian-Security)", observed)


def evaluate_pins_and_holds(facts: Facts, params: Params) -> Outcome:
    """No pin demotes the security origin (apt's own priorities), no held package has an update waiting."""
    inputs = _inputs(facts)
    entries = parse_source_priorities(command_output({"policy": inputs.get("policy") or {"error": "absent"}},
                                                     "policy"))
    problems = []
    for entry in entries:
        if "source" in entry and is_security_release(entry["release"]) and entry["priority"] < 500:
            problems.append(f"security source {entry['source']} has priority {entry['priority']} (< 500: its "
                            "updates are never candidates)")
        if "pinned_package" in entry and entry["priority"] < 500:
            problems.append(f"{entry['pinned_package']} is pinned to {entry['version']} with priority "
                            f"{entry['priority']}")
    held = str(command_output({"holds": inputs.get("holds") or {"error": "absent"}}, "holds")).split()
    versions = parse_installed_candidate(command_output(
        {"held": inputs.get("held_policy") or {"error": "absent"}}, "held")) if held else {}
    waiting = {name: v for name, v in versions.items() if v[0] != "(none)" and v[0] != v[1]}
    problems += [f"{name} is held (apt-mark hold) at {v[0]} with {v[1]} available" for name, v in waiting.items()]
    preference_files = [p["path"] for p in inputs.get("preferences", [])]
    if problems and preference_files:
        problems.append(f"preferences read: {', '.join(preference_files)}")
    observed = {
        "package files (priority)": {e["source"]: e["priority"] for e in entries if "source" in e},
        "pinned packages": [e for e in entries if "pinned_package" in e],
        "preferences files": inputs.get("preferences", []),
        "held packages": {name: {"installed": v[0], "candidate": v[1]} for name, v in versions.items()} or held,
    }
    return outcome(problems, f"no pin demotes the security origin ({len(observed['package files (priority)'])} "
                   f"package files, {len(preference_files)} preferences file(s)), {len(held)} held package(s) "
                   "with no update waiting", observed)


def evaluate_origins_declared(facts: Facts, params: Params) -> Outcome:
    """unattended-upgrades' origins and package blacklist are exactly the declared ones (apt-config dump)."""
    config = parse_apt_config(command_output(facts, "patching_apt_config"))
    origins = config.get("Unattended-Upgrade::Origins-Pattern", []) + config.get(
        "Unattended-Upgrade::Allowed-Origins", [])
    blacklist = config.get("Unattended-Upgrade::Package-Blacklist", [])
    declared_origins, declared_blacklist = list(params["origins"]), list(params["package_blacklist"])
    problems = []
    if extra := [o for o in origins if o not in declared_origins]:
        problems.append(f"undeclared origin(s): {', '.join(extra)}")
    if missing := [o for o in declared_origins if o not in origins]:
        problems.append(f"declared origin(s) missing: {', '.join(missing)}")
    if extra := [p for p in blacklist if p not in declared_blacklist]:
        problems.append(f"undeclared Package-Blacklist entries (never upgraded): {', '.join(extra)}")
    if missing := [p for p in declared_blacklist if p not in blacklist]:
        problems.append(f"declared Package-Blacklist entries missing: {', '.join(missing)}")
    observed = {"origins (apt-config dump)": origins, "declared origins": declared_origins,
                "package blacklist": blacklist, "declared blacklist": declared_blacklist}
    return outcome(problems, f"{len(origins)} origin(s) and {len(blacklist)} blacklist entr(ies), exactly as "
                   "declared", observed)


SECURITY_SUITE = Check(
    id="patching_security_suite_configured", control_id="PATCH-02",
    title="the release's security suite is configured in apt and fetched",
    facts=("patching_apt_inputs",), evaluate=evaluate_security_suite)
PINS_AND_HOLDS = Check(
    id="patching_no_pin_or_hold_blocks_updates", control_id="PATCH-02",
    title="no apt pin demotes the security origin and no held package has an update waiting",
    facts=("patching_apt_inputs",), evaluate=evaluate_pins_and_holds)
ORIGINS_DECLARED = Check(
    id="patching_unattended_origins_declared", control_id="PATCH-01",
    title="unattended-upgrades' origins and package blacklist are exactly the declared ones",
    facts=("patching_apt_config",), evaluate=evaluate_origins_declared)

PATCHING_INPUT_CHECKS = (SECURITY_SUITE, PINS_AND_HOLDS, ORIGINS_DECLARED)

PATCHING_CHECKS = (UNATTENDED_UPGRADES, AUTO_UPDATE_TIMERS, LAST_RUN, PENDING_SECURITY, LISTS_FRESH, REBOOT,
                   KERNEL, *PATCHING_INPUT_CHECKS)
