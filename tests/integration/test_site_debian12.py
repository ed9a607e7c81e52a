"""The whole site on Debian 12 (bookworm): every role applied, every check judging the result.

The per-role modules (firewall, accounts and sshd, PAM and TOTP, web edge, baseline and data access) run their
drift, refusal and rollback cases on Debian 13 only: those cases exercise release-independent logic, and
running each on both releases cost the suite a quarter of its time. This module keeps Debian 12 proven end to
end, as `make demo` runs it: the demo fleet (`write_demo_inventory`: two operators, alice enrolled for TOTP,
customer data on lab-01, the web edge on lab-02) on 2 Debian 12 hosts.

- Fresh: `--check --diff` of the whole site runs clean and changes nothing; the audit finds every role's
  controls not holding (no PASS where a role has yet to act), including Debian 12's own SHA512 password hashing.
- `stockade harden` (the whole site, security updates included), then the audit with the example attestations:
  0 fail, 0 error, headline HOLDS.
- A second harden changes nothing; `--check --diff` changes nothing.
- The TOTP seed is in no output and no report file.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, Lab, boot_lab, stockade

from stockade.lab.inventory import DEMO_FILES, DEMO_OPERATOR_2FA, write_demo_inventory

ATTESTATIONS = REPO / "inventory" / "examples" / "attestations.yml"
HOSTS = ("lab-01", "lab-02")
# A control of every role: none may pass on a fresh host (each needs its role's work).
ROLE_CONTROLS = {"firewall": ("FW-01", "SSH-02"), "sshd": ("SSH-03", "SSH-04"), "accounts": ("ACCT-01", "ACCT-02"),
                 "pam": ("PAM-01", "PAM-02"),  # PAM-02: Debian 12 ships SHA512 hashing
                 "totp": ("MFA-01",), "web_edge": ("TLS-01", "WEB-01"),
                 "baseline": ("BASE-09", "BASE-10", "BASE-11"), "patching": ("PATCH-01",),
                 "data_access": ("DAC-01", "AUD-01")}
# Files a role writes: none may exist after the check-mode run of a fresh host.
ROLE_ARTEFACTS = ("/etc/ssh/sshd_config.d/00-stockade.conf", "/etc/sudoers.d/stockade-ops",
                  "/etc/security/pwquality.conf.d/50-stockade.conf", "/etc/nginx/conf.d/stockade-web-edge.conf",
                  "/var/lib/stockade-firewall")


@dataclass
class Site:
    lab: Lab
    inventory: Path
    reports: Path
    seed: str = field(repr=False)  # never in test output: every check of it is a bare bool in an assert
    outputs: list[str] = field(default_factory=list, repr=False)

    def run(self, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
        result = stockade(*args, timeout=timeout)
        self.outputs.extend((result.stdout, result.stderr))
        return result

    def harden(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("harden", "-i", str(self.inventory), *extra)

    def audit(self, name: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        out = self.reports / name
        result = self.run("audit", "-i", str(self.inventory), "-o", str(out), "--attestations", str(ATTESTATIONS))
        [run_dir] = [path for path in out.iterdir() if path.is_dir()]
        self.outputs.extend(path.read_text(errors="replace") for path in run_dir.rglob("*") if path.is_file())
        return result, json.loads((run_dir / "results.json").read_text())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    for lab in boot_lab(tmp_path_factory, "12", hosts=len(HOSTS)):
        try:
            inventory = write_demo_inventory(lab.inventory.parent)
            seeds = yaml.safe_load(inventory.read_text())["all"]["children"]["lab"]["vars"]["totp_seeds"]
            yield Site(lab, inventory, tmp_path_factory.mktemp("site12-reports"), seeds[DEMO_OPERATOR_2FA])
        finally:  # as scripts/demo.sh: the seed (demo.yml) and the operator key go with the lab
            for name in DEMO_FILES:
                (lab.inventory.parent / name).unlink(missing_ok=True)


def changed(output: str) -> dict[str, int]:
    return {host: int(count) for host, count in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


def not_passing(document: dict[str, Any], host: str, control: str) -> bool:
    return any(f["status"] in ("fail", "error") for f in document["findings"]
               if f["host"] == host and f["control_id"] == control)


def test_fresh_check_mode_runs_clean_and_changes_nothing(site: Site) -> None:
    result = site.harden("--check", "--diff")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    for host in HOSTS:
        present = site.lab.ssh(host, "sudo ls -d " + " ".join(ROLE_ARTEFACTS) + " 2>/dev/null; true").stdout
        assert present.split() == [], (host, present)


def test_fresh_hosts_do_not_hold_any_role_control(site: Site) -> None:
    result, document = site.audit("fresh")
    assert result.returncode in (1, 3), result.stderr[-2000:]
    for host in HOSTS:
        holding = [control for controls in ROLE_CONTROLS.values() for control in controls
                   if not not_passing(document, host, control)]
        assert holding == [], (host, holding)


def test_harden_then_the_site_holds(site: Site) -> None:
    first = site.harden()
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert all(count > 0 for count in changed(first.stdout).values()), changed(first.stdout)
    result, document = site.audit("hardened")
    statuses = {f["status"] for f in document["findings"]}
    problems = [(f["host"], f["check_id"], f["message"]) for f in document["findings"]
                if f["status"] in ("fail", "error")]
    assert problems == [], problems
    assert statuses <= {"pass", "skipped", "manual"}, statuses
    assert result.stderr.strip().splitlines()[-1].startswith("HOLDS:"), result.stderr[-2000:]
    assert result.returncode == 0


def test_second_harden_and_check_mode_change_nothing(site: Site) -> None:
    second = site.harden()
    assert second.returncode == 0 and changed(second.stdout) == dict.fromkeys(HOSTS, 0), second.stdout[-3000:]
    check = site.harden("--check", "--diff")
    assert check.returncode == 0 and changed(check.stdout) == dict.fromkeys(HOSTS, 0), check.stdout[-3000:]


def test_the_seed_is_in_no_output_or_report(site: Site) -> None:
    assert site.outputs, "no output was recorded"
    leaked = any(site.seed in text for text in site.outputs)
    assert not leaked, "the TOTP seed appears in an output or a report file"
