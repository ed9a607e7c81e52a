"""Lab hosts with a kernel of their own: QEMU virtual machines on the lab's bridge.

A VM host boots Debian's own kernel (direct kernel boot) from a throwaway qcow2 overlay over a cached ext4
disk made from a debootstrap (`mkfs.ext4 -d`), with a tap on the lab's bridge and an address of the lab's
/24, so the kernel-level controls (live sysctls, module loading, the audit subsystem, mounts, the running
kernel) act on a kernel that belongs to the host. KVM when a real boot proves it works, TCG otherwise.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stockade.errors import StockadeError, UsageError
from stockade.lab import cgroups, image
from stockade.lab.config import AUTOMATION_USER, PROXY_PORT, LabHost, LabPaths
from stockade.lab.system import run

TOOLS = ("qemu-system-x86_64", "qemu-img", "mkfs.ext4")
# What a VM needs beyond the container image: Debian's kernel and what boots it, udev for its devices,
# kmod for modprobe, and auditd (the kernel audit subsystem is the host's own here).
VM_PACKAGES = (*image.PACKAGES, "linux-image-amd64", "initramfs-tools", "udev", "kmod", "e2fsprogs", "auditd")
DISK_SIZE = "6G"  # sparse: the raw disk holds ~0.9 GB
MEMORY_MB = 1024
CPUS = 2
TB_SIZE_MB = 256  # caps TCG's translation cache, which otherwise grows to ~1 GB of RSS
BOOT_TIMEOUT = 420  # boot-to-SSH under TCG is ~30 s alone, much longer with several VMs on 2 cores
PROBE_TIMEOUT = 60
KEYSCAN_WAIT = 30  # seconds ssh-keyscan waits for a key exchange (TCG is slow at the first one)
ACCEL_ENV = "STOCKADE_LAB_ACCEL"  # force "kvm" or "tcg" instead of probing
ACCELERATORS = ("kvm", "tcg")
KVM_DEVICE = Path("/dev/kvm")
# comm of a running qemu-system-x86_64 (the kernel keeps 15 characters)
QEMU_COMM = "qemu-system-x86"

GUEST_INIT = """\
#!/bin/sh
# Configures this lab VM from its kernel command line (stockade.* parameters) at every boot: the address
# on the lab's bridge; on the first boot also its name, the lab's apt proxy and the automation key.
set -eu
arg() {
  for word in $(cat /proc/cmdline); do
    case "$word" in "stockade.$1="*) echo "${word#*=}" ;; esac
  done
}
address=$(arg address); gateway=$(arg gateway)
ip link set lo up
ip link set eth0 up
ip addr replace "$address" dev eth0
ip route replace default via "$gateway"
[ -e /var/lib/stockade-lab/personalised ] && exit 0
name=$(arg hostname)
echo "$name" > /etc/hostname
hostname "$name"
printf '127.0.0.1\\tlocalhost\\n127.0.1.1\\t%s\\n::1\\tlocalhost\\n' "$name" > /etc/hosts
printf 'Acquire::http::Proxy "http://%s:%s/";\\n' "$gateway" "$(arg proxy_port)" \\
  > /etc/apt/apt.conf.d/01stockade-lab-proxy
home=/home/{user}
install -d -m 700 -o {user} -g {user} "$home/.ssh"
echo "$(arg key_type) $(arg key) stockade-lab" > "$home/.ssh/authorized_keys"
chown {user}:{user} "$home/.ssh/authorized_keys"
chmod 600 "$home/.ssh/authorized_keys"
mkdir -p /var/lib/stockade-lab
touch /var/lib/stockade-lab/personalised
""".replace("{user}", AUTOMATION_USER)

GUEST_INIT_UNIT = """\
[Unit]
Description=Lab VM address, name and automation key from the kernel command line
BindsTo=sys-subsystem-net-devices-eth0.device
After=sys-subsystem-net-devices-eth0.device local-fs.target
Before=network.target ssh.service stockade-lab-hostkeys.service
Wants=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/stockade-lab-vm-init

