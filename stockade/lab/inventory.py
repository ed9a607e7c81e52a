"""What `lab up` hands to Ansible and to ssh: an inventory and an ssh_config for the lab hosts."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def _public_keys(paths: LabPaths) -> list[str]:
    public = paths.key.with_name(paths.key.name + ".pub")
    return [public.read_text().strip()] if public.is_file() else []


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
            # The automation account's keys are declared data: the controller's own key.
            "ACCT-01": {"automation_keys": _public_keys(paths)},
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


# --- the demo fleet (scripts/demo.sh): what a reviewer needs declared to sign every clause -------------------

DEMO_OPERATOR_2FA = "alice"  # elects 2FA: enrolled with a seed made for this demo, kept in demo.yml only
DEMO_OPERATOR = "bob"  # key only
DEMO_DATA_DIR = "/srv/customer-data"
DEMO_DATA_GROUP = "customer-data"
DEMO_DATA_OWNER = "custdata"
DEMO_FILES = ("demo.yml", "demo-operators", "demo-operators.pub", "demo-bob.pub")


def demo_inventory_document(base: dict[str, Any], operator_key: Path, operator_public: str, bob_public: str,
                            seed: str) -> dict[str, Any]:
    """The lab inventory `base` with the demo fleet declared on it: two operators (alice elects 2FA), a
    customer-data directory and its group on the first host, the web edge declared on the second."""
    document = copy.deepcopy(base)
    group = document["all"]["children"]["lab"]
    hosts = list(group["hosts"])
    data_host, web_host = hosts[0], hosts[1 % len(hosts)]
    group["vars"].update({
        "accounts_ops_users": [
            {"name": DEMO_OPERATOR_2FA, "comment": "Alice Operator (2FA)", "ssh_keys": [operator_public],
             "totp": True},
            {"name": DEMO_OPERATOR, "comment": "Bob Operator", "ssh_keys": [bob_public]},
        ],
        # The demo's own seed, made when the demo starts; `ansible-vault encrypt_string` on a real fleet.
        "totp_seeds": {DEMO_OPERATOR_2FA: seed},
    })
    params = group["vars"]["stockade_params"]
    params["MFA-01"] = {"probe_key_file": str(operator_key)}  # alice's key: the login probe logs in as her
    # The audit compares the hosts' accounts, keys and sudo rights with the same declaration the role applied.
    operators = [{"name": user["name"], "ssh_keys": user["ssh_keys"]} for user in group["vars"]["accounts_ops_users"]]
    params.setdefault("ACCT-01", {})["operators"] = operators
    params.setdefault("ACCT-02", {})["operators"] = [user["name"] for user in operators]
    group["hosts"][data_host].update({
        "data_access_service_accounts": [DEMO_DATA_OWNER],
        "data_access_groups": [{"name": DEMO_DATA_GROUP, "members": [DEMO_OPERATOR_2FA]}],
        "data_access_directories": [{"path": DEMO_DATA_DIR, "owner": DEMO_DATA_OWNER, "group": DEMO_DATA_GROUP,
                                     "mode": "2750"}],
    })
    group["hosts"][web_host].update({
        "web_edge_server_name": web_host,
        "tls_endpoints": [{"port": 443, "sni": web_host}],
    })
    return document


def write_demo_inventory(inventory_dir: Path) -> Path:
    """demo.yml beside the lab's hosts.yml (mode 0600: it holds the demo's TOTP seed), with the demo operators'
    keys. The seed is printed nowhere; scripts/demo.sh removes these files with the lab."""
    import pyotp

    base = yaml.safe_load((inventory_dir / "hosts.yml").read_text())
    operator_key = inventory_dir / "demo-operators"
    for key in (operator_key, inventory_dir / "demo-bob"):
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{key.name}@stockade-demo",
                            "-f", str(key)], check=True)
    bob = inventory_dir / "demo-bob"
    bob_public = (inventory_dir / "demo-bob.pub").read_text().strip()
    bob.unlink()  # bob's private key is his own: the demo needs only his public key
    document = demo_inventory_document(base, operator_key.resolve(),
                                       (inventory_dir / "demo-operators.pub").read_text().strip(), bob_public,
                                       pyotp.random_base32())
    target = inventory_dir / "demo.yml"
    staging = target.with_suffix(".tmp")
    staging.touch(mode=0o600)
    staging.chmod(0o600)
    staging.write_text("# Written by scripts/demo.sh (stockade.lab.inventory.write_demo_inventory): holds the demo's "
                       "TOTP seed; removed with the lab.\n" + yaml.safe_dump(document, sort_keys=False))
    staging.replace(target)
    return target
