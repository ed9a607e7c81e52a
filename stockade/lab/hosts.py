"""A lab host: an overlay over the base image, booted by systemd-nspawn in its own namespace and cgroup."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from stockade.errors import StockadeError
from stockade.lab import cgroups
from stockade.lab.config import AUTOMATION_USER, PROXY_PORT, LabHost, LabPaths, LabSite
from stockade.lab.system import run

NSPAWN_ENV = {
    # net.* sysctls stay writable inside the host; kernel.* and fs.* remain the machine's own.
    "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network",
    "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1",
}


def mount_overlay(lower: Path, host_dir: Path) -> Path:
    upper, work, root = host_dir / "upper", host_dir / "work", host_dir / "root"
    for path in (upper, work, root):
        path.mkdir(parents=True, exist_ok=True)
    run(["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={lower},upperdir={upper},workdir={work}", str(root)])
    return root


def personalise(root: Path, host: LabHost, public_key: str) -> None:
    (root / "etc/hostname").write_text(f"{host.name}\n")
    # Hosts have no route out: apt goes through the lab's caching proxy on the bridge.
    (root / "etc/apt/apt.conf.d/01stockade-lab-proxy").write_text(
        f'Acquire::http::Proxy "http://{host.site.gateway}:{PROXY_PORT}/";\n')
    (root / "etc/hosts").write_text(f"127.0.0.1\tlocalhost\n127.0.1.1\t{host.name}\n::1\tlocalhost\n")
    uid, gid = _ids(root, AUTOMATION_USER)
    ssh_dir = root / "home" / AUTOMATION_USER / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    keys.write_text(public_key)
    keys.chmod(0o600)
    for path in (ssh_dir, keys):
        os.chown(path, uid, gid)


def _ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise StockadeError(f"the lab image has no user {user!r}: rebuild it")


def launch(host: LabHost, root: Path, host_dir: Path) -> int:
    """Start the host's systemd in the background; return the launcher's PID."""
    cgroup_dirs = cgroups.create(host.site.cgroup_name, host.name)
    nspawn = [
        "systemd-nspawn", "--boot", f"--directory={root}", f"--machine={host.netns}",
        f"--network-namespace-path=/run/netns/{host.netns}", "--capability=CAP_NET_ADMIN",
        "--register=no", "--keep-unit", "--console=read-only", "--resolv-conf=off", "--timezone=off",
        "--link-journal=no",
    ]
    # The shell joins the host's cgroups, then becomes nspawn, so nspawn and the container start there.
    joins = " && ".join(f'echo $$ > "{path}/cgroup.procs"' for path in cgroup_dirs)
    with (host_dir / "console.log").open("wb") as console:
        proc = subprocess.Popen(["sh", "-c", f'{joins} && exec "$@"', "stockade-lab", *nspawn],
                                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                env={**os.environ, **NSPAWN_ENV}, start_new_session=True)
    (host_dir / "launcher.pid").write_text(f"{proc.pid}\n")
    return proc.pid


def wait_for_ssh(host: LabHost, deadline: float, launcher_pid: int) -> None:
    while time.monotonic() < deadline:
        if not _alive(launcher_pid):
            raise StockadeError(f"{host.name}: the container exited during boot (see its console.log)")
        try:
            with socket.create_connection((host.address, 22), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise StockadeError(f"{host.name}: SSH did not answer on {host.address}:22 in time")


def scan_host_keys(host: LabHost, wait: int = 5) -> str:
    """The host's own keys, recorded once at boot, so SSH keeps checking host keys."""
    lines = run(["ssh-keyscan", "-T", str(wait), "-t", "rsa,ecdsa,ed25519", host.address],
                timeout=30 + 3 * wait).stdout
    if not lines.strip():
        raise StockadeError(f"{host.name}: ssh-keyscan returned no host keys")
    return lines.replace(f"{host.address} ", f"{host.name},{host.address} ")


def wait_until_running(host: LabHost, paths: LabPaths, timeout: float) -> str:
    proc = run(["ssh", "-F", str(paths.ssh_config), host.name,
                f"timeout {int(timeout)} systemctl is-system-running --wait"],
               check=False, timeout=timeout + 15)
    state = proc.stdout.strip() or proc.stderr.strip()
    if state not in ("running", "degraded"):
        raise StockadeError(f"{host.name}: systemd did not come up ({state})")
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def terminate_all(site: LabSite, grace: float = 15) -> None:
    """SIGTERM every launcher (nspawn's clean poweroff), then SIGKILL whatever stays in the lab cgroups."""
    pids = cgroups.lab_pids(site.cgroup_name)
    launchers = {pid for pid in pids if _is_launcher(pid)}
    for pid in launchers:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in launchers):
        time.sleep(0.1)
    for _ in range(50):
        survivors = cgroups.lab_pids(site.cgroup_name)
        if not survivors:
            return
        for pid in survivors:
            _signal(pid, signal.SIGKILL)
        time.sleep(0.1)
    raise StockadeError(f"lab processes survived SIGKILL: {sorted(cgroups.lab_pids(site.cgroup_name))}")


# systemd-nspawn (a container host) or QEMU (a VM host; comm keeps 15 characters): SIGTERM stops either.
LAUNCHERS = ("systemd-nspawn", "qemu-system-x86")


def _is_launcher(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() in LAUNCHERS
    except OSError:
        return False


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def lab_mounts(state_dir: Path) -> list[Path]:
    """Mount points under the lab's state directory, deepest first."""
    prefix = str(state_dir.resolve()) + "/"
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target.startswith(prefix):
            points.append(Path(target))
    return sorted(points, key=lambda p: len(p.parts), reverse=True)


def unmount_and_remove(state_dir: Path) -> None:
    for point in lab_mounts(state_dir):
        run(["umount", str(point)], check=False)
        if point in lab_mounts(state_dir):
            run(["umount", "--lazy", str(point)])
    shutil.rmtree(state_dir / "hosts", ignore_errors=True)
