"""Fleet audit speed (issue 16): one host against Lynis on the same host, SSH sessions per host audit (counted
in the host's own sshd journal), fleets of lab hosts, and the same fleet with one silent host.

Run as root: `python -m bench.fleet [RELEASE] [FLEET SIZES...]` (replaces the lab of STOCKADE_LAB_ID, default
the bench's own id 90). Prints one JSON document; the figures go to bench/RESULTS.md by hand, beside the last
recorded ones. Never asserted in tests.
"""

from __future__ import annotations

import json
import os
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


def sessions_during(host: str, since: float, until: float) -> int:
    """SSH logins the host's sshd accepted in [since, until] (its own journal, read afterwards)."""
    out = ssh(host, f"sudo journalctl -q -o cat -u ssh --since @{int(since)} --until @{int(until) + 1}").stdout
    return sum(1 for line in out.splitlines() if line.startswith("Accepted publickey"))


def one_host(release: str) -> dict[str, Any]:
    lab.up(PATHS, 1, release)
    host = "lab-01"
    installed = ssh(host, "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q lynis >/dev/null 2>&1; "
                          "command -v lynis")
    audit(INVENTORY)  # warm: host keys, caches
    time.sleep(2)
    since = time.time()
    stockade_run = audit(INVENTORY)
    until = time.time()
    result: dict[str, Any] = {"stockade": stockade_run, "ssh_sessions": sessions_during(host, since, until)}
    if installed.returncode == 0:
        started = time.perf_counter()
        lynis = ssh(host, "sudo lynis audit system --quick --no-colors >/dev/null 2>&1; echo $?")
        result["lynis_s"] = round(time.perf_counter() - started, 2)
        result["lynis_exit"] = lynis.stdout.strip()
        result["lynis_over_stockade"] = round(result["lynis_s"] / stockade_run["seconds"], 1)
    else:
        result["lynis"] = f"not installed: {installed.stderr.strip()[-200:]}"
    return result


def fleet(count: int, release: str) -> dict[str, Any]:
    lab.up(PATHS, count, release)
    audit(INVENTORY)  # warm
    healthy = audit(INVENTORY)
    # The same fleet with one silent host: its input chain drops everything (lab-notes: simulating faults).
    netns = f"{PATHS.site.netns_prefix}lab-{count:02d}"
    table = "table inet bench_blackhole { chain input { type filter hook input priority -10; policy drop; }; }"
    subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input=table, text=True, check=True)
    try:
        silent = audit(INVENTORY, "--connect-timeout", "10")
    finally:
        subprocess.run(["ip", "netns", "exec", netns, "nft", "delete", "table", "inet", "bench_blackhole"],
                       check=False)
    per_host_cpu = round(healthy["controller_cpu_s"] / count, 3)
    return {"hosts": count, "healthy": healthy, "controller_cpu_s_per_host": per_host_cpu,
            "one_silent_connect_timeout_10s": silent}


def main(release: str = "13", *sizes: str) -> None:
    report: dict[str, Any] = {"release": release, "cores": os.cpu_count()}
    try:
        report["one_host"] = one_host(release)
        report["fleets"] = [fleet(int(size), release) for size in (sizes or ("10", "25", "50"))]
    finally:
        lab.down(PATHS, quiet=True)
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main(*sys.argv[1:])
