"""One script out of the collector package, to send to a host in a single command.

Modules are concatenated core first; their imports of each other are dropped (on the host they share one
namespace), and the script ends by calling `main` with the fact names given as arguments.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

PACKAGE = "checks.collect"
_INTERNAL_IMPORT = re.compile(r"^from checks\.collect(\.\w+)? import .*$|^import checks\.collect.*$", re.M)
_NOT_SENT = {"__init__.py", "bundle.py"}


def area_modules() -> list[str]:
    files = resources.files(PACKAGE)
    names = sorted(entry.name for entry in files.iterdir() if entry.name.endswith(".py"))
    return ["core.py"] + [name for name in names if name not in _NOT_SENT | {"core.py"}]


@cache
def script() -> bytes:
    files = resources.files(PACKAGE)
    parts = []
    for name in area_modules():
        source = files.joinpath(name).read_text()
        parts.append(f"# ---- {name}\n" + _INTERNAL_IMPORT.sub("", source))
    parts.append("main_from_argv()\n")
    return "\n".join(parts).encode()
