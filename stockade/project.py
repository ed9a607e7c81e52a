"""Where the project's own files are (ansible.cfg, playbooks/, roles/), and the tools beside Python.

Two layouts, the first that holds playbooks/site.yml wins:
- `STOCKADE_HOME` when set (a checkout or an unpacked collection of one's own), then the checkout this package
  runs from (`pip install -e .`, or `python -m stockade` in the tree): ansible.cfg, playbooks/, roles/ at
  its root, the roles found as stockade.hardening through collections/ (a symlink to the root);
- the installed package (a wheel, outside any checkout): setup.py's build step put the same files in
  `stockade/_ansible/`, the playbooks and roles laid out as the collection stockade.hardening.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from stockade.errors import UsageError

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_ROOT = PACKAGE_DIR.parent
INSTALLED_ROOT = PACKAGE_DIR / "_ansible"
INSTALLED_COLLECTION = Path("collections", "ansible_collections", "stockade", "hardening")


@dataclass(frozen=True)
class AnsibleFiles:
    """ansible.cfg and the site playbook of one layout, and where they were found."""

    root: Path
    ansible_config: Path
    site_playbook: Path
    layout: str  # "STOCKADE_HOME", "checkout" or "installed package"

    @property
    def present(self) -> bool:
        return self.ansible_config.is_file() and self.site_playbook.is_file()


def _checkout_layout(root: Path, layout: str) -> AnsibleFiles:
    return AnsibleFiles(root, root / "ansible.cfg", root / "playbooks" / "site.yml", layout)


def candidate_layouts(environ: dict[str, str] | None = None) -> list[AnsibleFiles]:
    env = os.environ if environ is None else environ
    candidates = []
    if env.get("STOCKADE_HOME"):
        candidates.append(_checkout_layout(Path(env["STOCKADE_HOME"]), "STOCKADE_HOME"))
    candidates.append(_checkout_layout(CHECKOUT_ROOT, "checkout"))
    candidates.append(AnsibleFiles(INSTALLED_ROOT, INSTALLED_ROOT / "ansible.cfg",
                                   INSTALLED_ROOT / INSTALLED_COLLECTION / "playbooks" / "site.yml",
                                   "installed package"))
    return candidates


def ansible_files(environ: dict[str, str] | None = None) -> AnsibleFiles:
    """The first layout that holds both files; when none does, the first candidate (the caller reports it).
    A STOCKADE_HOME that is set but holds neither is an error, never silently replaced by another tree."""
    candidates = candidate_layouts(environ)
    if candidates[0].layout == "STOCKADE_HOME":
        return candidates[0]
    return next((layout for layout in candidates if layout.present), candidates[0])


def require_ansible_files() -> AnsibleFiles:
    files = ansible_files()
    if not files.present:
        looked = "; ".join(f"{layout.layout}: {layout.site_playbook}" for layout in candidate_layouts())
        raise UsageError(f"no playbooks/site.yml with its ansible.cfg found ({looked}): run from a checkout, "
                         "set STOCKADE_HOME to one, or install the wheel built from pyproject.toml")
    return files


_FOUND = ansible_files()
PROJECT_ROOT = _FOUND.root
ANSIBLE_CONFIG = _FOUND.ansible_config
SITE_PLAYBOOK = _FOUND.site_playbook


def ansible_environment() -> dict[str, str]:
    """The environment for Ansible's tools: our ansible.cfg, and the venv's bin dir on PATH even when
    `stockade` is run by its full path without activating the venv."""
    env = dict(os.environ)
    env.setdefault("ANSIBLE_CONFIG", str(ANSIBLE_CONFIG))
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    return env


def use_ansible_environment() -> None:
    os.environ.update(ansible_environment())
