"""A local apt repository on the controller, labelled like a Debian security origin, served to lab hosts.

Built with `dpkg-deb` only (the machine's dpkg): the Packages and Release indexes are written here in Python
(what apt-ftparchive would write), so the controller needs no extra package. The repository is UNSIGNED:
hosts add it with `[trusted=yes]`, which is acceptable in the lab only. It carries one dummy package,
`stockade-canary` (architecture all, no dependencies, nothing but a doc file), so "upgrading" it is safe.

Each published state dates its Release file (and the files' mtimes, which http.server uses for
If-Modified-Since) explicitly, so a test can plant an update that has been available for N days.
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

PACKAGE = "stockade-canary"
COMPONENT = "main"


def build_deb(workdir: Path, version: str) -> Path:
    """A tiny architecture-all package with one file whose content names its version."""
    root = workdir / f"build-{version}"
    (root / "DEBIAN").mkdir(parents=True, exist_ok=True)
    (root / "DEBIAN/control").write_text(
        f"Package: {PACKAGE}\nVersion: {version}\nArchitecture: all\nMaintainer: Stockade lab <lab@stockade.invalid>\n"
        "Section: misc\nPriority: optional\n"
        "Description: Stockade lab canary for patch-level tests\n Safe to install, upgrade and remove.\n")
    doc = root / "usr/share/doc" / PACKAGE
    doc.mkdir(parents=True, exist_ok=True)
    (doc / "VERSION").write_text(f"{version}\n")
    deb = workdir / f"{PACKAGE}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
                   check=True, capture_output=True)
    return deb


def _hashes(data: bytes) -> tuple[str, str]:
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()


def _stanza(deb: Path, filename: str) -> str:
    control = subprocess.run(["dpkg-deb", "--field", str(deb)], check=True, capture_output=True,
                             text=True).stdout.rstrip("\n")
    data = deb.read_bytes()
    md5, sha256 = _hashes(data)
    return f"{control}\nFilename: {filename}\nSize: {len(data)}\nMD5sum: {md5}\nSHA256: {sha256}\n"


@dataclass
class SecurityRepo:
    """dists/<codename>-security/main/binary-<arch>/Packages + Release, pool/main/*.deb, under `root`."""

    root: Path
    codename: str  # the hosts' release codename, e.g. trixie
    arch: str = "amd64"
    debs: dict[str, Path] = field(default_factory=dict)

    @property
    def suite(self) -> str:
        return f"{self.codename}-security"

    def add_version(self, version: str) -> None:
        deb = build_deb(self.root.parent / f"{self.root.name}-build", version)
        pool = self.root / "pool" / COMPONENT
        pool.mkdir(parents=True, exist_ok=True)
        target = pool / deb.name
        target.write_bytes(deb.read_bytes())
        self.debs[version] = target

    def publish(self, versions: list[str], date: datetime) -> None:
        """Offer exactly `versions`, in a Release dated `date` (an aware datetime)."""
        dist = self.root / "dists" / self.suite
        rel_packages = f"{COMPONENT}/binary-{self.arch}/Packages"
        packages = "\n".join(_stanza(self.debs[v], str(self.debs[v].relative_to(self.root))) for v in versions)
        (dist / rel_packages).parent.mkdir(parents=True, exist_ok=True)
        (dist / rel_packages).write_text(packages)
        data = packages.encode()
        md5, sha256 = _hashes(data)
        release = (
            "Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\n"
            f"Codename: {self.suite}\nDate: {email.utils.format_datetime(date, usegmt=True)}\n"
            f"Architectures: {self.arch}\nComponents: {COMPONENT}\n"
            "Description: Stockade lab canary, labelled as a Debian security origin (unsigned)\n"
            f"MD5Sum:\n {md5} {len(data)} {rel_packages}\nSHA256:\n {sha256} {len(data)} {rel_packages}\n")
        (dist / "Release").write_text(release)
        stamp = date.timestamp()
        for path in (dist / "Release", dist / rel_packages):
            os.utime(path, (stamp, stamp))

    def source_line(self, address: str, port: int) -> str:
        return f"deb [trusted=yes] http://{address}:{port}/ {self.suite} {COMPONENT}\n"


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass
class HttpServer:
    """python -m http.server on one address, started and stopped by its own PID."""

    directory: Path
    address: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.port = self.port or free_port(self.address)
        log = (self.directory.parent / "http.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", self.address,
             "--directory", str(self.directory)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"http.server exited at start on {self.address}:{self.port}")
            try:
                with socket.create_connection((self.address, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"http.server did not listen on {self.address}:{self.port}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
