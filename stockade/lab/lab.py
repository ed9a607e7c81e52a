"""`stockade lab up|status|down`: boot, describe and remove the whole lab."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from stockade.errors import StockadeError, UsageError
from stockade.lab import cgroups, hosts, image, leftovers, network, proxy, vm
from stockade.lab.config import MAX_HOSTS, LabHost, LabPaths, release_codename
from stockade.lab.inventory import write_inventory, write_ssh_config
from stockade.lab.system import require_tools, run

TOOLS = ("debootstrap", "systemd-nspawn", "ip", "mount", "umount", "ssh", "ssh-keygen", "ssh-keyscan",
         "apt-cacher-ng", "chroot")
BOOT_TIMEOUT = 120
KINDS = ("container", "vm")
# Each booted systemd holds inotify instances; the machine's default of 128 runs out near 18 hosts.
INOTIFY_SYSCTL = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_NEEDED_PER_HOST = 8
# Where Ansible keeps its SSH connection masters (its default control_path_dir).
ANSIBLE_CONTROL_PATH = "~/.ansible/cp/%C"


@dataclass(frozen=True)
class UpReport:
    release: str
    hosts: tuple[LabHost, ...]
    inventory: Path
    seconds: float
    image_seconds: float
    kind: str = "container"
    accelerator: str | None = None  # a VM lab's: kvm or tcg


def _preflight(count: int, release: str, kind: str = "container") -> str:
    codename = release_codename(release)
    if not 1 <= count <= MAX_HOSTS:
        raise UsageError(f"--hosts must be between 1 and {MAX_HOSTS}, got {count}")
    if os.geteuid() != 0:
        raise UsageError("the lab needs root (namespaces, mounts, systemd-nspawn): run it as root")
    require_tools(TOOLS)
    if kind == "vm":
        require_tools(vm.TOOLS)
    return codename


def up(paths: LabPaths, count: int, release: str, kind: str = "container") -> UpReport:
    if kind not in KINDS:
        raise UsageError(f"unknown lab host kind {kind!r}: choose one of {', '.join(KINDS)}")
    codename = _preflight(count, release, kind)
    down(paths, quiet=True)  # a crashed run's leftovers first
    if kind == "vm":
        return _up_vm(paths, count, release, codename)
    started = time.monotonic()
    lower = image.ensure_image(paths.image_dir(codename), codename)
    image_seconds = time.monotonic() - started
    lab_hosts = tuple(paths.site.host(index) for index in range(1, count + 1))
    try:
        _boot(paths, lower, lab_hosts, release)
    except BaseException:
        down(paths, quiet=True)
        raise
    inventory = write_inventory(paths, lab_hosts, release)
    return UpReport(release, lab_hosts, inventory, time.monotonic() - started, image_seconds)


def _boot(paths: LabPaths, lower: Path, lab_hosts: tuple[LabHost, ...], release: str) -> None:
    paths.state.mkdir(parents=True, exist_ok=True)
    paths.state.chmod(0o700)
    _write_state(paths, release, lab_hosts)
    leftovers.record(paths.state / "machine-paths.json")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "stockade-lab", "-f", str(paths.key)])
    public_key = paths.key.with_suffix(".pub").read_text()
    _raise_inotify_limit(paths, len(lab_hosts))
    network.create_bridge(paths.site)
    proxy.start(paths.site, paths.state, paths.apt_cache)
    launchers = {}
    for host in lab_hosts:
        host_dir = paths.host_dir(host)
        root = hosts.mount_overlay(lower, host_dir)
        hosts.personalise(root, host, public_key)
        network.create_host_network(host)
        launchers[host] = hosts.launch(host, root, host_dir)
    deadline = time.monotonic() + BOOT_TIMEOUT
    with ThreadPoolExecutor(max_workers=min(16, len(lab_hosts))) as pool:
        list(pool.map(lambda h: hosts.wait_for_ssh(h, deadline, launchers[h]), lab_hosts))
        known = list(pool.map(hosts.scan_host_keys, lab_hosts))
        paths.known_hosts.write_text("".join(known))
        write_ssh_config(paths, lab_hosts)
        remaining = max(10.0, deadline - time.monotonic())
        list(pool.map(lambda h: hosts.wait_until_running(h, paths, remaining), lab_hosts))


def _up_vm(paths: LabPaths, count: int, release: str, codename: str) -> UpReport:
    started = time.monotonic()
    vm_image = vm.ensure_vm_image(paths, codename)
    image_seconds = time.monotonic() - started
    lab_hosts = tuple(paths.site.host(index) for index in range(1, count + 1))
    try:
        accelerator = _boot_vms(paths, vm_image, lab_hosts, release)
    except BaseException:
        down(paths, quiet=True)
        raise
    inventory = write_inventory(paths, lab_hosts, release, "vm")
    return UpReport(release, lab_hosts, inventory, time.monotonic() - started, image_seconds, "vm", accelerator)


def _boot_vms(paths: LabPaths, vm_image: vm.VmImage, lab_hosts: tuple[LabHost, ...], release: str) -> str:
    paths.state.mkdir(parents=True, exist_ok=True)
    paths.state.chmod(0o700)
    _write_state(paths, release, lab_hosts, "vm")
    leftovers.record(paths.state / "machine-paths.json")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "stockade-lab", "-f", str(paths.key)])
    public_key = paths.key.with_suffix(".pub").read_text()
    network.create_bridge(paths.site)
    proxy.start(paths.site, paths.state, paths.apt_cache)
    accelerator = vm.accelerator(paths, vm_image)
    _write_state(paths, release, lab_hosts, "vm", accelerator)
    launchers = {}
    for host in lab_hosts:
        host_dir = paths.host_dir(host)
        overlay = vm.create_overlay(vm_image, host_dir)
        vm.create_tap(host)
        argv = vm.qemu_command(host, vm_image, overlay, host_dir, accelerator, public_key)
        launchers[host] = vm.launch(host, argv, host_dir)
    deadline = time.monotonic() + vm.BOOT_TIMEOUT
    with ThreadPoolExecutor(max_workers=min(16, len(lab_hosts))) as pool:
        list(pool.map(lambda h: hosts.wait_for_ssh(h, deadline, launchers[h]), lab_hosts))
        known = list(pool.map(lambda h: _scan_vm_host_keys(h, deadline), lab_hosts))
        paths.known_hosts.write_text("".join(known))
        write_ssh_config(paths, lab_hosts)
        remaining = max(30.0, deadline - time.monotonic())
        list(pool.map(lambda h: hosts.wait_until_running(h, paths, remaining), lab_hosts))
    return accelerator


def _scan_vm_host_keys(host: LabHost, deadline: float) -> str:
    # Under TCG sshd may accept the connection before it can answer a key exchange in time: retry.
    while True:
        try:
            return hosts.scan_host_keys(host, wait=vm.KEYSCAN_WAIT)
        except StockadeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def _write_state(paths: LabPaths, release: str, lab_hosts: tuple[LabHost, ...], kind: str = "container",
                 accelerator: str | None = None) -> None:
    state: dict[str, object] = {
        "release": release, "hosts": [{"name": h.name, "address": h.address} for h in lab_hosts]}
    if kind != "container":
        state["kind"] = kind
        state["accelerator"] = accelerator
    paths.state_file.write_text(json.dumps(state, indent=2) + "\n")


def _raise_inotify_limit(paths: LabPaths, count: int) -> None:
    current = int(INOTIFY_SYSCTL.read_text())
    needed = 128 + count * INOTIFY_NEEDED_PER_HOST
    if current < needed:
        (paths.state / "inotify.saved").write_text(f"{current}\n")
        INOTIFY_SYSCTL.write_text(f"{needed}\n")


def _restore_inotify_limit(paths: LabPaths) -> None:
    saved = paths.state / "inotify.saved"
    if saved.exists():
        INOTIFY_SYSCTL.write_text(saved.read_text())
        saved.unlink()


def down(paths: LabPaths, quiet: bool = False) -> None:
    """Remove everything the lab made, whether or not its state file survived a crash."""
    if os.geteuid() != 0:
        raise UsageError("the lab needs root: run `stockade lab down` as root")
    for host in _recorded_hosts(paths):
        _close_ansible_master(host)
    hosts.terminate_all(paths.site)
    for name in network.lab_namespaces(paths.site):
        network.delete_namespace(name)
    network.delete_host_links(paths.site)
    hosts.unmount_and_remove(paths.state)
    cgroups.remove_all(paths.site.cgroup_name)
    for host in _recorded_hosts(paths):
        shutil.rmtree(f"/run/systemd/nspawn/propagate/{host.netns}", ignore_errors=True)
    proxy.stop(paths.state)
    network.delete_bridge(paths.site)
    if paths.state.exists():
        _restore_inotify_limit(paths)
        leftovers.remove(paths.state / "machine-paths.json")
        shutil.rmtree(paths.state)
    (paths.inventory / "hosts.yml").unlink(missing_ok=True)
    if not quiet:
        print("lab is down", file=sys.stderr)


def _close_ansible_master(host: LabHost) -> None:
    # Ansible leaves a ControlPersist master per host; ask it to exit rather than hunting processes.
    run(["ssh", "-O", "exit", "-o", f"ControlPath={ANSIBLE_CONTROL_PATH}", "-l", "stockade", host.address],
        check=False, timeout=10)


def _recorded_hosts(paths: LabPaths) -> list[LabHost]:
    if not paths.state_file.exists():
        return []
    state = json.loads(paths.state_file.read_text())
    return [paths.site.host(int(entry["name"].rsplit("-", 1)[1])) for entry in state["hosts"]]


@dataclass(frozen=True)
class HostStatus:
    host: LabHost
    ssh_answers: bool
    kind: str = "container"
    accelerator: str | None = None  # a VM host's: kvm or tcg
    rss_mib: float | None = None  # a VM host's QEMU resident memory


def status(paths: LabPaths) -> tuple[str, list[HostStatus]]:
    if not paths.state_file.exists():
        raise StockadeError("no lab is up (start one with `stockade lab up`)")
    state = json.loads(paths.state_file.read_text())
    kind, accelerator = state.get("kind", "container"), state.get("accelerator")
    return state["release"], [HostStatus(host, _answers(host), kind, accelerator, _rss(paths, host, kind))
                              for host in _recorded_hosts(paths)]


def _rss(paths: LabPaths, host: LabHost, kind: str) -> float | None:
    pid_file = paths.host_dir(host) / "launcher.pid"
    if kind != "vm" or not pid_file.exists():
        return None
    return vm.rss_mib(int(pid_file.read_text()))


def _answers(host: LabHost) -> bool:
    try:
        with socket.create_connection((host.address, 22), timeout=1):
            return True
    except OSError:
        return False
