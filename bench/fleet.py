"""Fleet audit speed (issue 16): one hardened host against Lynis on the same host, SSH sessions per host audit
(counted in the host's own sshd journal), fleets of lab hosts, and the same fleet plus one silent host.

Run as root: `python -m bench.fleet [RELEASE] [FLEET SIZES...]` (replaces the lab of STOCKADE_LAB_ID, default
the bench's own id 90; `make bench` runs it). Prints one JSON document in which every figure stands beside the
last recorded one (the JSON block of bench/RESULTS.md's fleet section) with the ratio last/now; the new
figures go to bench/RESULTS.md by hand. Never asserted in tests.

The fleets are fresh (not hardened) hosts: hardening 50 hosts on 2 cores takes far longer than auditing them.
Each fleet of N is booted with N + 1 hosts: N healthy ones audited with `--limit '!lab-<N+1>'`, then all of
them with lab-<N+1> black-holed (its input chain drops everything, as a dead host looks from outside).
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("STOCKADE_LAB_ID", "90")

from stockade.lab import lab
from stockade.lab.config import LabPaths

PATHS = LabPaths.from_env(Path("bench/.inventory-fleet"))
INVENTORY = PATHS.inventory / "hosts.yml"
STOCKADE = [sys.executable, "-m", "stockade"]
# testinfra's inventory reader runs `ansible-inventory` from PATH: the venv's, as `make bench` has it.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
RESULTS = Path(__file__).with_name("RESULTS.md")


def last_recorded() -> dict[str, Any]:
    """The last recorded figures: the JSON block after the fleet section's heading in RESULTS.md."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    blocks = re.findall(r"<!-- bench/fleet.py last -->\s*```json\n(.*?)```", text, re.DOTALL)
    return json.loads(blocks[-1]) if blocks else {}


def beside(now: float, last: Any) -> dict[str, Any]:
    """A time with the last recorded one and the ratio last/now (> 1: faster now)."""
    if not isinstance(last, int | float) or not now:
        return {"seconds": now, "last_seconds": None}
    return {"seconds": now, "last_seconds": last, "last_over_now": round(last / now, 2)}


def ssh(host: str, command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ssh", "-F", str(PATHS.ssh_config), host, command], capture_output=True, text=True,
                          timeout=timeout, check=False)


def audit(inventory: Path, *extra: str) -> dict[str, Any]:
    """One `stockade audit` as a user runs it: wall time and the controller's CPU time (all its processes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([*STOCKADE, "audit", "-i", str(inventory), "-o", "bench/.reports", "--format", "json",
                           "--history", "bench/.reports/history.sqlite", *extra],
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": round(seconds, 2), "controller_cpu_s": round(cpu, 2), "exit": proc.returncode,
            "summary": proc.stderr.strip().splitlines()[-2:] if proc.stderr else []}


def sessions_during(host: str, since: float, until: float) -> dict[str, int]:
    """SSH logins the host's sshd accepted in [since, until] (its own journal, read afterwards), by method:
    the collector's one session is a publickey login of the automation account; the MFA-01 probe's are the
    elected accounts' keyboard-interactive logins and the exempt accounts' key-alone ones."""
    out = ssh(host, f"sudo journalctl -q -o cat -u ssh --since @{int(since)} --until @{int(until) + 1}").stdout
    methods: dict[str, int] = {}
    for line in out.splitlines():
        login = re.match(r"Accepted (\S+) for ", line)  # not "Accepted key ... found at": a key lookup
        if login:
            methods[login.group(1)] = methods.get(login.group(1), 0) + 1
    return {"total": sum(methods.values()), **methods}


def one_host(release: str, last: dict[str, Any]) -> dict[str, Any]:
    lab.up(PATHS, 1, release)
    host = "lab-01"
    started = time.perf_counter()
    harden = subprocess.run([*STOCKADE, "harden", "-i", str(INVENTORY)], capture_output=True, text=True,
                            check=False)
    harden_s = round(time.perf_counter() - started, 1)
    installed = ssh(host, "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q lynis 2>&1 | tail -3; "
                          "sudo sh -c 'command -v lynis'")
    audit(INVENTORY)  # warm: host keys, caches
    time.sleep(2)
    since = time.time()
    stockade_run = audit(INVENTORY)
    until = time.time()
    result: dict[str, Any] = {
        "harden_exit": harden.returncode, "harden_s": harden_s,
        "stockade": {**stockade_run, **beside(stockade_run["seconds"], last.get("one_host_s"))},
        "ssh_sessions": sessions_during(host, since, until)}
    if installed.returncode == 0:
        started = time.perf_counter()
        lynis = ssh(host, "sudo lynis audit system --quick --no-colors >/dev/null 2>&1; echo $?")
        result["lynis_s"] = round(time.perf_counter() - started, 2)
        result["lynis_exit"] = lynis.stdout.strip()
        result["lynis_over_stockade"] = round(result["lynis_s"] / stockade_run["seconds"], 1)
    else:
        result["lynis"] = f"not installed: {(installed.stdout + installed.stderr).strip()[-300:]}"
    return result


def blackhole(host: str, on: bool) -> None:
    netns = f"{PATHS.site.netns_prefix}{host}"
    if on:
        table = "table inet bench_blackhole { chain input { type filter hook input priority -10; policy drop; }; }"
        subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input=table, text=True, check=True)
    else:
        subprocess.run(["ip", "netns", "exec", netns, "nft", "delete", "table", "inet", "bench_blackhole"],
                       check=False)


def fleet(count: int, release: str, last: dict[str, Any]) -> dict[str, Any]:
    lab.up(PATHS, count + 1, release)
    silent_host = f"lab-{count + 1:02d}"
    healthy_only = ("--limit", f"!{silent_host}")
    audit(INVENTORY, *healthy_only)  # warm
    healthy = audit(INVENTORY, *healthy_only)
    blackhole(silent_host, True)
    try:
        silent = audit(INVENTORY, "--connect-timeout", "10")
    finally:
        blackhole(silent_host, False)
    recorded = last.get("fleets", {}).get(str(count), {})
    return {"hosts": count,
            "healthy": {**healthy, **beside(healthy["seconds"], recorded.get("healthy_s"))},
            "controller_cpu_s_per_host": round(healthy["controller_cpu_s"] / count, 3),
            "plus_one_silent_connect_timeout_10s": {**silent, **beside(silent["seconds"], recorded.get("silent_s"))}}


def main(release: str = "13", *sizes: str) -> None:
    last = last_recorded()
    report: dict[str, Any] = {"release": release, "cores": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    try:
        report["one_host"] = one_host(release, last)
        report["fleets"] = [fleet(int(size), release, last) for size in (sizes or ("10", "25", "50"))]
    finally:
        lab.down(PATHS, quiet=True)
    report["load_average_at_end"] = os.getloadavg()
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main(*sys.argv[1:])
