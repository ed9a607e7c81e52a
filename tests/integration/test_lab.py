"""`stockade lab`: real hosts come up reachable and distinct, and `down` leaves no trace."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import stockade

from stockade.lab.config import CGROUP_NAME, LabPaths

# What marks a process as the lab's: its address range, its state directory, its machine names.
COMMAND_MARKERS = ("198.18.", "/var/lib/stockade", "--machine=lab-")


def lab_processes() -> set[str]:
    """Processes the lab could have left behind: anything in its cgroups or naming its addresses or files."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cgroup = (proc / "cgroup").read_text()
        except OSError:
            continue  # exited while we looked
        if f"/{CGROUP_NAME}/" in cgroup or any(marker in cmdline for marker in COMMAND_MARKERS):
            found.add(f"{proc.name} {cmdline.strip()}")
    return found


def machine_snapshot() -> dict[str, object]:
    """What `lab down` must restore: namespaces, mounts, network links and the lab's processes."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return {
        "netns": subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout,
        "mounts": sorted(mounts),
        "links": sorted(line.split(":")[1].strip() for line in links.splitlines()),
        "processes": lab_processes(),
    }


def test_up_gives_reachable_distinct_hosts_and_down_leaves_no_trace(tmp_path: Path) -> None:
    before = machine_snapshot()
    inventory_dir = tmp_path / "inventory"
    up = stockade("lab", "up", "--hosts", "3", "--release", "13", "--inventory-dir", str(inventory_dir),
                  check=True)
    paths = LabPaths.from_env(inventory_dir)
    try:
        assert up.stdout.split() == ["lab-01", "198.18.0.11", "lab-02", "198.18.0.12", "lab-03", "198.18.0.13"]
        # Plain ssh with the lab key and host-key checking on against the recorded known_hosts.
        identities = set()
        for address in ("198.18.0.11", "198.18.0.12", "198.18.0.13"):
            result = subprocess.run(
                ["ssh", "-i", str(paths.key), "-o", f"UserKnownHostsFile={paths.known_hosts}",
                 "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"stockade@{address}",
                 "hostname; cat /etc/machine-id; sudo -n ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub;"
                 " systemctl is-system-running; cat /proc/1/comm"],
                capture_output=True, text=True, timeout=30, check=False)
            assert result.returncode == 0, result.stderr
            hostname, machine_id, host_key, system_state, pid1 = result.stdout.splitlines()
            assert (system_state, pid1) == ("running", "systemd")
            identities.add((hostname, machine_id, host_key.split()[1]))
        assert len(identities) == 3, "every host must have its own name, machine id and host key"
        assert {name for name, _, _ in identities} == {"lab-01", "lab-02", "lab-03"}
        # apt reaches the Debian mirror through the caching proxy on the bridge.
        update = subprocess.run(["ssh", "-F", str(paths.ssh_config), "lab-02", "sudo apt-get update"],
                                capture_output=True, text=True, timeout=300, check=False)
        assert update.returncode == 0, update.stdout + update.stderr
        assert "deb.debian.org" in update.stdout
        status = stockade("lab", "status", "--inventory-dir", str(inventory_dir))
        assert status.returncode == 0
        assert status.stdout.count("ssh up") == 3
        assert "lab-01" in (inventory_dir / "hosts.yml").read_text()
    finally:
        stockade("lab", "down", "--inventory-dir", str(inventory_dir), check=True)
    assert machine_snapshot() == before
    assert not (inventory_dir / "hosts.yml").exists()
    assert stockade("lab", "status").returncode != 0


def test_up_after_a_crash_cleans_the_leftovers_first(tmp_path: Path) -> None:
    inventory_dir = tmp_path / "inventory"
    stockade("lab", "up", "--hosts", "2", "--release", "12", "--inventory-dir", str(inventory_dir), check=True)
    # A crash: the state file is gone but hosts, namespaces and mounts are all still there.
    LabPaths.from_env(inventory_dir).state_file.unlink()
    try:
        up = stockade("lab", "up", "--hosts", "1", "--release", "12", "--inventory-dir", str(inventory_dir),
                      check=True)
        assert up.stdout.split() == ["lab-01", "198.18.0.11"]
        namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert "stk-lab-02" not in namespaces
    finally:
        stockade("lab", "down", "--inventory-dir", str(inventory_dir), check=True)
    assert "stk-" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
