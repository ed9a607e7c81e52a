"""A VM lab host (`stockade lab up --vm`) beside a container lab host: boot, memory, harden, audit, reboot.

Run as root with your lab id: `STOCKADE_LAB_ID=N python -m bench.lab_vm [13] [--kinds vm,container]`
(replaces any running lab of that id). Prints one JSON document; nothing here is asserted by the tests.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from stockade.lab import lab
from stockade.lab.config import LabPaths

PATHS = LabPaths.from_env(Path("bench/.inventory-vm"))
INVENTORY = PATHS.inventory / "hosts.yml"
TAGS = "baseline,data_access"
CONTROLS = ",".join([*(f"BASE-{n:02d}" for n in range(1, 12)), "DAC-01", "AUD-01", "PATCH-03"])
DATA_VARS = {
    "data_access_service_accounts": ["printos"],
    "data_access_groups": [{"name": "data-access", "members": ["stockade"]}],
    "data_access_directories": [{"path": "/srv/customer-data", "owner": "printos", "group": "data-access",
                                 "mode": "2750"}],
}


def stockade(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "stockade", *args], capture_output=True, text=True, check=False,
                          timeout=3600)
    return time.monotonic() - started, proc


def ssh(command: str) -> str:
    return subprocess.run(["ssh", "-F", str(PATHS.ssh_config), "lab-01", command], capture_output=True,
                          text=True, timeout=600, check=False).stdout.strip()


def answers(address: str) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=1):
            return True
    except OSError:
        return False


def reboot_to_ssh(address: str) -> float:
    ssh("sudo systemctl reboot")
    started = time.monotonic()
    while answers(address) and time.monotonic() - started < 120:
        time.sleep(0.2)
    while not answers(address):
        if time.monotonic() - started > 600:
            raise RuntimeError("no SSH after the reboot")
        time.sleep(0.2)
    return time.monotonic() - started


def rss_mib() -> float | None:
    statuses = lab.status(PATHS)[1]
    return statuses[0].rss_mib


def audit_counts(out: Path) -> dict[str, int]:
    run = sorted(path for path in out.iterdir() if path.is_dir())[-1]
    counts: dict[str, int] = {}
    for finding in json.loads((run / "results.json").read_text())["findings"]:
        counts[finding["status"]] = counts.get(finding["status"], 0) + 1
    return counts


def one(kind: str, release: str, out: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"kind": kind}
    started = time.monotonic()
    report = lab.up(PATHS, 1, release, kind)
    result["up_seconds"] = round(time.monotonic() - started, 1)
    result["accelerator"] = report.accelerator
    address = report.hosts[0].address
    try:
        result["rss_mib_idle"] = rss_mib()
        document = yaml.safe_load(INVENTORY.read_text())
        document["all"]["children"]["lab"]["vars"].update(DATA_VARS)
        inventory = out / f"{kind}-hosts.yml"
        inventory.write_text(yaml.safe_dump(document))
        seconds, proc = stockade("harden", "-i", str(inventory), "--tags", TAGS)
        result["harden_seconds"], result["harden_rc"] = round(seconds, 1), proc.returncode
        seconds, proc = stockade("audit", "-i", str(inventory), "-o", str(out / kind), "--controls", CONTROLS)
        result["audit_seconds"], result["audit_rc"] = round(seconds, 1), proc.returncode
        result["audit_findings"] = audit_counts(out / kind)
        seconds, _ = stockade("audit", "-i", str(inventory), "-o", str(out / f"{kind}-all"))
        result["full_audit_seconds"] = round(seconds, 1)
        result["rss_mib_after_harden"] = rss_mib()
        result["reboot_to_ssh_seconds"] = round(reboot_to_ssh(address), 1)
    finally:
        started = time.monotonic()
        lab.down(PATHS, quiet=True)
        result["down_seconds"] = round(time.monotonic() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("release", nargs="?", default="13")
    parser.add_argument("--kinds", default="vm,container")
    args = parser.parse_args()
    out = Path("bench/.out-vm")
    out.mkdir(parents=True, exist_ok=True)
    load = Path("/proc/loadavg").read_text().split()[:3]
    results = [one(kind, args.release, out) for kind in args.kinds.split(",")]
    by_kind = {r["kind"]: r for r in results}
    ratios = {}
    if {"vm", "container"} <= by_kind.keys():
        for key in ("up_seconds", "harden_seconds", "audit_seconds", "full_audit_seconds", "reboot_to_ssh_seconds"):
            container = by_kind["container"].get(key)
            if container:
                ratios[f"{key} vm/container"] = round(by_kind["vm"][key] / container, 1)
    print(json.dumps({"release": args.release, "load_average_before": load, "results": results,
                      "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
