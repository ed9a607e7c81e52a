"""The wheel built from pyproject.toml, installed in a fresh venv outside the checkout, hardens and audits.

- The wheel is built the way a release is: an sdist from a clean copy of the tree (git's tracked and untracked,
  not ignored files; MANIFEST.in decides what the sdist carries), then `pip wheel --no-deps` from that sdist,
  offline (`--no-index --no-build-isolation`, the venv's setuptools).
- It carries the Ansible side (setup.py's build step): stockade/_ansible/ansible.cfg and the collection
  stockade.hardening (galaxy.yml, meta/runtime.yml, playbooks/, every role), besides the catalogue, the
  collector and the report templates.
- A fresh venv (outside the checkout, no pip of its own) gets the wheel with `pip --python VENV install
  --no-deps --no-index`. Its dependencies are the checkout venv's, already installed: a .pth line puts that
  site-packages after the venv's own (a .pth line only extends sys.path: the checkout's editable finder is
  not activated, so `stockade` is the wheel's), and Ansible's console scripts are written into VENV/bin for
  VENV's Python, as pip would when installing ansible-core. Nothing is downloaded.
- From an empty directory, with no ANSIBLE_* or STOCKADE_HOME in the environment and only VENV/bin of any
  venv on PATH, the installed package runs the demo's own steps after its first audit (issue 17): the demo
  fleet written by `write_demo_inventory` on 2 Debian 13 lab hosts (two operators, alice enrolled with a seed
  made for this run, customer data on lab-01, the web edge on lab-02), `stockade harden -i demo.yml` (the whole
  site playbook), `stockade audit` with the example attestations, `tls` and `history`; the files they used are
  the installed package's.
- The demo's report.html, opened from a file:// URL in headless Chromium: every clause assessed, the headline
  HOLDS (never MANUAL), the behaviour evidence (the TOTP login, the refused unauthorized read, the 429 burst)
  shown, no console error; and the seed is in no output and no file the audit wrote.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from browser_cdp import Browser, report_browser
from conftest import REPO, Lab, boot_lab
from test_report_chromium import problems

from stockade.lab.inventory import DEMO_FILES, DEMO_OPERATOR_2FA, write_demo_inventory

CHECKOUT_BIN = Path(sys.executable).parent
CHECKOUT_SITE = Path(sysconfig.get_paths()["purelib"])
ROLES = sorted(path.name for path in (REPO / "roles").iterdir() if (path / "tasks" / "main.yml").is_file())
COLLECTION = "stockade/_ansible/collections/ansible_collections/stockade/hardening"
ATTESTATIONS = REPO / "inventory" / "examples" / "attestations.yml"


def _run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    listed = _ok(_run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO)).stdout
    for name in filter(None, listed.split("\0")):
        origin = REPO / name
        if origin.is_symlink() or not origin.is_file():
            continue  # collections/.../hardening is a symlink to the root: the build lays the collection out itself
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, source / name)
    dist = tmp_path_factory.mktemp("dist")
    sdist = _ok(_run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                      "print(build_meta.build_sdist(sys.argv[1]))", str(dist)], cwd=source)).stdout.split()[-1]
    _ok(_run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index", "--no-build-isolation",
              "-w", str(dist), str(dist / sdist)], cwd=dist))
    (built,) = dist.glob("stockade-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "stockade"
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", str(root)], cwd=root.parent))
    python = root / "bin" / "python"
    _ok(_run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
              str(wheel)], cwd=root.parent))
    site = Path(_ok(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         cwd=root.parent)).stdout.strip())
    (site / "zz-stockade-test-dependencies.pth").write_text(f"{CHECKOUT_SITE}\n")
    for script in CHECKOUT_BIN.glob("ansible*"):
        lines = script.read_text().splitlines(keepends=True)
        if lines and lines[0].startswith("#!") and "python" in lines[0]:
            target = root / "bin" / script.name
            target.write_text(f"#!{python}\n" + "".join(lines[1:]))
            target.chmod(0o755)
    return root


def venv_env(venv: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_", "VIRTUAL_ENV", "PYTHON")) and key != "STOCKADE_HOME"}
    path = [part for part in env.get("PATH", "").split(os.pathsep) if part and Path(part) != CHECKOUT_BIN]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    return env


def test_the_wheel_carries_the_ansible_side_catalogue_and_collector(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"stockade/_ansible/ansible.cfg", f"{COLLECTION}/galaxy.yml", f"{COLLECTION}/meta/runtime.yml",
                f"{COLLECTION}/playbooks/site.yml", "checks/catalogue/controls.yml", "checks/catalogue/policy.yml",
                "checks/catalogue/schema.json", "checks/collect/__init__.py",
                "stockade/report/templates/report.html.j2", "stockade/report/results.schema.json"}
    expected |= {f"{COLLECTION}/roles/{role}/tasks/main.yml" for role in ROLES}
    expected |= {f"{COLLECTION}/roles/{role}/meta/argument_specs.yml" for role in ROLES}
    assert expected <= names, sorted(expected - names)
    # Every file of every role, not a sample: the tree in the wheel is the checkout's.
    in_checkout = {f"{COLLECTION}/{path.relative_to(REPO).as_posix()}" for tree in ("roles", "playbooks")
                   for path in (REPO / tree).rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    assert in_checkout <= names, sorted(in_checkout - names)[:10]
    config = zipfile.ZipFile(wheel).read("stockade/_ansible/ansible.cfg").decode()
    assert "roles_path = collections/ansible_collections/stockade/hardening/roles" in config
    assert "collections_path = collections:" in config


def test_the_installed_package_finds_its_own_files_outside_the_checkout(venv: Path, tmp_path: Path) -> None:
    probe = _ok(_run([str(venv / "bin" / "python"), "-c",
                      "import json, stockade, stockade.project as p; print(json.dumps({'module': stockade.__file__, "
                      "'layout': p.ansible_files().layout, 'config': str(p.ANSIBLE_CONFIG), "
                      "'site': str(p.SITE_PLAYBOOK)}))"], cwd=tmp_path, env=venv_env(venv)))
    found = json.loads(probe.stdout)
    assert found["layout"] == "installed package"
    for key in ("module", "config", "site"):
        assert Path(found[key]).is_relative_to(venv), found
        assert not Path(found[key]).is_relative_to(REPO), found
    # Ansible reads that ansible.cfg and resolves the FQCN roles inside the installed package.
    roles = _ok(_run([str(venv / "bin" / "python"), "-c",
                      "import os, subprocess, sys; from stockade.project import ansible_environment; "
                      "sys.exit(subprocess.run(['ansible-config', 'dump', '--only-changed'], "
                      "env=ansible_environment()).returncode)"], cwd=tmp_path, env=venv_env(venv)))
    assert str(venv) in roles.stdout and str(REPO) not in roles.stdout, roles.stdout




@dataclass
class DemoRun:
    """What the installed package did with the demo fleet: its outputs and the audit's run directory."""

    lab: Lab
    inventory: Path
    workdir: Path
    seed: str = field(repr=False)  # never in test output: every check of it is a bare bool in an assert
    outputs: list[str] = field(default_factory=list, repr=False)
    run_dir: Path | None = None

    def leaks_into(self, text: str | bytes) -> bool:
        return (self.seed.encode() if isinstance(text, bytes) else self.seed) in text


