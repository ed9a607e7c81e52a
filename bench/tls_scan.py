"""sslyze scan time of the TLS checks' probe (checks/probes/tls.py) for 1 and 10 endpoints, beside its peer.

A benchmark, not a test: `.venv/bin/python -m bench.tls_scan [ROUNDS]` starts 10 good local TLS servers
(tests/tls_servers.py, Python's ssl module, in a process of their own so they do not share the scanner's
interpreter) and scans 1, then all 10 concurrently in one call, then all 10 as `stockade audit` does with 10
hosts (one probe call per host, 10 threads), ROUNDS times (default 5). The peer is sslyze's own way, run in
the same rounds right after ours so that both meet the same machine load: the same scan commands with
every suite of every version tried alone (`legacy_shortcut=False`, what the probe did before the
shortcut). Prints one JSON document: wall seconds (min, median, max), CPU seconds of the scanner and of the
servers (median per round), SYNs dropped by full accept queues, the peer's, and peer/ours ratios of the
medians. The issue's target: 10 endpoints in <= 3 s. With a lab up, lab hosts' nginx endpoints can be added:
`... -m bench.tls_scan 5 198.18.5.11:443:lab-01 ...` (ca file: first web_edge_ca/ca.crt under inventory/).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from checks.probes.tls import Endpoint, scan_endpoints

REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")

Scan = Callable[[list[Endpoint], str, bool], list[dict[str, Any]]]


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def listen_overflows() -> int:
    """SYNs dropped on a full accept queue (this network namespace, every listener: the local servers keep
    Python's default backlog of 5, and each drop costs its client a 1 s SYN retransmission)."""
    head, values = (line.split() for line in Path("/proc/net/netstat").read_text().splitlines()[:2])
    return int(dict(zip(head, values, strict=True))["ListenOverflows"])


def one_call(endpoints: list[Endpoint], ca_file: str, shortcut: bool) -> list[dict[str, Any]]:
    return scan_endpoints(endpoints, ca_file, legacy_shortcut=shortcut)


def per_host(endpoints: list[Endpoint], ca_file: str, shortcut: bool) -> list[dict[str, Any]]:
    """As the audit does: each host's probe call scans its own endpoint, hosts in threads."""
    with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
        return [result for results in pool.map(lambda e: scan_endpoints([e], ca_file, legacy_shortcut=shortcut),
                                               endpoints) for result in results]


def measure(scan: Scan, endpoints: list[Endpoint], ca_file: str, shortcut: bool, servers_pid: int) -> dict[str, Any]:
    overflows = listen_overflows()
    wall, cpu, servers_cpu = time.perf_counter(), time.process_time(), process_cpu_s(servers_pid)
    results = scan(endpoints, ca_file, shortcut)
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
            "servers_cpu": process_cpu_s(servers_pid) - servers_cpu, "overflows": listen_overflows() - overflows,
            "statuses": {result["status"] for result in results},
            "legacy_supported": sorted({version for result in results for version in ("SSL 2.0", "SSL 3.0",
                                        "TLS 1.0", "TLS 1.1") if result.get("protocols", {}).get(version, {})
                                        .get("supported")})}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [run["wall"] for run in runs]
    return {"wall_min_s": round(min(walls), 2), "wall_median_s": round(statistics.median(walls), 2),
            "wall_max_s": round(max(walls), 2),
            "cpu_median_s": round(statistics.median(run["cpu"] for run in runs), 2),
            "servers_cpu_median_s": round(statistics.median(run["servers_cpu"] for run in runs), 2),
            "syns_dropped_total": sum(run["overflows"] for run in runs),
            "statuses": sorted(set().union(*(run["statuses"] for run in runs))),
            "legacy_supported": sorted(set().union(*(run["legacy_supported"] for run in runs)))}


def timed(scan: Scan, endpoints: list[Endpoint], ca_file: str, rounds: int, servers_pid: int) -> dict[str, Any]:
    ours, peer = [], []
    for _ in range(rounds):  # interleaved: both meet the same load from whatever else runs on the machine
        ours.append(measure(scan, endpoints, ca_file, True, servers_pid))
        peer.append(measure(scan, endpoints, ca_file, False, servers_pid))
    mine, theirs = summary(ours), summary(peer)
    return {"endpoints": len(endpoints), "rounds": rounds, "stockade": mine, "peer_sslyze_every_suite": theirs,
            "peer_over_stockade_wall": round(theirs["wall_median_s"] / mine["wall_median_s"], 1),
            "peer_over_stockade_cpu": round(theirs["cpu_median_s"] / max(mine["cpu_median_s"], 0.01), 1)}


def main(argv: list[str]) -> None:
    rounds = int(argv[0]) if argv else 5
    lab = []
    for spec in argv[1:]:  # ADDRESS:PORT:SERVER_NAME
        address, port, server_name = spec.split(":")
        lab.append(Endpoint(address, int(port), server_name))
    servers = subprocess.Popen([sys.executable, str(REPO / "tests" / "tls_servers.py"), "10"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert servers.stdout is not None
        started = json.loads(servers.stdout.readline())
        local = [Endpoint("127.0.0.1", port, "localhost") for port in started["ports"]]
        ca = started["ca_file"]
        report: dict[str, Any] = {
            "sslyze": "6.3.1", "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg(),
            "local_1": timed(one_call, local[:1], ca, rounds, servers.pid),
            "local_10": timed(one_call, local, ca, rounds, servers.pid),
            "local_10_one_call_per_host": timed(per_host, local, ca, rounds, servers.pid),
        }
        if lab:
            ca_files = sorted(REPO.glob("inventory/*/web_edge_ca/ca.crt"))
            ca_file = str(ca_files[0]) if ca_files else ca
            report["lab_1"] = timed(one_call, lab[:1], ca_file, rounds, servers.pid)
            report[f"lab_{len(lab)}"] = timed(one_call, lab, ca_file, rounds, servers.pid)
            report[f"lab_{len(lab)}_plus_local_10"] = timed(one_call, [*lab, *local], ca_file, rounds, servers.pid)
        report["load_average_at_end"] = os.getloadavg()
    finally:
        assert servers.stdin is not None
        servers.stdin.close()
        servers.wait(timeout=30)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
