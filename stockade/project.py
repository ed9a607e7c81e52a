"""Where the project's own files are (ansible.cfg, playbooks/, roles/), and the tools beside Python."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("STOCKADE_HOME", Path(__file__).resolve().parents[1]))
ANSIBLE_CONFIG = PROJECT_ROOT / "ansible.cfg"
SITE_PLAYBOOK = PROJECT_ROOT / "playbooks" / "site.yml"


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
