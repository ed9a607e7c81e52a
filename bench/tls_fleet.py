"""One command for many TLS endpoints: `stockade tls` with 17 targets against sslyze's own batch CLI.

A benchmark, not a test: `.venv/bin/python -m bench.tls_fleet [ROUNDS] [ENDPOINTS]` starts ENDPOINTS
(default 17) good local TLS servers (tests/tls_servers.py, Python's ssl module, in a process of their own),
then, ROUNDS times (default 3), alternately runs as a user would:

- ours: `stockade tls 127.0.0.1:P1=localhost ... --ca-file CA -o DIR --format json` (every check of TLS-01..04,
  one sslyze Scanner for all targets, reports written);
- sslyze: `python -m sslyze --targets_in FILE --certinfo_ca_file CA <the probe's scans> --quiet --json_out
  FILE`: sslyze's own batch with the same scan commands as the probe (every suite of every version tried
  alone), the same servers; no checks, no report.

Both are whole processes (interpreter start-up and imports included). Prints one JSON document: wall
seconds per tool (min, median, max) and the ratio ours/sslyze of the medians. The issue's goal: within
1.5x of sslyze's own time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv/bin/python")
# The scans the tls_scan probe asks for (checks/probes/tls.py), as sslyze CLI options.
SSLYZE_COMMANDS = ("--certinfo", "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
                   "--heartbleed", "--openssl_ccs", "--robot", "--reneg", "--compression", "--elliptic_curves",
                   "--http_headers")


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[:3]} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def spread(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 2), "median": round(statistics.median(values), 2),
            "max": round(max(values), 2)}


def main(argv: list[str]) -> None:
    rounds = int(argv[0]) if argv else 3
    count = int(argv[1]) if len(argv) > 1 else 17
    servers = subprocess.Popen([PYTHON, str(REPO / "tests/tls_servers.py"), str(count)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert servers.stdout is not None
        ready = json.loads(servers.stdout.readline())
        ca_file, ports = ready["ca_file"], ready["ports"]
        ours_times, theirs_times = [], []
        with tempfile.TemporaryDirectory(prefix="stockade-bench-") as directory:
            targets = Path(directory) / "targets.txt"
            targets.write_text("".join(f"localhost:{port}{{127.0.0.1}}\n" for port in ports))  # host:port{ip}
            ours = [PYTHON, "-m", "stockade.cli", "tls", *(f"127.0.0.1:{port}=localhost" for port in ports),
                    "--ca-file", ca_file, "-o", str(Path(directory) / "reports"), "--format", "json"]
            theirs = [PYTHON, "-m", "sslyze", "--targets_in", str(targets), "--certinfo_ca_file", ca_file,
                      *SSLYZE_COMMANDS, "--mozilla_config=disable", "--quiet",
                      "--json_out", str(Path(directory) / "sslyze.json")]
            for _ in range(rounds):
                ours_times.append(timed(ours))
                theirs_times.append(timed(theirs))
        result = {"endpoints": count, "rounds": rounds,
                  "stockade_tls_s": spread(ours_times), "sslyze_batch_s": spread(theirs_times),
                  "ratio_ours_over_sslyze": round(statistics.median(ours_times) / statistics.median(theirs_times), 2)}
        print(json.dumps(result, indent=2))
    finally:
        if servers.stdin is not None:
            servers.stdin.close()
        servers.wait(timeout=30)


if __name__ == "__main__":
    main(sys.argv[1:])
