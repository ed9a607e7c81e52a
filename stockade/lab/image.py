"""Base images: one debootstrap per Debian release, cached, used read-only as every host's lower layer."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from stockade.lab.config import (
    AUTOMATION_USER,
    DEBIAN_MIRROR,
    DEBIAN_SECURITY_MIRROR,
)
from stockade.lab.system import run

# What a lab host needs to behave like a server: systemd as PID 1, sshd, python3 for Ansible,
# nftables (netbase, or nft cannot resolve `ipv6-icmp`), and python3-apt for Ansible's apt module.
PACKAGES = (
    "openssh-server", "python3", "python3-apt", "sudo", "nftables", "iproute2", "systemd",
    "systemd-sysv", "dbus", "netbase", "procps", "curl", "ca-certificates", "debian-archive-keyring",
    "iputils-ping", "less",
)

# Bump when _customise() changes what it writes into the image.
IMAGE_REVISION = 2

HOSTKEY_UNIT = """\
[Unit]
Description=Generate this lab host's own SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
"""


def _sources(codename: str) -> str:
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    return (
        f"Types: deb\nURIs: {DEBIAN_MIRROR}\nSuites: {codename} {codename}-updates\n"
        f"Components: main\nSigned-By: {keyring}\n\n"
        f"Types: deb\nURIs: {DEBIAN_SECURITY_MIRROR}\nSuites: {codename}-security\n"
        f"Components: main\nSigned-By: {keyring}\n"
    )


def recipe_digest(codename: str, packages: Sequence[str] = PACKAGES, extra: str = "") -> str:
    """Changes whenever what goes into the image changes, so a stale cache is rebuilt.

    `packages` and `extra` (the recipe of a derived image, e.g. the VM disk) default to the container image's."""
    recipe = "\n".join([str(IMAGE_REVISION), codename, *packages, HOSTKEY_UNIT, _sources(codename)])
    if extra:
        recipe += "\n" + extra
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def rootfs(image_dir: Path) -> Path:
    return image_dir / "rootfs"


def is_current(image_dir: Path, codename: str, packages: Sequence[str] = PACKAGES, extra: str = "") -> bool:
    stamp = image_dir / "recipe"
    return stamp.is_file() and stamp.read_text().strip() == recipe_digest(codename, packages, extra)


# A derived image's last step, given the staging directory and its root filesystem (e.g. making a VM disk).
Finish = Callable[[Path, Path], None]


def ensure_image(image_dir: Path, codename: str, packages: Sequence[str] = PACKAGES, extra: str = "",
                 finish: Finish | None = None) -> Path:
    """Return the image's root filesystem, building it first if missing or stale.

    Labs started side by side share the cache: a lock makes the second wait for the first one's build."""
    if not is_current(image_dir, codename, packages, extra):
        image_dir.parent.mkdir(parents=True, exist_ok=True)
        with (image_dir.parent / f"{image_dir.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not is_current(image_dir, codename, packages, extra):
                build_image(image_dir, codename, packages, extra, finish)
    return rootfs(image_dir)


def build_image(image_dir: Path, codename: str, packages: Sequence[str] = PACKAGES, extra: str = "",
                finish: Finish | None = None) -> None:
    # Build beside the final place and rename, so an interrupted build never looks like an image.
    staging = image_dir.with_name(f"{image_dir.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    root = rootfs(staging)
    started = time.monotonic()
    print(f"building the Debian {codename} lab image (once; cached in {image_dir})", file=sys.stderr)
    run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", "--components=main",
         codename, str(root), DEBIAN_MIRROR], timeout=1800)
    _customise(root, codename)
    if finish is not None:
        finish(staging, root)
    (staging / "recipe").write_text(recipe_digest(codename, packages, extra) + "\n")
    shutil.rmtree(image_dir, ignore_errors=True)
    staging.rename(image_dir)
    print(f"image built in {time.monotonic() - started:.0f}s", file=sys.stderr)


def _customise(root: Path, codename: str) -> None:
    etc = root / "etc"
    # Sources of the image's own suite; each lab host reaches them through its lab's proxy.
    (etc / "apt/sources.list").unlink(missing_ok=True)
    (etc / "apt/sources.list.d/debian.sources").write_text(_sources(codename))
    # debootstrap copies the build machine's identity; every host must get its own at boot.
    (etc / "hostname").write_text("localhost\n")
    (etc / "resolv.conf").unlink(missing_ok=True)
    (etc / "resolv.conf").write_text("")
    (etc / "machine-id").write_text("")
    for key in (etc / "ssh").glob("ssh_host_*"):
        key.unlink()
    unit = etc / "systemd/system/stockade-lab-hostkeys.service"
    unit.write_text(HOSTKEY_UNIT)
    wants = etc / "systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / unit.name).symlink_to(f"/etc/systemd/system/{unit.name}")
    # The automation account: key-only, passwordless sudo. Hardening disables root login, so
    # nothing may depend on root.
    run(["chroot", str(root), "useradd", "--create-home", "--shell", "/bin/bash", AUTOMATION_USER])
    sudoers = etc / f"sudoers.d/{AUTOMATION_USER}-lab"
    sudoers.write_text(f"{AUTOMATION_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    run(["chroot", str(root), "visudo", "-cf", f"/etc/sudoers.d/{sudoers.name}"])
    run(["chroot", str(root), "apt-get", "clean"])
