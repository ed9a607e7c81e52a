"""Lab boot time and memory per host, and a Stockade audit against testinfra's one-command-per-fact style.

Run as root: `make bench` (replaces any running lab). Prints one JSON document.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testinfra.backend import base

from checks.registry import ALL_CHECKS
from stockade.engine.audit import plan_audit, run_audit
from stockade.engine.targets import load_targets
from stockade.lab import lab
from stockade.lab.config import LabPaths
from stockade.project import use_ansible_environment

PATHS = LabPaths.from_env(Path("bench/.inventory"))
INVENTORY = PATHS.inventory / "hosts.yml"


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


@contextmanager
def counting_remote_commands() -> Iterator[list[int]]:
    """Count the SSH sessions testinfra opens (its local `ansible-inventory` call is not a round trip)."""
    counter = [0]
    original = base.BaseBackend.run_local

    def counted(self: base.BaseBackend, command: str, *args: str) -> Any:
        counter[0] += command.startswith("ssh ")
        return original(self, command, *args)

    base.BaseBackend.run_local = counted  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        base.BaseBackend.run_local = original  # type: ignore[method-assign]


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def peer_testinfra_per_fact() -> None:
    """The peer: pytest-testinfra's usual style, one remote command per fact, hosts one after another."""
    commands = {"sshd_effective": ["/usr/sbin/sshd", "-T"],
                "sshd_effective_root": ["/usr/sbin/sshd", "-T", "-C", "user=root,host=localhost,addr=127.0.0.1"]}
    facts = sorted({fact for check in ALL_CHECKS for fact in check.fact_names})
    for target in load_targets(INVENTORY):
        for fact in facts:
            target.host.run(" ".join(["%s"] * len(commands[fact])), *commands[fact])


def bench_boot(count: int, release: str) -> dict[str, float]:
    lab.down(PATHS, quiet=True)
    before = mem_available_mib()
    seconds, _ = timed(lambda: lab.up(PATHS, count, release))
    time.sleep(2)  # let the hosts settle before reading memory
    return {"hosts": count, "up_s": round(seconds, 2),
            "mib_per_host": round((before - mem_available_mib()) / count, 1)}


def bench_audit(count: int) -> dict[str, Any]:
    use_ansible_environment()
    with counting_remote_commands() as stockade_commands:
        stockade_s, result = timed(lambda: run_audit(plan_audit(), load_targets(INVENTORY), str(INVENTORY)))
    with counting_remote_commands() as peer_commands:
        peer_s, _ = timed(peer_testinfra_per_fact)
    return {
        "hosts": count, "host_findings": sum(1 for f in result.findings if f.host != "(organisation)"),
        "stockade_s": round(stockade_s, 2), "stockade_commands_per_host": stockade_commands[0] / count,
        "peer_s": round(peer_s, 2), "peer_commands_per_host": peer_commands[0] / count,
        "peer_over_stockade": round(peer_s / stockade_s, 1),
    }


def main(release: str = "13") -> None:
    report: dict[str, Any] = {"release": release, "boot": [], "audit": []}
    try:
        for count in (1, 3, 10, 30):
            report["boot"].append(bench_boot(count, release))
            if count != 3:
                report["audit"].append(bench_audit(count))
        report["down_s"] = round(timed(lambda: lab.down(PATHS, quiet=True))[0], 2)
    finally:
        lab.down(PATHS, quiet=True)
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main(*sys.argv[1:])
