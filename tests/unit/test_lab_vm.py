"""The VM lab's pure logic: which accelerator, how a KVM probe boot is judged, and QEMU's command line."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from stockade.errors import UsageError
from stockade.lab import image, vm
from stockade.lab.config import LabSite

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0g1JZbm5wD1Dq9qHqzQ0m5hN5o1Z0h2z3dQvV8b5yX stockade-lab\n"


def test_kvm_only_when_a_real_boot_proved_it() -> None:
    # /dev/kvm alone proves nothing: a PVM machine has one and Debian's kernel dies in early boot there.
    assert vm.choose_accelerator(None, kvm_openable=True, probe=True) == "kvm"
    assert vm.choose_accelerator(None, kvm_openable=True, probe=False) == "tcg"
    assert vm.choose_accelerator(None, kvm_openable=True, probe=None) == "tcg"
    assert vm.choose_accelerator(None, kvm_openable=False, probe=True) == "tcg"


def test_a_forced_accelerator_wins_and_a_wrong_one_is_refused() -> None:
    assert vm.choose_accelerator("tcg", kvm_openable=True, probe=True) == "tcg"
    assert vm.choose_accelerator("kvm", kvm_openable=False, probe=None) == "kvm"
    with pytest.raises(UsageError, match="STOCKADE_LAB_ACCEL"):
        vm.choose_accelerator("hvf", kvm_openable=True, probe=True)


def test_probe_verdict_reads_the_console_and_qemu_output() -> None:
    assert vm.probe_verdict("", "KVM internal error. Suberror: 1\nemulation failure\n") is False
    # The error wins even if the console got far (it never does, but an error is never a success).
    assert vm.probe_verdict("Run /init as init process\n", "KVM internal error. Suberror: 1") is False
    assert vm.probe_verdict("[    0.9] Freeing unused kernel image (initmem) memory: 2000K\n", "") is True
    assert vm.probe_verdict("[    0.9] Run /init as init process\n", "") is True
    assert vm.probe_verdict("[    0.0] Linux version 6.12.57+deb13-amd64\n", "") is None


def test_a_usable_kvm_device_is_one_that_opens(tmp_path: Path) -> None:
    assert vm.kvm_usable(tmp_path / "absent") is False
    device = tmp_path / "kvm"
    device.write_text("")
    assert vm.kvm_usable(device) is True


def test_accelerator_arguments_cap_tcg_memory() -> None:
    assert vm.accel_args("kvm") == ["-accel", "kvm", "-cpu", "host"]
    tcg = vm.accel_args("tcg")
    assert tcg[:2] == ["-accel", f"tcg,thread=multi,tb-size={vm.TB_SIZE_MB}"] and tcg[-1] == "max"


def test_names_and_macs_are_unique_per_lab_and_host() -> None:
    hosts = [LabSite(site).host(index) for site in (0, 51, 99) for index in (1, 2, 200)]
    assert len({vm.tap_name(h) for h in hosts}) == len(hosts) == len({vm.mac_address(h) for h in hosts})
    host = LabSite(51).host(1)
    assert vm.tap_name(host) == "stk51t01"
    assert vm.mac_address(host) == "52:54:00:33:00:01"
    assert all(len(vm.tap_name(h)) <= 15 for h in hosts)  # IFNAMSIZ


def test_kernel_command_line_carries_the_host_identity() -> None:
    host = LabSite(51).host(2)
    words = vm.kernel_command_line(host, KEY).split()
    assert "root=LABEL=stockade-root" in words and "net.ifnames=0" in words and "console=ttyS0" in words
    assert "stockade.address=198.18.51.12/24" in words
    assert "stockade.gateway=198.18.51.1" in words
    assert "stockade.hostname=lab-02" in words
    assert "stockade.key_type=ssh-ed25519" in words
    assert f"stockade.key={KEY.split()[1]}" in words
    assert len(" ".join(words)) < 2048  # the kernel's COMMAND_LINE_SIZE on x86


def test_a_key_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValueError):
        vm.kernel_command_line(LabSite(51).host(1), "ssh-ed25519 not/base64! comment")


def test_qemu_command_line(tmp_path: Path) -> None:
    host = LabSite(51).host(1)
    image_ = vm.vm_image(tmp_path / "img")
    argv = vm.qemu_command(host, image_, tmp_path / "overlay.qcow2", tmp_path, "tcg", KEY)
    assert argv[0] == "qemu-system-x86_64"
    pairs = dict(zip(argv[1::2], argv[2::2], strict=False))
    assert pairs["-m"] == str(vm.MEMORY_MB) and pairs["-smp"] == str(vm.CPUS)
    assert pairs["-kernel"] == str(image_.kernel) and pairs["-initrd"] == str(image_.initrd)
    assert pairs["-serial"] == f"file:{tmp_path / 'console.log'}"
    assert f"file={tmp_path / 'overlay.qcow2'},format=qcow2,if=virtio" in pairs["-drive"]
    # The cached disk is never written: only the overlay is on the command line.
    assert str(image_.disk) not in " ".join(argv)
    assert pairs["-netdev"] == "tap,id=net0,ifname=stk51t01,script=no,downscript=no"
    assert "mac=52:54:00:33:00:01" in " ".join(argv)
    assert "-accel" in argv and "tcg,thread=multi" in " ".join(argv)
    assert shlex.join(argv)  # every argument is a plain string


def test_guest_init_script_parses_the_command_line(tmp_path: Path) -> None:
    """The boot-time script's own parser, run by sh against a made-up /proc/cmdline."""
    cmdline = tmp_path / "cmdline"
    cmdline.write_text(vm.kernel_command_line(LabSite(51).host(3), KEY) + "\n")
    parser = vm.GUEST_INIT.split("address=$(arg address)")[0].replace("/proc/cmdline", str(cmdline))
    script = parser.replace("set -eu\n", "set -eu\n") + (
        "echo $(arg address) $(arg gateway) $(arg hostname) $(arg proxy_port) $(arg key_type) $(arg key)\n")
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["198.18.51.13/24", "198.18.51.1", "lab-03", "3142", "ssh-ed25519", KEY.split()[1]]


