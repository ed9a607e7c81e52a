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

FIRST_HOST_OFFSET = 11
MAX_HOSTS = 200
MAX_SITES = 100
PROXY_PORT = 3142
AUTOMATION_USER = "stockade"
CGROUP_PREFIX = "stockade-lab"


def release_codename(release: str) -> str:
    try:
        return RELEASES[release]
    except KeyError:
        raise UsageError(f"unknown release {release!r}: choose one of {', '.join(RELEASES)}") from None


@dataclass(frozen=True)
class LabSite:
    """One lab on this machine; several (STOCKADE_LAB_ID=0..99) can run side by side, each with its own
    /24 out of the benchmarking range 198.18.0.0/15 (RFC 2544, never a private range), bridge and names."""

    id: int = 0

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"198.18.{self.id}.0/24")

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return self.network.network_address + 1

    @property
    def bridge(self) -> str:
        return f"stk-br{self.id}"

    @property
    def netns_prefix(self) -> str:
        return f"stk{self.id}-"

    @property
    def cgroup_name(self) -> str:
        return f"{CGROUP_PREFIX}-{self.id}"

    def host(self, index: int) -> LabHost:
        return LabHost(index, self)


@dataclass(frozen=True)
class LabHost:
    index: int  # 1-based
    site: LabSite

    @property
    def name(self) -> str:
        return f"lab-{self.index:02d}"

    @property
    def netns(self) -> str:
        return f"{self.site.netns_prefix}{self.name}"

    @property
    def veth(self) -> str:
        return f"stk{self.site.id}v{self.index:02d}"

    @property
    def address(self) -> str:
        return str(self.site.network.network_address + FIRST_HOST_OFFSET - 1 + self.index)


def site_from_env() -> LabSite:
    raw = os.environ.get("STOCKADE_LAB_ID", "0")
    if not raw.isdigit() or int(raw) >= MAX_SITES:
        raise UsageError(f"STOCKADE_LAB_ID must be a number from 0 to {MAX_SITES - 1}, got {raw!r}")
    return LabSite(int(raw))


@dataclass(frozen=True)
class LabPaths:
    state: Path  # keys, known_hosts, per-host overlays; lives while the lab lives
    cache: Path  # base images and the apt cache; survives `lab down`
    inventory: Path  # the Ansible inventory `up` writes
    site: LabSite = LabSite()

    @classmethod
    def from_env(cls, inventory_dir: Path | None = None) -> LabPaths:
        site = site_from_env()
        default_state = "/var/lib/stockade/lab" if site.id == 0 else f"/var/lib/stockade/lab-{site.id}"
        return cls(
            state=Path(os.environ.get("STOCKADE_LAB_DIR", default_state)),
            cache=Path(os.environ.get("STOCKADE_CACHE_DIR", "/var/cache/stockade")),
            inventory=inventory_dir or Path("inventory/lab" if site.id == 0 else f"inventory/lab-{site.id}"),
            site=site,
        )

    @property
    def apt_cache(self) -> Path:
        # One cache per lab: two apt-cacher-ng processes must not share a cache directory.
        return self.cache / f"apt-cacher-ng-{self.site.id}"

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
