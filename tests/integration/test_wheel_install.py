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
  venv on PATH: `stockade harden` (the whole site playbook, one lab host), `audit`, `tls` and `history` work,
  and the files they used are the installed package's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import REPO, Lab, boot_lab

CHECKOUT_BIN = Path(sys.executable).parent
CHECKOUT_SITE = Path(sysconfig.get_paths()["purelib"])
ROLES = sorted(path.name for path in (REPO / "roles").iterdir() if (path / "tasks" / "main.yml").is_file())
COLLECTION = "stockade/_ansible/collections/ansible_collections/stockade/hardening"


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


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, "13", hosts=1)


def test_installed_stockade_hardens_audits_scans_and_lists_history(venv: Path, lab: Lab, tmp_path: Path) -> None:
    env = venv_env(venv)
    stockade = str(venv / "bin" / "stockade")
    keys = tmp_path / "keys"

    harden = _run([stockade, "harden", "-i", str(lab.inventory)], cwd=tmp_path, env=env, timeout=1200)
    assert harden.returncode == 0, harden.stdout[-3000:] + harden.stderr[-2000:]
    assert "PLAY [Harden hosts with Stockade]" in harden.stdout
    assert str(REPO) not in harden.stdout + harden.stderr  # nothing of the checkout was used
    assert "lab-01" in harden.stdout and "changed=0" not in harden.stdout.split("PLAY RECAP")[-1]

    audit = _run([stockade, "audit", "-i", str(lab.inventory), "-o", "reports", "--key-dir", str(keys)],
                 cwd=tmp_path, env=env, timeout=900)
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-2000:]
    (run_dir,) = [path for path in (tmp_path / "reports").iterdir() if path.is_dir()]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["summary"]["pass"] > 0 and results["summary"].get("error", 0) == 0, results["summary"]
    # Manual controls are answered once for the organisation; every other finding is the lab host's.
    assert {f["host"] for f in results["findings"] if f["status"] != "manual"} == {"lab-01"}
    assert (run_dir / "report.html").is_file()

    address = yaml.safe_load(lab.inventory.read_text())["all"]["children"]["lab"]["hosts"]["lab-01"]["ansible_host"]
    ca_file = lab.inventory.parent / "web_edge_ca" / "ca.crt"
    tls = _run([stockade, "tls", f"{address}:443=lab-01", "--ca-file", str(ca_file), "-o", "tls-reports"],
               cwd=tmp_path, env=env, timeout=600)
    assert tls.returncode == 0, tls.stdout[-3000:] + tls.stderr[-2000:]
    (tls_dir,) = [path for path in (tmp_path / "tls-reports").iterdir() if path.is_dir()]
    tls_results = json.loads((tls_dir / "results.json").read_text())
    assert tls_results["summary"]["pass"] > 0 and tls_results["summary"].get("fail", 0) == 0

    history = _run([stockade, "history", "-o", "reports"], cwd=tmp_path, env=env, timeout=120)
    assert history.returncode == 0, history.stderr
    assert [line.split()[0] for line in history.stdout.splitlines()[1:]] == [run_dir.name]
