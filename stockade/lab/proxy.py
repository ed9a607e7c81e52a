"""The lab's apt proxy: apt-cacher-ng on the bridge address, forwarding only to the Debian mirror."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from stockade.errors import StockadeError
from stockade.lab.config import DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, PROXY_PORT, LabSite


def _config(site: LabSite, cache_dir: Path, log_dir: Path) -> str:
    # ForceManaged refuses everything that is not a remapped repository: the proxy is no open relay.
    return (
        f"CacheDir: {cache_dir}\nLogDir: {log_dir}\nPort: {PROXY_PORT}\nBindAddress: {site.gateway}\n"
        "ForeGround: 1\nForceManaged: 1\nExThreshold: 30\n"
        f"Remap-debian: {DEBIAN_MIRROR.removeprefix('http://')} ; {DEBIAN_MIRROR}\n"
        f"Remap-debsec: {DEBIAN_SECURITY_MIRROR.removeprefix('http://')} ; {DEBIAN_SECURITY_MIRROR}\n"
    )


def start(site: LabSite, state_dir: Path, cache_dir: Path) -> int:
    conf_dir, log_dir = state_dir / "proxy", state_dir / "proxy/log"
    log_dir.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "acng.conf").write_text(_config(site, cache_dir, log_dir))
    with (log_dir / "stdout.log").open("wb") as out:
        proc = subprocess.Popen(["apt-cacher-ng", "-c", str(conf_dir)], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    (state_dir / "proxy.pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StockadeError(f"apt-cacher-ng exited at start (see {log_dir}); is port {PROXY_PORT} taken?")
        try:
            with socket.create_connection((str(site.gateway), PROXY_PORT), timeout=0.5):
                return proc.pid
        except OSError:
            time.sleep(0.1)
    raise StockadeError(f"apt-cacher-ng did not listen on {site.gateway}:{PROXY_PORT}")


def stop(state_dir: Path) -> None:
    pid_file = state_dir / "proxy.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    # Only the process we started: the PID must still be an apt-cacher-ng using our config.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        cmdline = []
    if b"apt-cacher-ng" in b" ".join(cmdline) and str(state_dir / "proxy").encode() in cmdline:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink()
