"""Write a run's manifest: the SHA-256 of every output, the previous run's manifest digest, a signature.

Files in a signed run directory:

- ``manifest.json``: ``run_id``, ``created_at``, ``files`` (name, sha256, bytes of every other output),
  ``previous`` (``run_id``, ``directory`` and ``manifest_sha256`` of the run before it in the same reports
  directory, ``null`` for the first), ``retired`` (``run_id``, ``dir`` and ``manifest_sha256`` of the runs
  this run retires under retention: their directories are deleted once this run is published; see
  ``retention``) and the signing key's fingerprint. Version 2; version 1 had no ``retired``.
- ``manifest.sig``: base64 Ed25519 signature over the exact bytes of ``manifest.json``.
- ``manifest.pub``: the public key (PEM), for convenience; pin the key with ``verify --public-key``.

The chain head (``<reports>/.stockade-chain-head.json``) names the latest signed run. A new run chains to
the head even when the head's directory has been removed, so the removal stays visible to ``verify``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stockade.integrity.keys import Signer, public_key_pem

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "manifest.pub"
MANIFEST_FILES = (MANIFEST, SIGNATURE, PUBLIC_KEY)
CHAIN_HEAD = ".stockade-chain-head.json"
CHAIN_LOCK = ".stockade-chain.lock"
MANIFEST_VERSION = 2  # 2: ``retired``

# Retention's planner (``retention.Retirement.plan``), called under the chain lock with (reports directory,
# run id, previous link); returns the new manifest's ``retired`` list.
RetirementPlanner = Callable[[Path, str, dict[str, Any] | None], list[dict[str, str]]]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def chain_lock(reports_dir: Path) -> Iterator[None]:
    """Serialise runs writing into one reports directory, so the chain never forks."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(reports_dir / CHAIN_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_head(reports_dir: Path) -> dict[str, Any] | None:
    path = reports_dir / CHAIN_HEAD
    try:
        head: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError):
        return None
    return head if isinstance(head, dict) and isinstance(head.get("directory"), str) else None


def _latest_sibling(reports_dir: Path) -> dict[str, Any] | None:
    """Without a chain head: the sibling run whose manifest is newest (by created_at, then run id)."""
    best: tuple[str, str, Path] | None = None
    for child in reports_dir.iterdir() if reports_dir.is_dir() else ():
        manifest = child / MANIFEST
        if child.name.startswith(".") or not child.is_dir() or not manifest.is_file():
            continue
        try:
            document = json.loads(manifest.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        key = (str(document.get("created_at", "")), str(document.get("run_id", "")), child)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None
    return {"run_id": best[1], "directory": best[2].name, "manifest_sha256": sha256_file(best[2] / MANIFEST)}


def previous_link(reports_dir: Path) -> dict[str, Any] | None:
    """What the next run records as ``previous``: the chain head, else the newest signed sibling."""
    head = read_head(reports_dir)
    if head is not None:
        return {key: head.get(key) for key in ("run_id", "directory", "manifest_sha256")}
    return _latest_sibling(reports_dir)


def write_manifest(staging: Path, run_id: str, signer: Signer, previous: dict[str, Any] | None,
                   retired: list[dict[str, str]] | None = None) -> str:
    """Write the manifest, signature and public key into ``staging``; return the manifest's SHA-256.

    Every regular file already in ``staging`` is listed; call this after all outputs are written, under the
    chain lock. ``retired``: the older runs this run retires (retention), none by default.
    """
    files = sorted(path for path in staging.iterdir() if path.is_file() and path.name not in MANIFEST_FILES)
    document = {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "algorithm": "sha256",
        "files": [{"name": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size}
                  for path in files],
        "previous": previous,
        "retired": retired or [],
        "signature": {"algorithm": "Ed25519", "signature_file": SIGNATURE, "public_key_file": PUBLIC_KEY,
                      "public_key_sha256": signer.fingerprint},
    }
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    for name, content in ((MANIFEST, data), (SIGNATURE, signer.sign(data)),
                          (PUBLIC_KEY, public_key_pem(signer.public_key))):
        with (staging / name).open("xb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    return hashlib.sha256(data).hexdigest()


def write_head(reports_dir: Path, run_id: str, directory: str, manifest_sha256: str) -> None:
    """Point the chain head at a run (atomically: a temporary file renamed over the old head)."""
    head = {"run_id": run_id, "directory": directory, "manifest_sha256": manifest_sha256}
    tmp = reports_dir / f"{CHAIN_HEAD}.{os.getpid()}.tmp"
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(head, indent=2) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(reports_dir / CHAIN_HEAD)
