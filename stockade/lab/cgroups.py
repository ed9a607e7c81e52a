"""One cgroup per host, so each container's systemd has a tree of its own and teardown finds every process."""

from __future__ import annotations

from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def hierarchies() -> list[Path]:
    """The hierarchies nspawn's systemd needs: name=systemd and unified on a hybrid machine, else the root."""
    hybrid = [CGROUP_ROOT / "systemd", CGROUP_ROOT / "unified"]
    present = [path for path in hybrid if (path / "cgroup.procs").exists()]
    return present or [CGROUP_ROOT]


def host_cgroups(lab: str, host_name: str) -> list[Path]:
    return [root / lab / host_name for root in hierarchies()]


def create(lab: str, host_name: str) -> list[Path]:
    paths = host_cgroups(lab, host_name)
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
    return paths


def lab_pids(lab: str) -> set[int]:
    """Every process in the lab's cgroups: the launchers and everything the containers started."""
    pids: set[int] = set()
    for root in hierarchies():
        for procs in (root / lab).rglob("cgroup.procs"):
            try:
                pids.update(int(line) for line in procs.read_text().split())
            except FileNotFoundError:
                continue
    return pids


def remove_all(lab: str) -> None:
    # cgroup directories can only be removed empty and bottom-up.
    for root in hierarchies():
        top = root / lab
        if not top.exists():
            continue
        children = [p for p in top.rglob("*") if p.is_dir()]
        for path in sorted(children, key=lambda p: len(p.parts), reverse=True):
            path.rmdir()
        top.rmdir()
