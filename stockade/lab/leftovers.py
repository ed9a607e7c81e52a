"""Machine paths the lab's tools create as a side effect (`ip netns`, systemd-nspawn).

`up` records which of them did not exist before, so `down` can remove exactly those and leave the
machine as it found it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from stockade.lab.system import run

NETNS_DIR = Path("/run/netns")  # `ip netns` bind-mounts it onto itself
NSPAWN_RUN_DIR = Path("/run/systemd/nspawn")  # nspawn's lock and propagation directories
SIDE_EFFECT_PATHS = (NETNS_DIR, NSPAWN_RUN_DIR)


def record(record_file: Path) -> None:
    if record_file.exists():  # a crashed run's record still tells the truth about the machine
        return
    absent = [str(path) for path in SIDE_EFFECT_PATHS if not path.exists()]
    record_file.write_text(json.dumps(absent) + "\n")


def remove(record_file: Path) -> None:
    if not record_file.exists():
        return
    for name in json.loads(record_file.read_text()):
        path = Path(name)
        if not path.exists() or _in_use(path):
            continue  # another lab or tool uses it now: leave it
        if path == NETNS_DIR:
            while run(["mountpoint", "-q", str(path)], check=False).returncode == 0:
                run(["umount", str(path)])
        shutil.rmtree(path)
    record_file.unlink()


def _in_use(path: Path) -> bool:
    if path == NETNS_DIR:
        return any(path.iterdir())  # a namespace of another lab or tool
    # nspawn keeps a directory per running container under propagate/ and lock files under locks/.
    return any(not sub.is_dir() or any(sub.iterdir()) for sub in path.iterdir())
