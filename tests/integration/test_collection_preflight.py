"""site.yml's whole-play pre-flight and the collection stockade.hardening, on real lab hosts (Debian 13).

- A bad variable for one role on one host (`firewall_extra_openings: "not a list"` on lab-02) stops
  `stockade harden` before any change on any host: exit non-zero, changed=0 on both hosts, nothing of any role
  on either host, and the message names the host, the variable and why.
- Refusals of several hosts are all reported (an argument spec on lab-02 and a role's own assert, AllowGroups
  without the automation account, on lab-01), still with changed=0 everywhere.
- A cross-role rule: an operator the accounts role of the same run creates, and who elects 2FA, is accepted by
  the totp pre-flight that runs before the accounts role, and the run then enrols them.
- The collection is built with `ansible-galaxy collection build`, installed into a temporary collections path
  and applied from there with `ansible-playbook stockade.hardening.site` (no checkout ansible.cfg): the sshd role
  really changes the host, and a second run changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import REPO, Lab, boot_lab, stockade

BIN = Path(sys.executable).parent
# Files some role of site.yml writes on every host: none may exist after a refused pre-flight.
ROLE_ARTEFACTS = ["/etc/apt/apt.conf.d/20auto-upgrades-stockade", "/etc/ssh/sshd_config.d/00-stockade.conf",
                  "/etc/sudoers.d/stockade-ops", "/etc/security/pwquality.conf.d/50-stockade.conf",
                  "/etc/sysctl.d/zz-stockade-baseline.conf", "/etc/nginx/conf.d/stockade-web-edge.conf",
                  "/var/lib/stockade-firewall"]
SEED = "JBSWY3DPEHPK3PXPJBSWY3DP"  # a throwaway base32 test seed, never a real one


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, "13", hosts=2)


def inventory_with(lab: Lab, name: str, *, all_vars: dict[str, object] | None = None,
                   host_vars: dict[str, dict[str, object]] | None = None) -> Path:
    document = yaml.safe_load(lab.inventory.read_text())
    group = document["all"]["children"]["lab"]
    group["vars"].update(all_vars or {})
    for host, variables in (host_vars or {}).items():
        group["hosts"][host].update(variables)
    path = lab.inventory.with_name(name)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def recap(output: str) -> dict[str, int]:
    return {host: int(changed) for host, changed in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


def flat(output: str) -> str:
    """Ansible's YAML callback folds long messages over lines: compare with whitespace collapsed."""
    return " ".join(output.split())


def untouched(lab: Lab, host: str) -> list[str]:
    """The role artefacts present on HOST (none expected after a refused pre-flight)."""
    listing = lab.ssh(host, "sudo ls -d " + " ".join(ROLE_ARTEFACTS) + " 2>/dev/null; true").stdout
    return listing.split()


def test_a_bad_variable_on_one_host_leaves_every_host_untouched(lab: Lab) -> None:
    inventory = inventory_with(lab, "bad-firewall.yml", host_vars={"lab-02": {"firewall_extra_openings": "not a list"}})
    result = stockade("harden", "-i", str(inventory))
    assert result.returncode != 0, result.stdout[-3000:]
    assert recap(result.stdout) == {"lab-01": 0, "lab-02": 0}, result.stdout[-3000:]
    said = flat(result.stdout)
    assert "lab-02: role firewall refused" in said
    assert "'firewall_extra_openings' is of type str" in said and "(no host was changed)" in said
    assert "lab-01: role" not in said  # lab-01's inputs are fine: it is stopped, not blamed
    assert "PLAY [Harden hosts with Stockade]" not in result.stdout
    for host in ("lab-01", "lab-02"):
        assert untouched(lab, host) == [], host


