"""Real lab hosts for the integration tests: booted with `stockade lab up`, removed with `lab down`.

These tests replace any lab that is already up (there is one lab per machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from stockade.lab import cgroups, image
from stockade.lab.config import RELEASES, LabPaths

# Under pytest-xdist each worker gets a lab of its own (labs run side by side: STOCKADE_LAB_ID).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw") and "STOCKADE_LAB_ID" not in os.environ:
    os.environ["STOCKADE_LAB_ID"] = str(10 + int(_WORKER[2:]))

STOCKADE = [sys.executable, "-m", "stockade"]
REPO = Path(__file__).resolve().parents[2]


def stockade(*args: str, check: bool = False, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*STOCKADE, *args], capture_output=True, text=True, cwd=REPO, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"stockade {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def _parent(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None  # exited while we looked
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:"))


@dataclass(frozen=True)
class Lab:
    release: str
    inventory: Path
    paths: LabPaths

    def ssh(self, host: str, command: str) -> subprocess.CompletedProcess[str]:
        # A reload re-executes sshd, which closes its listening socket for a moment: a connection in that
        # window is refused. Retry only that, briefly; any other failure is returned as it is.
        for _ in range(20):
            result = subprocess.run(["ssh", "-F", str(self.paths.ssh_config), host, command],
                                    capture_output=True, text=True, timeout=60, check=False)
            if result.returncode != 255 or "Connection refused" not in result.stderr:
                return result
            time.sleep(0.5)
        return result

    def netns(self, host: str) -> str:
        return f"{self.paths.site.netns_prefix}{host}"

    def console(self, host: str, command: str) -> subprocess.CompletedProcess[str]:
        """Run a command inside the host without SSH (as its console would): for repairs SSH cannot do."""
        launcher = int((self.paths.state / "hosts" / host / "launcher.pid").read_text())
        init = next(pid for pid in cgroups.lab_pids(self.paths.site.cgroup_name) if _parent(pid) == launcher)
        return subprocess.run(["nsenter", "--target", str(init), "--mount", "--uts", "--ipc", "--net", "--pid",
                               "sh", "-c", command], capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="session", autouse=True)
def lab_images() -> None:
    """Build both releases' images side by side once, before any test needs one."""
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.fail("integration tests need root and the lab's tools: run them through `make test`")
    paths = LabPaths.from_env()
    with ThreadPoolExecutor(max_workers=len(RELEASES)) as pool:
        list(pool.map(lambda codename: image.ensure_image(paths.image_dir(codename), codename),
                      RELEASES.values()))


def boot_lab(tmp_path_factory: pytest.TempPathFactory, release: str, hosts: int) -> Iterator[Lab]:
    inventory_dir = tmp_path_factory.mktemp(f"inventory-{release}")
    stockade("lab", "up", "--hosts", str(hosts), "--release", release, "--inventory-dir", str(inventory_dir),
             check=True)
    try:
        yield Lab(release, inventory_dir / "hosts.yml", LabPaths.from_env(inventory_dir))
    finally:
        stockade("lab", "down", "--inventory-dir", str(inventory_dir), check=True)
