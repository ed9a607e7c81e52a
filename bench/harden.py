"""How long `stockade harden` takes: a fresh lab host hardened, the idempotent re-run, the check run, beside a base.

A benchmark, not a test (run as root, with your STOCKADE_LAB_ID):

    .venv/bin/python -m bench.harden [--base REV] [--variants base,plain,mitogen] [--hosts 1,3,10]
                                     [--release 13] [--top 12] [--no-check]

Variants: base is REV's roles/, playbooks/ and ansible.cfg (read with `git archive`) run with Ansible's linear
strategy, as REV's `stockade harden` did; plain is the working tree with the linear strategy; mitogen is the
working tree as `stockade harden` runs it now (Mitogen's strategy). For each host count and each variant in
turn (so the variants of one count meet the same machine load), a fresh lab is booted and hardened with
site.yml (security updates included: PATCH-02 runs unattended-upgrade), hardened again (must be changed=0)
and run with --check --diff (must be changed=0); the lab is torn down. The JSON printed gives per run the wall
and controller CPU seconds, the changed count per host, seconds per role and the slowest tasks (a callback of
our own, bench/callback_plugins/task_timer.py, as ansible.posix.profile_tasks is not installed), and the
ratios of the first variant's times to the others'. The machine is shared: compare the variants of one run
(the load average is printed), never runs of different days. Targets (issue 16): one fresh host <= 90 s,
re-run <= 20 s with changed=0, 10 hosts <= 180 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

from stockade.harden import harden_environment, mitogen_strategy_dir

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
VARIANT_FILES = ["ansible.cfg", "playbooks", "roles", "galaxy.yml", "meta", "collections"]


def extract(rev: str, into: Path) -> Path:
    """REV's Ansible side (whatever of VARIANT_FILES it has) under INTO."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-tree", "--name-only", rev], check=True,
                            capture_output=True, text=True).stdout.split()
    paths = [name for name in VARIANT_FILES if name in listed]
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, *paths], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="tar")
    return into


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def lab(*args: str) -> None:
    subprocess.run([str(BIN / "stockade"), "lab", *args], check=True, cwd=REPO, capture_output=True, text=True)


def playbook(root: Path, mitogen: bool, inventory: Path, times: Path, *extra: str) -> dict[str, Any]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(root / "ansible.cfg"), STOCKADE_BENCH_TASK_TIMES=str(times),
               ANSIBLE_CALLBACK_PLUGINS=str(REPO / "bench" / "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="task_timer", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("ANSIBLE_STRATEGY", None)
    env.pop("ANSIBLE_STRATEGY_PLUGINS", None)
    # `stockade harden`'s own choice (Mitogen when installed), or Ansible's linear strategy.
    env = harden_environment(dict(env, STOCKADE_MITOGEN="1" if mitogen else "0"))
    cpu, started = children_cpu(), time.perf_counter()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(root / "playbooks" / "site.yml"),
                           *extra], capture_output=True, text=True, env=env, check=False)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    recap = {host: {"changed": int(changed), "failed": int(failed) + int(unreachable)}
             for host, _ok, changed, unreachable, failed in RECAP.findall(proc.stdout)}
    result: dict[str, Any] = {"wall_s": round(wall, 1), "controller_cpu_s": round(cpu, 1), "rc": proc.returncode,
                              "changed": {host: value["changed"] for host, value in recap.items()}}
    if proc.returncode != 0 or any(value["failed"] for value in recap.values()):
        result["output_tail"] = proc.stdout[-3000:] + proc.stderr[-1000:]
    if times.exists():
        tasks = json.loads(times.read_text())
        result["tasks"] = len(tasks)
        result["slowest"] = [f"{t['seconds']:6.1f} s  {t['role'] + ' : ' if t['role'] else ''}{t['task']}"
                             for t in sorted(tasks, key=lambda t: -t.get("seconds", 0))[:TOP]]
        by_role: dict[str, float] = {}
        for t in tasks:
            by_role[t["role"] or "(play)"] = by_role.get(t["role"] or "(play)", 0.0) + t.get("seconds", 0.0)
        result["by_role_s"] = {role: round(s, 1) for role, s in sorted(by_role.items(), key=lambda kv: -kv[1])}
        times.unlink()
    return result


def measure(root: Path, mitogen: bool, hosts: int, release: str, check: bool, work: Path) -> dict[str, Any]:
    inventory_dir = work / "inventory"
    lab("up", "--hosts", str(hosts), "--release", release, "--inventory-dir", str(inventory_dir))
    try:
        inventory, times = inventory_dir / "hosts.yml", work / "times.json"
        runs: dict[str, Any] = {}
        for kind, extra in [("first", []), ("rerun", []), ("check", ["--check", "--diff"])][:3 if check else 2]:
            runs[kind] = playbook(root, mitogen, inventory, times, *extra)
            print(f"  {work.name} {kind}: {runs[kind]['wall_s']} s, changed {runs[kind]['changed']}",
                  file=sys.stderr, flush=True)
        return runs
    finally:
        lab("down", "--inventory-dir", str(inventory_dir))


TOP = 12


def main() -> int:
    global TOP
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="git revision to measure beside the working tree (e.g. a commit before)")
    parser.add_argument("--variants", default="base,mitogen",
                        help="base (REV, Ansible's linear strategy), plain (the tree, linear), mitogen (the tree as "
                             "`stockade harden` runs it); comma separated, in this order per host count")
    parser.add_argument("--hosts", default="1,3", help="host counts, comma separated (default 1,3)")
    parser.add_argument("--release", default="13", choices=["12", "13"])
    parser.add_argument("--top", type=int, default=12, help="slowest tasks listed per run")
    parser.add_argument("--no-check", action="store_true", help="skip the --check --diff run")
    args = parser.parse_args()
    TOP = args.top
    if os.geteuid() != 0:
        parser.error("the lab needs root")
    report: dict[str, Any] = {"release": args.release, "lab_id": os.environ.get("STOCKADE_LAB_ID", "0"),
                              "base": args.base, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="stockade-bench-harden-") as tmp:
        wanted = args.variants.split(",")
        if "base" in wanted and not args.base:
            parser.error("the base variant needs --base REV")
        if "mitogen" in wanted and mitogen_strategy_dir() is None:
            parser.error("the mitogen variant needs Mitogen installed (pip install mitogen)")
        variants: dict[str, tuple[Path, bool]] = {}
        for name in wanted:
            if name == "base":
                variants[name] = (extract(args.base, Path(tmp) / "base"), False)
            elif name in ("plain", "mitogen"):
                variants[name] = (REPO, name == "mitogen")
            else:
                parser.error(f"unknown variant {name}")
        for hosts in (int(n) for n in args.hosts.split(",")):
            for name, (root, mitogen) in variants.items():
                load = os.getloadavg()[0]
                runs = measure(root, mitogen, hosts, args.release, not args.no_check, Path(tmp) / f"{name}-{hosts}")
                report["runs"].setdefault(str(hosts), {})[name] = {"load_before": round(load, 2), **runs}
                summary = (f"{kind} {run['wall_s']} s changed={sorted(set(run['changed'].values()))}"
                           for kind, run in runs.items())
                print(f"{name} x{hosts}: " + ", ".join(summary), file=sys.stderr)
            pair = report["runs"][str(hosts)]
            first = next(iter(variants))
            for name in list(variants)[1:]:
                base, current = pair[first], pair[name]
                pair[f"ratio_{first}_over_{name}"] = {kind: round(base[kind]["wall_s"] / current[kind]["wall_s"], 2)
                                                      for kind in current
                                                      if isinstance(current[kind], dict) and kind in base}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