def test_every_host_s_refusals_are_reported_before_any_change(lab: Lab) -> None:
    inventory = inventory_with(lab, "bad-both.yml", host_vars={
        "lab-01": {"sshd_allow_groups": ["ops"]},
        "lab-02": {"firewall_extra_openings": [{"port": "ssh-ish", "proto": "tcp"}]},
    })
    result = stockade("harden", "-i", str(inventory))
    assert result.returncode != 0
    assert recap(result.stdout) == {"lab-01": 0, "lab-02": 0}, result.stdout[-3000:]
    said = flat(result.stdout)
    assert "lab-01: role sshd refused" in said and "Refusing to write AllowGroups ops:" in said
    assert "lab-02: role firewall refused" in said and "Bad firewall opening" in said and "ssh-ish" in said
    for host in ("lab-01", "lab-02"):
        assert untouched(lab, host) == [], host


def test_an_operator_the_same_run_creates_may_elect_2fa(lab: Lab) -> None:
    public_key = lab.paths.key.with_suffix(".pub").read_text().strip()
    inventory = inventory_with(lab, "operators.yml", all_vars={
        "accounts_ops_users": [{"name": "dora", "ssh_keys": [public_key], "groups": [], "totp": True}],
        "totp_seeds": {"dora": SEED},
    })
    assert lab.ssh("lab-01", "id dora").returncode != 0  # not there yet: the accounts role creates dora
    result = stockade("harden", "-i", str(inventory), "--limit", "lab-01", "--tags", "accounts,totp")
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result.stdout)["lab-01"] > 0
    assert SEED not in result.stdout + result.stderr
    assert set(lab.ssh("lab-01", "id -nG dora").stdout.split()) == {"dora", "ops", "ops-totp"}
    assert lab.ssh("lab-01", "sudo stat -c '%U %a' /home/dora/.google_authenticator").stdout.strip() == "dora 400"


def test_the_built_collection_hardens_a_host_by_its_fqcn(lab: Lab, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env |= {"ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections"), "PATH": f"{BIN}{os.pathsep}{env['PATH']}"}

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        # From an empty directory: no ansible.cfg of the checkout is read, only the installed collection is used.
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
                              check=False)

    built = run(str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(REPO))
    assert built.returncode == 0, built.stderr
    [archive] = tmp_path.glob("stockade-hardening-*.tar.gz")
    members = subprocess.run(["tar", "tzf", str(archive)], capture_output=True, text=True, check=True).stdout.split()
    assert {"playbooks/site.yml", "roles/sshd/tasks/main.yml", "roles/sshd/tasks/preflight.yml",
            "meta/runtime.yml", "MANIFEST.json"} <= set(members)
    assert not [m for m in members if m.split("/")[0] in {"tests", "checks", "stockade", ".venv", "bench", "reports"}]
    manifest = json.loads(subprocess.run(["tar", "xzOf", str(archive), "MANIFEST.json"], capture_output=True,
                                         text=True, check=True).stdout)
    assert (manifest["collection_info"]["namespace"], manifest["collection_info"]["name"]) == ("stockade", "hardening")

    installed = run(str(BIN / "ansible-galaxy"), "collection", "install", "-p", str(tmp_path / "collections"),
                    str(archive))
    assert installed.returncode == 0, installed.stderr
    assert (tmp_path / "collections/ansible_collections/stockade/hardening/roles/sshd").is_dir()

    harden = [str(BIN / "ansible-playbook"), "-i", str(lab.inventory), "stockade.hardening.site",
              "--limit", "lab-02", "--tags", "sshd"]
    first = run(*harden)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert "stockade.hardening.sshd : SSH-01,03,04 | Render the sshd drop-in" in first.stdout
    assert recap(first.stdout)["lab-02"] > 0
    effective = lab.ssh("lab-02", "sudo sshd -T").stdout.splitlines()
    assert "permitrootlogin no" in effective and "passwordauthentication no" in effective
    second = run(*harden)
    assert second.returncode == 0 and recap(second.stdout) == {"lab-02": 0}, second.stdout[-3000:]
