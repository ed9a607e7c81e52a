"""The lab bridge on the controller and one network namespace + veth per host."""

from __future__ import annotations

from pathlib import Path

from stockade.lab.config import BRIDGE, GATEWAY, LAB_NETWORK, LabHost
from stockade.lab.system import run

NETNS_PREFIX = "stk-"


def _link_exists(name: str) -> bool:
    return run(["ip", "link", "show", "dev", name], check=False).returncode == 0


def create_bridge() -> None:
    if not _link_exists(BRIDGE):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "addr", "replace", f"{GATEWAY}/{LAB_NETWORK.prefixlen}", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def delete_bridge() -> None:
    if _link_exists(BRIDGE):
        run(["ip", "link", "delete", BRIDGE])


def create_host_network(host: LabHost) -> None:
    run(["ip", "netns", "add", host.netns])
    run(["ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns])
    run(["ip", "link", "set", host.veth, "master", BRIDGE, "up"])
    inside = ["ip", "-n", host.netns]
    run([*inside, "link", "set", "lo", "up"])
    run([*inside, "addr", "add", f"{host.address}/{LAB_NETWORK.prefixlen}", "dev", "eth0"])
    run([*inside, "link", "set", "eth0", "up"])
    run([*inside, "route", "add", "default", "via", str(GATEWAY)])


def lab_namespaces() -> list[str]:
    """Every namespace the lab owns, including those of a crashed run."""
    listing = run(["ip", "netns", "list"]).stdout
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    return [name for name in names if name.startswith(NETNS_PREFIX)]


def delete_namespace(name: str) -> None:
    # Deleting the namespace destroys the veth pair with it.
    run(["ip", "netns", "delete", name], check=False)
    Path("/run/netns", name).unlink(missing_ok=True)
