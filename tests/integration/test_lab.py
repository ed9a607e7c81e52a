"""`stockade lab`: real hosts come up reachable and distinct, and `down` leaves no trace."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import stockade

from stockade.lab.config import LabPaths, LabSite

# Labs with other STOCKADE_LAB_ID values may run beside this one; the snapshot covers this lab's
# names only, so their comings and goings do not disturb it.


def lab_processes(site: LabSite, state: Path) -> set[str]:
    """Processes this lab could have left behind: in its cgroups, or naming its addresses, files or machines."""
    markers = (f"198.18.{site.id}.", str(state), f"--machine={site.netns_prefix}")
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cgroup = (proc / "cgroup").read_text()
        except OSError:
            continue  # exited while we looked
        if f"/{site.cgroup_name}/" in cgroup or any(marker in cmdline for marker in markers):
            found.add(f"{proc.name} {cmdline.strip()}")
    return found


def machine_snapshot() -> dict[str, object]:
    """What `lab down` must restore: namespaces, mounts, network links and the lab's processes."""
    paths = LabPaths.from_env()
    site = paths.site
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {
        "netns": sorted(line for line in namespaces.splitlines() if line.startswith(site.netns_prefix)),
        "mounts": sorted(m for m in mounts if m.startswith((str(paths.state), "/run/netns"))
                         and not m.startswith("/run/netns/")),
        "links": sorted(name for name in (line.split(":")[1].strip() for line in links.splitlines())
                        if name.startswith((site.bridge, f"stk{site.id}v"))),
        "processes": lab_processes(site, paths.state),
        "run_dirs": sorted(str(p) for p in (Path("/run/netns"), Path("/run/systemd/nspawn")) if p.exists()),
    }


def test_up_gives_reachable_distinct_hosts_and_down_leaves_no_trace(tmp_path: Path) -> None:
    before = machine_snapshot()
    inventory_dir = tmp_path / "inventory"
    up = stockade("lab", "up", "--hosts", "3", "--release", "13", "--inventory-dir", str(inventory_dir),
                  check=True)
    paths = LabPaths.from_env(inventory_dir)
    try:
        hosts = [paths.site.host(index) for index in (1, 2, 3)]
        assert up.stdout.split() == [field for host in hosts for field in (host.name, host.address)]
        # Plain ssh with the lab key and host-key checking on against the recorded known_hosts.
        identities = set()
        for address in (host.address for host in hosts):
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
        site = LabPaths.from_env(inventory_dir).site
        assert up.stdout.split() == ["lab-01", site.host(1).address]
        namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert site.host(2).netns not in namespaces
    finally:
        stockade("lab", "down", "--inventory-dir", str(inventory_dir), check=True)
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert site.netns_prefix not in namespaces
