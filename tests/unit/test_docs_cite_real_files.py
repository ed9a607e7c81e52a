"""README, docs/ and module docstrings cite only files that exist (a moved file leaves no stale pointer)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# A repository path as prose cites it: a top-level directory of ours, then path parts, ending in a file name.
CITED = re.compile(r"(?<![\w./-])((?:checks|stockade|tests|bench|roles|playbooks|scripts|docs|inventory)"
                   r"/[\w./-]*\w\.(?:py|yml|yaml|json|md|j2|sh|toml))\b")


GENERATED = {"inventory/lab/hosts.yml"}  # written by `stockade lab up`


def _docstrings() -> list[tuple[str, str]]:
    found = []
    for path in sorted([*REPO.glob("checks/**/*.py"), *REPO.glob("stockade/**/*.py"), *REPO.glob("bench/*.py")]):
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        if docstring:
            found.append((str(path.relative_to(REPO)), docstring))
    return found


def test_every_cited_file_exists() -> None:
    texts = [("README.md", (REPO / "README.md").read_text()),
             *((str(p.relative_to(REPO)), p.read_text()) for p in sorted(REPO.glob("docs/*.md"))),
             *_docstrings()]
    missing = sorted({f"{where}: {cited}" for where, text in texts for cited in CITED.findall(text)
                      if not (REPO / cited).exists() and cited not in GENERATED})
    assert not missing