[Install]
WantedBy=multi-user.target
"""

FSTAB = "LABEL=stockade-root / ext4 errors=remount-ro 0 1\n"
VM_RECIPE = "\n".join(["vm-disk-1", DISK_SIZE, GUEST_INIT, GUEST_INIT_UNIT, FSTAB])


# --- the image ---------------------------------------------------------------------------------------------

def image_dir(paths: LabPaths, codename: str) -> Path:
    return paths.image_dir(f"{codename}-vm")


@dataclass(frozen=True)
class VmImage:
    disk: Path
    kernel: Path
    initrd: Path


def vm_image(directory: Path) -> VmImage:
    return VmImage(directory / "disk.raw", directory / "vmlinuz", directory / "initrd.img")


def ensure_vm_image(paths: LabPaths, codename: str) -> VmImage:
    directory = image_dir(paths, codename)
    image.ensure_image(directory, codename, VM_PACKAGES, VM_RECIPE, _finish_disk)
    return vm_image(directory)


def _finish_disk(staging: Path, root: Path) -> None:
    """Make the VM disk of the customised root: fstab, the boot-time configuration unit, an ext4 image."""
    (root / "etc/fstab").write_text(FSTAB)
    script = root / "usr/local/sbin/stockade-lab-vm-init"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(GUEST_INIT)
    script.chmod(0o755)
    unit = root / "etc/systemd/system/stockade-lab-vm-init.service"
    unit.write_text(GUEST_INIT_UNIT)
    (root / "etc/systemd/system/multi-user.target.wants" / unit.name).symlink_to(f"/etc/systemd/system/{unit.name}")
    target = vm_image(staging)
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    initrds = sorted((root / "boot").glob("initrd.img-*"))
    if not kernels or not initrds:
        raise StockadeError("the VM image has no kernel or initrd under /boot: is linux-image-amd64 installed?")
    shutil.copyfile(kernels[-1], target.kernel)
    shutil.copyfile(initrds[-1], target.initrd)
    run(["mkfs.ext4", "-q", "-F", "-L", "stockade-root", "-d", str(root), str(target.disk), DISK_SIZE],
        timeout=900)
    shutil.rmtree(root)  # the disk holds it now


# --- the accelerator ---------------------------------------------------------------------------------------

def kvm_usable(device: Path = KVM_DEVICE) -> bool:
    try:
        fd = os.open(device, os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def choose_accelerator(forced: str | None, kvm_openable: bool, probe: bool | None) -> str:
    """The accelerator for this machine. `probe` is the verdict of a real KVM boot (None: not tried yet).

    /dev/kvm alone proves nothing (a PVM host has one, and Debian's kernel dies in early boot there):
    KVM only when a boot under it reached userspace."""
    if forced:
        if forced not in ACCELERATORS:
            raise UsageError(f"{ACCEL_ENV} must be one of {', '.join(ACCELERATORS)}, got {forced!r}")
        return forced
    return "kvm" if kvm_openable and probe else "tcg"


def probe_verdict(console: str, qemu_output: str) -> bool | None:
    """Did the kernel reach userspace (True), fail under KVM (False), or is it still booting (None)?"""
    if "KVM internal error" in qemu_output or "emulation failure" in qemu_output:
        return False
    if "Run /init as init process" in console or "Freeing unused kernel" in console:
        return True
    return None


def accel_args(accelerator: str) -> list[str]:
    if accelerator == "kvm":
        return ["-accel", "kvm", "-cpu", "host"]
    return ["-accel", f"tcg,thread=multi,tb-size={TB_SIZE_MB}", "-cpu", "max"]


def probe_kvm(vm: VmImage, work: Path) -> bool:
    """Boot the image's kernel under KVM until it reaches userspace; False on an error, exit or timeout."""
    work.mkdir(parents=True, exist_ok=True)
    console, output = work / "kvm-probe-console.log", work / "kvm-probe-qemu.log"
    argv = ["qemu-system-x86_64", *accel_args("kvm"), "-m", "256", "-display", "none", "-monitor", "none",
            "-no-reboot", "-serial", f"file:{console}", "-kernel", str(vm.kernel), "-initrd", str(vm.initrd),
            "-append", "console=ttyS0 loglevel=7 panic=-1 rdinit=/init root=/dev/null"]
    with output.open("wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + PROBE_TIMEOUT
        while time.monotonic() < deadline:
            verdict = probe_verdict(_read(console), _read(output))
            if verdict is not None:
                return verdict
            if proc.poll() is not None:
                return probe_verdict(_read(console), _read(output)) is True
            time.sleep(0.2)
        return False
    finally:
        proc.kill()
        proc.wait()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def probe_cache_key(vm: VmImage) -> str:
    """The probe's verdict holds for this machine's kernel, this QEMU and this guest kernel."""
    qemu = run(["qemu-system-x86_64", "--version"]).stdout.splitlines()[0]
    return f"{platform.release()}|{qemu}|{vm.kernel.stat().st_size}"


def accelerator(paths: LabPaths, vm: VmImage) -> str:
    forced = os.environ.get(ACCEL_ENV) or None
    openable = kvm_usable()
    if forced or not openable:
        return choose_accelerator(forced, openable, None)
    cache = paths.cache / "images" / "kvm-probe.json"
    key = probe_cache_key(vm)
    try:
        recorded = json.loads(cache.read_text())
    except (OSError, ValueError):
        recorded = {}
    if recorded.get("key") != key:
        recorded = {"key": key, "works": probe_kvm(vm, paths.state / "kvm-probe")}
        cache.write_text(json.dumps(recorded) + "\n")
    return choose_accelerator(None, openable, bool(recorded["works"]))


# --- one host ----------------------------------------------------------------------------------------------

def tap_name(host: LabHost) -> str:
    return f"stk{host.site.id}t{host.index:02d}"


def mac_address(host: LabHost) -> str:
    # Locally administered, unique per lab and host.
    return f"52:54:00:{host.site.id:02x}:{host.index // 256:02x}:{host.index % 256:02x}"


def kernel_command_line(host: LabHost, public_key: str) -> str:
    key_type, key = public_key.split()[:2]
    base64.b64decode(key, validate=True)  # a key that is not base64 would break the command line
    site = host.site
    return " ".join([
        "root=LABEL=stockade-root", "ro", "console=ttyS0", "net.ifnames=0", "systemd.journald.forward_to_console=1",
        f"stockade.address={host.address}/{site.network.prefixlen}", f"stockade.gateway={site.gateway}",
        f"stockade.hostname={host.name}", f"stockade.proxy_port={PROXY_PORT}",
        f"stockade.key_type={key_type}", f"stockade.key={key}",
    ])


def qemu_command(host: LabHost, vm: VmImage, overlay: Path, host_dir: Path, accelerator: str,
                 public_key: str) -> list[str]:
    return [
        "qemu-system-x86_64", "-name", host.name, *accel_args(accelerator),
        "-smp", str(CPUS), "-m", str(MEMORY_MB),
        "-display", "none", "-monitor", "none", "-serial", f"file:{host_dir / 'console.log'}",
        "-kernel", str(vm.kernel), "-initrd", str(vm.initrd), "-append", kernel_command_line(host, public_key),
        "-drive", f"file={overlay},format=qcow2,if=virtio,cache=unsafe,discard=unmap",
        "-netdev", f"tap,id=net0,ifname={tap_name(host)},script=no,downscript=no",
        "-device", f"virtio-net-pci,netdev=net0,mac={mac_address(host)}",
        "-device", "virtio-rng-pci",
    ]


def create_overlay(vm: VmImage, host_dir: Path) -> Path:
    host_dir.mkdir(parents=True, exist_ok=True)
    overlay = host_dir / "overlay.qcow2"
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(vm.disk), str(overlay)])
    return overlay


def create_tap(host: LabHost) -> None:
    tap = tap_name(host)
    run(["ip", "link", "delete", tap], check=False)
    run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
    run(["ip", "link", "set", tap, "master", host.site.bridge, "up"])


def launch(host: LabHost, argv: Sequence[str], host_dir: Path) -> int:
    """Start QEMU in the host's cgroup; return its PID (the launcher's, which execs QEMU)."""
    cgroup_dirs = cgroups.create(host.site.cgroup_name, host.name)
    joins = " && ".join(f'echo $$ > "{path}/cgroup.procs"' for path in cgroup_dirs)
    with (host_dir / "qemu.log").open("wb") as log:
        proc = subprocess.Popen(["sh", "-c", f'{joins} && exec "$@"', "stockade-lab", *argv],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    (host_dir / "launcher.pid").write_text(f"{proc.pid}\n")
    return proc.pid


def rss_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None