def test_the_vm_image_recipe_leaves_the_container_image_cache_alone() -> None:
    # The container image's digest must not move because the VM image exists (no rebuild of cached images).
    assert image.recipe_digest("trixie") == image.recipe_digest("trixie", image.PACKAGES, "")
    assert image.recipe_digest("trixie", vm.VM_PACKAGES, vm.VM_RECIPE) != image.recipe_digest("trixie")
    assert set(image.PACKAGES) < set(vm.VM_PACKAGES) and "linux-image-amd64" in vm.VM_PACKAGES


def test_a_vm_lab_inventory_has_the_container_shape_and_a_longer_timeout(tmp_path: Path) -> None:
    from stockade.lab.config import LabPaths
    from stockade.lab.inventory import VM_ANSIBLE_TIMEOUT, inventory_document

    paths = LabPaths(tmp_path / "state", tmp_path / "cache", tmp_path / "inventory", LabSite(51))
    hosts = [LabSite(51).host(1)]
    container = inventory_document(paths, hosts, "13")
    vm_lab = inventory_document(paths, hosts, "13", "vm")
    container_vars = container["all"]["children"]["lab"]["vars"]  # type: ignore[index]
    vm_vars = vm_lab["all"]["children"]["lab"]["vars"]  # type: ignore[index]
    assert "ansible_timeout" not in container_vars
    assert vm_vars == {**container_vars, "ansible_timeout": VM_ANSIBLE_TIMEOUT}
    assert vm_lab["all"]["children"]["lab"]["hosts"] == container["all"]["children"]["lab"]["hosts"]  # type: ignore[index]
