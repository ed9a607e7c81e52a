"""Where the lab keeps its state and which addresses and names it uses."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from stockade.errors import UsageError

RELEASES = {"12": "bookworm", "13": "trixie"}
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SECURITY_MIRROR = "http://deb.debian.org/debian-security"

# The lab network: a /24 out of the benchmarking range 198.18.0.0/15 (RFC 2544), never a private range.
LAB_NETWORK = ipaddress.IPv4Network("198.18.0.0/24")
GATEWAY = LAB_NETWORK.network_address + 1
FIRST_HOST_OFFSET = 11
MAX_HOSTS = 200
BRIDGE = "stk-br0"
PROXY_PORT = 3142
AUTOMATION_USER = "stockade"
CGROUP_NAME = "stockade-lab"


def release_codename(release: str) -> str:
    try:
        return RELEASES[release]
    except KeyError:
        raise UsageError(f"unknown release {release!r}: choose one of {', '.join(RELEASES)}") from None


@dataclass(frozen=True)
class LabHost:
    index: int  # 1-based

    @property
    def name(self) -> str:
        return f"lab-{self.index:02d}"

    @property
    def netns(self) -> str:
        return f"stk-{self.name}"

    @property
    def veth(self) -> str:
        return f"stk-v{self.index:02d}"

    @property
    def address(self) -> str:
        return str(LAB_NETWORK.network_address + FIRST_HOST_OFFSET - 1 + self.index)


@dataclass(frozen=True)
class LabPaths:
    state: Path  # keys, known_hosts, per-host overlays; lives while the lab lives
    cache: Path  # base images and the apt cache; survives `lab down`
    inventory: Path  # the Ansible inventory `up` writes

    @classmethod
    def from_env(cls, inventory_dir: Path | None = None) -> LabPaths:
        return cls(
            state=Path(os.environ.get("STOCKADE_LAB_DIR", "/var/lib/stockade/lab")),
            cache=Path(os.environ.get("STOCKADE_CACHE_DIR", "/var/cache/stockade")),
            inventory=inventory_dir or Path("inventory/lab"),
        )

    @property
    def key(self) -> Path:
        return self.state / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state / "known_hosts"

    @property
    def ssh_config(self) -> Path:
        return self.state / "ssh_config"

    @property
    def state_file(self) -> Path:
        return self.state / "lab.json"

    def host_dir(self, host: LabHost) -> Path:
        return self.state / "hosts" / host.name

    def image_dir(self, codename: str) -> Path:
        return self.cache / "images" / codename
