"""sslyze scan time of the TLS checks' probe (checks/probes/tls.py) for 1 and 10 endpoints.

A benchmark, not a test: `.venv/bin/python -m bench.tls_scan [ROUNDS]` starts 10 good local TLS servers
(tests/tls_servers.py, Python's ssl module, in a process of their own so they do not share the scanner's
interpreter), scans 1 and then all 10 concurrently, ROUNDS times (default 3), and prints one JSON document
of seconds (min, median, max). The issue's target: 10 endpoints in <= 3 s. With a lab up, lab hosts'
nginx endpoints can be added: `... -m bench.tls_scan 3 198.18.5.11:443:lab-01 ...` (ca file: first
web_edge_ca/ca.crt under inventory/).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from checks.probes.tls import Endpoint, scan_endpoints

REPO = Path(__file__).resolve().parents[1]


def timed(endpoints: list[Endpoint], ca_file: str, rounds: int) -> dict[str, Any]:
    seconds, statuses = [], set()
    for _ in range(rounds):
        started = time.perf_counter()
        results = scan_endpoints(endpoints, ca_file)
        seconds.append(time.perf_counter() - started)
        statuses |= {result["status"] for result in results}
    return {"endpoints": len(endpoints), "rounds": rounds, "min_s": round(min(seconds), 2),
            "median_s": round(statistics.median(seconds), 2), "max_s": round(max(seconds), 2),
            "statuses": sorted(statuses)}


def main(argv: list[str]) -> None:
    rounds = int(argv[0]) if argv else 3
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
        report: dict[str, Any] = {
            "sslyze": "6.3.1", "cpus": __import__("os").cpu_count(),
            "local_1": timed(local[:1], started["ca_file"], rounds),
            "local_10": timed(local, started["ca_file"], rounds),
        }
        if lab:
            ca_files = sorted(REPO.glob("inventory/*/web_edge_ca/ca.crt"))
            ca_file = str(ca_files[0]) if ca_files else started["ca_file"]
            report["lab_1"] = timed(lab[:1], ca_file, rounds)
            report[f"lab_{len(lab)}"] = timed(lab, ca_file, rounds)
            report[f"lab_{len(lab)}_plus_local_10"] = timed([*lab, *local], ca_file, rounds)
    finally:
        assert servers.stdin is not None
        servers.stdin.close()
        servers.wait(timeout=30)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
