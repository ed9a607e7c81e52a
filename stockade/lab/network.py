"""The lab bridge on the controller and one network namespace + veth per host."""

from __future__ import annotations

from pathlib import Path

from stockade.lab.config import LabHost, LabSite
from stockade.lab.system import run


def _link_exists(name: str) -> bool:
    return run(["ip", "link", "show", "dev", name], check=False).returncode == 0


def create_bridge(site: LabSite) -> None:
    if not _link_exists(site.bridge):
        run(["ip", "link", "add", site.bridge, "type", "bridge"])
    run(["ip", "addr", "replace", f"{site.gateway}/{site.network.prefixlen}", "dev", site.bridge])
    run(["ip", "link", "set", site.bridge, "up"])


def delete_bridge(site: LabSite) -> None:
    if _link_exists(site.bridge):
        run(["ip", "link", "delete", site.bridge])


def create_host_network(host: LabHost) -> None:
    site = host.site
    delete_link(host.veth)  # the kernel may still be tearing down a previous lab's namespace
    run(["ip", "netns", "add", host.netns])
    run(["ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns])
    run(["ip", "link", "set", host.veth, "master", site.bridge, "up"])
    inside = ["ip", "-n", host.netns]
    run([*inside, "link", "set", "lo", "up"])
    run([*inside, "addr", "add", f"{host.address}/{site.network.prefixlen}", "dev", "eth0"])
    run([*inside, "link", "set", "eth0", "up"])
    run([*inside, "route", "add", "default", "via", str(site.gateway)])


def delete_link(name: str) -> None:
    if _link_exists(name):
        run(["ip", "link", "delete", name], check=False)


def delete_host_links(site: LabSite) -> None:
    """Host-side veths outlive `ip netns delete` until the kernel has destroyed the namespace; VM hosts' taps
    (stkNtXX) outlive QEMU."""
    listing = run(["ip", "-o", "link", "show"]).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in listing.splitlines()]
    for name in names:
        if name.startswith((f"stk{site.id}v", f"stk{site.id}t")):
            delete_link(name)


def lab_namespaces(site: LabSite) -> list[str]:
    """Every namespace this lab owns, including those of a crashed run."""
    listing = run(["ip", "netns", "list"]).stdout
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    return [name for name in names if name.startswith(site.netns_prefix)]


def delete_namespace(name: str) -> None:
    # Deleting the namespace destroys the veth pair with it.
    run(["ip", "netns", "delete", name], check=False)
    Path("/run/netns", name).unlink(missing_ok=True)
