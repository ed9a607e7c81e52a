"""What `lab up` hands to Ansible and to ssh: an inventory and an ssh_config for the lab hosts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from stockade.lab.config import AUTOMATION_USER, LabHost, LabPaths


def _ssh_options(paths: LabPaths) -> list[str]:
    # Host-key checking stays on, against the keys recorded when the hosts booted.
    return [
        f"UserKnownHostsFile={paths.known_hosts}",
        "StrictHostKeyChecking=yes",
        "IdentitiesOnly=yes",
    ]


def write_ssh_config(paths: LabPaths, hosts: Sequence[LabHost]) -> None:
    lines = []
    for host in hosts:
        lines += [f"Host {host.name}", f"  HostName {host.address}"]
    lines += [
        "Host lab-* 198.18.*",
        f"  User {AUTOMATION_USER}",
        f"  IdentityFile {paths.key}",
        *(f"  {option.replace('=', ' ', 1)}" for option in _ssh_options(paths)),
        "  ConnectTimeout 10",
    ]
    paths.ssh_config.write_text("\n".join(lines) + "\n")


# A VM host under TCG on a busy machine can take longer than Ansible's 10 s to answer sudo's prompt.
VM_ANSIBLE_TIMEOUT = 60


def inventory_document(paths: LabPaths, hosts: Sequence[LabHost], release: str,
                       kind: str = "container") -> dict[str, object]:
    lab_vars: dict[str, object] = {
        "ansible_user": AUTOMATION_USER,
        "ansible_become": True,
        "ansible_ssh_private_key_file": str(paths.key),
        "ansible_ssh_common_args": " ".join(f"-o {opt}" for opt in _ssh_options(paths)),
        "lab_debian_release": release,
        # The web_edge role's internal CA (created beside this inventory) is what the
        # lab's TLS chains are checked against.
        "stockade_params": {
            "TLS-03": {"ca_file": str(paths.inventory.resolve() / "web_edge_ca" / "ca.crt")},
        },
    }
    if kind == "vm":
        lab_vars["ansible_timeout"] = VM_ANSIBLE_TIMEOUT
    return {
        "all": {
            "children": {
                "lab": {
                    "hosts": {host.name: {"ansible_host": host.address} for host in hosts},
                    "vars": lab_vars,
                }
            }
        }
    }


def write_inventory(paths: LabPaths, hosts: Sequence[LabHost], release: str, kind: str = "container") -> Path:
    paths.inventory.mkdir(parents=True, exist_ok=True)
    target = paths.inventory / "hosts.yml"
    document = inventory_document(paths, hosts, release, kind)
    header = "# Written by `stockade lab up`; removed by `stockade lab down`.\n"
    staging = target.with_suffix(".tmp")
    staging.write_text(header + yaml.safe_dump(document, sort_keys=False))
    staging.replace(target)
    return target