@pytest.fixture(scope="module")
def demo(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """The installed stockade hardens and audits the demo fleet, once for the module, from an empty directory."""
    for lab in boot_lab(tmp_path_factory, "13", hosts=2):
        try:
            inventory = write_demo_inventory(lab.inventory.parent)
            seeds = yaml.safe_load(inventory.read_text())["all"]["children"]["lab"]["vars"]["totp_seeds"]
            yield _harden_and_audit(DemoRun(lab, inventory, tmp_path_factory.mktemp("workdir"),
                                            seeds[DEMO_OPERATOR_2FA]), venv)
        finally:  # as scripts/demo.sh: the seed (demo.yml) and the operator key go with the lab
            for name in DEMO_FILES:
                (lab.inventory.parent / name).unlink(missing_ok=True)


def _harden_and_audit(demo: DemoRun, venv: Path) -> DemoRun:
    stockade, env = str(venv / "bin" / "stockade"), venv_env(venv)
    harden = _run([stockade, "harden", "-i", str(demo.inventory)], cwd=demo.workdir, env=env, timeout=1500)
    audit = _run([stockade, "audit", "-i", str(demo.inventory), "-o", "reports", "--key-dir", "keys",
                  "--attestations", str(ATTESTATIONS)], cwd=demo.workdir, env=env, timeout=900)
    demo.outputs.extend([harden.stdout, harden.stderr, audit.stdout, audit.stderr])
    assert harden.returncode == 0, harden.stdout[-3000:] + harden.stderr[-2000:]
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-2000:]
    (demo.run_dir,) = [path for path in (demo.workdir / "reports").iterdir() if path.is_dir()]
    return demo


