"""The build step that makes an installed Stockade able to harden: the Ansible side travels in the wheel.

pyproject.toml holds everything else. `build_py` copies the checkout's ansible.cfg, playbooks/, roles/,
galaxy.yml and meta/runtime.yml into the package as `stockade/_ansible/`, laid out as the collection
stockade.hardening (the playbooks call the roles by FQCN):

    stockade/_ansible/ansible.cfg                    the checkout's, roles_path pointed at the collection
    stockade/_ansible/collections/ansible_collections/stockade/hardening/
        galaxy.yml  meta/runtime.yml  playbooks/  roles/

stockade/project.py finds them there when the package runs outside a checkout. An editable install
(`pip install -e .`) copies nothing: it runs from the checkout, which has them already. MANIFEST.in puts
the same files in the sdist, so a wheel built from the sdist carries them too.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
COLLECTION = Path("collections", "ansible_collections", "stockade", "hardening")
TREES = ("playbooks", "roles")
FILES = ("galaxy.yml", "meta/runtime.yml")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def installed_ansible_cfg(text: str) -> str:
    """The checkout's ansible.cfg with roles_path at the collection's roles (collections_path is the same:
    relative paths resolve against the file's own directory)."""
    return re.sub(r"(?m)^roles_path\s*=.*$", f"roles_path = {(COLLECTION / 'roles').as_posix()}", text, count=1)


class BuildPyWithAnsible(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib, "stockade", "_ansible")
        if target.exists():
            shutil.rmtree(target)
        collection = target / COLLECTION
        for tree in TREES:
            source = HERE / tree
            if not (source / "site.yml").is_file() and tree == "playbooks":
                raise SystemExit(f"{source}: no site.yml; build from the checkout or its sdist")
            shutil.copytree(source, collection / tree, ignore=IGNORED)
        for name in FILES:
            (collection / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HERE / name, collection / name)
        (target / "ansible.cfg").write_text(installed_ansible_cfg((HERE / "ansible.cfg").read_text()))


setup(cmdclass={"build_py": BuildPyWithAnsible})
