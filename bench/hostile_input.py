"""Each hostile or careless input of issue 17, timed and its peak memory measured, beside a valid run.

A benchmark, not a test: `.venv/bin/python -m bench.hostile_input [--repeat N]` writes each input into a temporary
directory, runs `python -m stockade audit ...` on it as a user would (a fresh process each time), N times, and
prints JSON: per case the exit code, the first line of stderr, the fastest wall time and the peak RSS (MB) of
the process and of the children it waited for (os.wait4: the ansible-inventory run, when there is one), and
the CPU seconds (user + system, the same processes), which a loaded machine inflates less than wall time. The
goal is exit 2 in under 2 s and 200 MB for every bad input; `ratio` is the case's wall time over the valid
run's (the same command on a valid inventory, selecting one manual control so that no host is contacted).
No host is ever contacted: bad input is refused first, and the valid run has no check to run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GOAL_SECONDS, GOAL_MB = 2.0, 200.0
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
GOOD = "all:\n  hosts:\n    web-1:\n      ansible_host: 127.0.0.1\n"
WAIVER = "  - {id: W-1, control: SSH-01, justification: j, approver: a, expires: '2030-01-01'}\n"


def noise(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)  # noqa: S311 - reproducible garbage, not a secret


def printable(seed: int, size: int) -> str:
    return bytes(33 + byte % 94 for byte in noise(seed, size)).decode()


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def inventory(directory: Path, content: str | bytes, name: str = "hosts.yml",
              group_vars: str | None = None) -> list[str]:
    if group_vars is not None:
        write(directory / "group_vars" / "all.yml", group_vars)
    return ["-i", str(write(directory / name, content))]


def good(directory: Path) -> list[str]:
    return inventory(directory, GOOD)


def waivers_100mb(path: Path) -> Path:
    """Written in chunks: a forked child counts its parent's pages in its peak RSS until it execs."""
    chunk = (WAIVER * 10_000).encode()
    with path.open("wb") as stream:
        stream.write(b"waivers:\n")
        for _ in range(100 * 1000 * 1000 // len(chunk)):
            stream.write(chunk)
    return path


def sparse(path: Path, size: int) -> Path:
    with path.open("wb") as stream:
        stream.truncate(size)
    return path


CASES: dict[str, Callable[[Path], list[str]]] = {
    "valid inventory (baseline, exit 0)": good,
    "inventory: 1 MiB of random binary bytes": lambda d: inventory(d, noise(1, 1024 * 1024), "hosts"),
    "inventory: random printable garbage (INI)": lambda d: inventory(d, printable(2, 4096), "hosts"),
    "inventory: host 'http://[::1' (was: Invalid IPv6 URL, exit 3)": lambda d: inventory(
        d, "[web]\nhttp://[::1 x=1\n", "hosts"),
    "inventory: ansible_host '[::1' (checked after ansible-inventory)": lambda d: inventory(
        d, "all:\n  hosts:\n    web-1: {ansible_host: '[::1'}\n"),
    "inventory: YAML alias bomb (was 171 s, 5.7 GB)": lambda d: inventory(
        d, "all:\n  hosts:\n    web-1:\n  vars:\n" + "".join(f"    {line}\n" for line in BOMB.splitlines())),
    "group_vars/all.yml: YAML alias bomb": lambda d: inventory(d, GOOD, group_vars=BOMB),
    "inventory: nested 100,000 deep": lambda d: inventory(d, "all: " + "[" * 100_000 + "]" * 100_000),
    "inventory: 9 MiB file": lambda d: inventory(d, GOOD + "#" * (9 * 1024 * 1024)),
    "inventory: 100 MB (sparse) file": lambda d: ["-i", str(sparse(d / "hosts.yml", 100 * 1000 * 1000))],
    "stockade_params TLS-01 ports ['22', 'x', {a: 1}]": lambda d: inventory(
        d, GOOD, group_vars="stockade_params: {TLS-01: {ports: ['22', 'x', {a: 1}]}}\n"),
    "stockade_params SSH-04 max_auth_tries -1": lambda d: inventory(
        d, GOOD, group_vars="stockade_params: {SSH-04: {max_auth_tries: -1}}\n"),
    "tls_endpoints port 70000": lambda d: inventory(
        d, GOOD + "      tls_endpoints: [{port: 70000}]\n"),
    "waivers: 100 MB file (was 102 s, 1.9 GB)": lambda d: [
        *good(d), "--waivers", str(waivers_100mb(d / "waivers.yml"))],
    "waivers: nested 100,000 deep (was exit 3)": lambda d: [
        *good(d), "--waivers", str(write(d / "waivers.yml", "waivers: " + "[" * 100_000 + "]" * 100_000))],
    "waivers: YAML alias bomb": lambda d: [
        *good(d), "--waivers", str(write(d / "waivers.yml", BOMB.replace("a:", "waivers: []\nx:", 1)))],
    "attestations: random binary bytes": lambda d: [
        *good(d), "--attestations", str(write(d / "attestations.yml", noise(3, 65536)))],
}


def run_once(args: list[str], output: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "stockade", "audit", *args, "--controls", "HOST-01", "-o", str(output),
               "--format", "json"]
    started = time.monotonic()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        lines = stderr.read().decode(errors="replace").splitlines()
    message = next((line for line in lines if line.startswith("stockade:")), lines[0] if lines else "")
    return {"exit": process.returncode, "seconds": round(wall, 3),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "message": message[:160]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for number, (name, build) in enumerate(CASES.items()):
            directory = Path(scratch) / f"case{number}"
            directory.mkdir()
            case_args = build(directory)
            runs = [run_once(case_args, directory / "out") for _ in range(args.repeat)]
            best = min(runs, key=lambda run: run["seconds"])
            best["peak_rss_mb"] = max(run["peak_rss_mb"] for run in runs)
            best["cpu_seconds"] = min(run["cpu_seconds"] for run in runs)
            results[name] = best
    baseline = results["valid inventory (baseline, exit 0)"]["seconds"]
    for name, result in results.items():
        result["ratio_to_valid_run"] = round(result["seconds"] / baseline, 2)
        bad = not name.startswith("valid")
        result["goal_met"] = not bad or (result["exit"] == 2 and result["seconds"] < GOAL_SECONDS
                                         and result["peak_rss_mb"] < GOAL_MB)
    print(json.dumps({"load_average": os.getloadavg(), "repeat": args.repeat, "cases": results}, indent=2))


if __name__ == "__main__":
    main()