def test_installed_stockade_hardens_the_demo_fleet_with_the_installed_files(demo: DemoRun) -> None:
    harden_out = demo.outputs[0]
    assert "PLAY [Harden hosts with Stockade]" in harden_out
    assert str(REPO) not in demo.outputs[0] + demo.outputs[1]  # nothing of the checkout was used
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", harden_out, re.M))
    assert set(recap) == {"lab-01", "lab-02"} and "0" not in recap.values(), recap


def test_installed_stockade_audits_and_the_demo_holds(demo: DemoRun) -> None:
    assert demo.run_dir is not None
    results = json.loads((demo.run_dir / "results.json").read_text())
    problems_found = [(f["host"], f["check_id"]) for f in results["findings"] if f["status"] in ("fail", "error")]
    assert problems_found == [] and results["summary"]["pass"] > 0, problems_found
    # Manual controls are answered once for the organisation; every other finding is a lab host's.
    assert {f["host"] for f in results["findings"] if f["status"] != "manual"} == {"lab-01", "lab-02"}
    assert demo.outputs[3].strip().splitlines()[-1].startswith("HOLDS:"), demo.outputs[3][-2000:]


def test_installed_stockade_scans_tls_and_lists_history(demo: DemoRun, venv: Path) -> None:
    stockade, env = str(venv / "bin" / "stockade"), venv_env(venv)
    hosts = yaml.safe_load(demo.lab.inventory.read_text())["all"]["children"]["lab"]["hosts"]
    ca_file = demo.lab.inventory.parent / "web_edge_ca" / "ca.crt"
    tls = _run([stockade, "tls", f"{hosts['lab-02']['ansible_host']}:443=lab-02", "--ca-file", str(ca_file),
                "-o", "tls-reports"], cwd=demo.workdir, env=env, timeout=600)
    assert tls.returncode == 0, tls.stdout[-3000:] + tls.stderr[-2000:]
    (tls_dir,) = [path for path in (demo.workdir / "tls-reports").iterdir() if path.is_dir()]
    tls_results = json.loads((tls_dir / "results.json").read_text())
    assert tls_results["summary"]["pass"] > 0 and tls_results["summary"].get("fail", 0) == 0
    history = _run([stockade, "history", "-o", "reports"], cwd=demo.workdir, env=env, timeout=120)
    assert history.returncode == 0, history.stderr
    assert demo.run_dir is not None
    assert [line.split()[0] for line in history.stdout.splitlines()[1:]] == [demo.run_dir.name]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with report_browser() as opened:
        yield opened


PAGE_FACTS = """(() => {
  const all = (selector) => [...document.querySelectorAll(selector)];
  return {
    headline: document.querySelector('dd.headline .badge').textContent.trim(),
    headlineText: document.querySelector('dd.headline').textContent,
    clauses: all('#clauses tr.clause').map((row) => [row.querySelector('td.mono').textContent,
                                                      row.className]),
    notAssessedBadges: all('#clauses tr.clause .badge').filter((b) => b.textContent.includes('not assessed')).length,
    text: document.body.textContent.replace(/\\s+/g, ' '),  // collapsed evidence included
  };
})()"""


def test_the_demo_report_assesses_every_clause_in_chromium(demo: DemoRun, browser: Browser) -> None:
    assert demo.run_dir is not None
    page = demo.run_dir / "report.html"
    url = page.resolve().as_uri()
    browser.navigate(url)
    facts: dict[str, Any] = browser.evaluate(PAGE_FACTS)
    assert problems(browser, url) == []
    assert facts["clauses"], "the report shows no clause"
    not_assessed = [clause for clause, classes in facts["clauses"] if "verdict-not_assessed" in classes
                    or "verdict-partly" in classes]
    assert not_assessed == [] and facts["notAssessedBadges"] == 0, facts["headlineText"]
    assert facts["headline"] == "HOLDS", facts["headlineText"]
    text = facts["text"]
    # The behaviour evidence: alice's TOTP login, the refused unauthorized read, the 429 burst.
    assert f"{DEMO_OPERATOR_2FA}: key alone refused, key + code accepted, reused code refused" in text
    assert "(not authorized) is refused listing every data directory" in text
    assert "bursts met 429 within" in text


def test_the_demo_seed_is_in_no_output_and_no_report_file(demo: DemoRun) -> None:
    assert demo.run_dir is not None
    written = [path for path in demo.run_dir.rglob("*") if path.is_file()]
    assert {"report.html", "results.json"} <= {path.name for path in written}
    leaking = [path.name for path in written if demo.leaks_into(path.read_bytes())]
    assert leaking == [], "the TOTP seed appears in these report files"
    leaked = any(demo.leaks_into(text) for text in demo.outputs)
    assert not leaked, "the TOTP seed appears in the harden or audit output"
