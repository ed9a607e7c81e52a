"""`stockade verify RUN_DIR`: was any file of a run changed, or a run of the chain removed?

For the run and every run chained before it (``previous`` links, down to the first run) and after it
(from the chain head of the reports directory back to it):

- ``manifest.sig`` is a valid Ed25519 signature of ``manifest.json`` under ``manifest.pub``, whose
  fingerprint is the one the manifest records and, with ``--public-key``, the pinned key's;
- every file listed has its SHA-256 and size, no listed file is missing and no unlisted file was added;
- the previous run's directory exists and its ``manifest.json`` has the digest recorded by its successor;
- every run of the chain is signed by the same key.

A previous run that is missing is accepted only when a later signed manifest of the chain (walked from the
run, or from the chain head back to it) lists it in ``retired`` with the very digest its successor
recorded: the chain then legitimately starts at its successor, and a note says so. Every problem names the
file (or the run) concerned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from stockade.integrity.keys import load_public_key, public_key_fingerprint, signature_valid
from stockade.integrity.manifest import (
    MANIFEST,
    MANIFEST_FILES,
    MANIFEST_VERSION,
    PUBLIC_KEY,
    SIGNATURE,
    read_head,
    sha256_file,
)
from stockade.integrity.retired import RetiredRun, retired_entries


@dataclass
class Verification:
    run_dir: Path
    problems: list[str] = field(default_factory=list)
    runs_checked: list[str] = field(default_factory=list)  # directory names, newest first
    files_checked: int = 0
    key_fingerprint: str | None = None
    pinned: bool = False
    notes: list[str] = field(default_factory=list)  # e.g. where the chain starts after retention
    # run id -> (entry, directory of the run whose manifest retired it), from every manifest checked
    retired: dict[str, list[tuple[RetiredRun, str]]] = field(default_factory=dict)
    # links to a missing previous run: (directory of the run naming it, its link), resolved at the end
    missing_links: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    present: dict[str, tuple[str, str]] = field(default_factory=dict)  # run id -> (directory, manifest digest)

    @property
    def ok(self) -> bool:
        return not self.problems

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)


def _check_run(run_dir: Path, report: Verification, pinned: Ed25519PublicKey | None) -> dict[str, Any] | None:
    """Check one run directory; return its manifest (when it parses) for the chain walk."""
    name = run_dir.name
    report.runs_checked.append(name)
    manifest_path = run_dir / MANIFEST
    if not manifest_path.is_file():
        report.problem(f"{name}/{MANIFEST}: missing (the run is not signed)")
        return None
    data = manifest_path.read_bytes()
    try:
        document = json.loads(data)
        files = document["files"]
        fingerprint = document["signature"]["public_key_sha256"]
        if not isinstance(files, list):
            raise TypeError("files is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        report.problem(f"{name}/{MANIFEST}: not a valid manifest ({exc})")
        return None
    version = document.get("manifest_version")
    if isinstance(version, int) and version > MANIFEST_VERSION:
        report.problem(f"{name}/{MANIFEST}: manifest version {version} is newer than this Stockade "
                       f"understands ({MANIFEST_VERSION})")
    _check_signature(run_dir, data, str(fingerprint), report, pinned)
    entries = retired_entries(document)
    if entries is None:
        report.problem(f"{name}/{MANIFEST}: malformed list of retired runs")
    report.present[str(document.get("run_id"))] = (name, hashlib.sha256(data).hexdigest())
    for entry in entries or ():
        report.retired.setdefault(entry.run_id, []).append((entry, name))
    listed = set(MANIFEST_FILES)
    for entry in files:
        file_name = str(entry.get("name", ""))
        listed.add(file_name)
        path = run_dir / file_name
        if "/" in file_name or not path.is_file():
            report.problem(f"{name}/{file_name}: listed in the manifest but missing")
            continue
        report.files_checked += 1
        if path.stat().st_size != entry.get("bytes") or sha256_file(path) != entry.get("sha256"):
            report.problem(f"{name}/{file_name}: changed since the run was signed (SHA-256 differs)")
    for path in sorted(run_dir.iterdir()):
        if path.name not in listed:
            report.problem(f"{name}/{path.name}: not in the manifest (added after the run was signed)")
    return dict(document)


def _check_signature(run_dir: Path, data: bytes, fingerprint: str, report: Verification,
                     pinned: Ed25519PublicKey | None) -> None:
    name = run_dir.name
    try:
        public_key = load_public_key((run_dir / PUBLIC_KEY).read_bytes(), f"{name}/{PUBLIC_KEY}")
    except FileNotFoundError:
        report.problem(f"{name}/{PUBLIC_KEY}: missing")
        return
    except ValueError as exc:
        report.problem(str(exc))
        return
    actual = public_key_fingerprint(public_key)
    if actual != fingerprint:
        report.problem(f"{name}/{PUBLIC_KEY}: not the key the manifest names (fingerprint {actual[:16]}…, "
                       f"manifest says {fingerprint[:16]}…)")
        return
    if pinned is not None and actual != public_key_fingerprint(pinned):
        report.problem(f"{name}/{PUBLIC_KEY}: signed by key {actual[:16]}…, not the pinned key "
                       f"{public_key_fingerprint(pinned)[:16]}…")
    if report.key_fingerprint is None:
        report.key_fingerprint = actual
    elif report.key_fingerprint != actual:
        report.problem(f"{name}/{PUBLIC_KEY}: signed by key {actual[:16]}…, other runs of the chain by "
                       f"{report.key_fingerprint[:16]}…")
    try:
        signature = base64.b64decode((run_dir / SIGNATURE).read_bytes().strip(), validate=True)
    except FileNotFoundError:
        report.problem(f"{name}/{SIGNATURE}: missing")
        return
    except (binascii.Error, ValueError):
        report.problem(f"{name}/{SIGNATURE}: not a base64 signature")
        return
    if not signature_valid(public_key, signature, data):
        report.problem(f"{name}/{SIGNATURE}: the signature does not match {MANIFEST} "
                       f"({MANIFEST} or {SIGNATURE} was changed)")


def _walk_back(start: Path, report: Verification, pinned: Ed25519PublicKey | None,
               stop_at: Path | None = None, seen: set[str] | None = None) -> set[str]:
    """Check ``start`` and every run before it; stop early at ``stop_at``. Return the directories seen."""
    seen = set() if seen is None else seen
    current: Path | None = start
    while current is not None and current.name not in seen:
        seen.add(current.name)
        if current == stop_at:  # already checked by the walk that started there
            break
        document = _check_run(current, report, pinned)
        if document is None:
            break
        previous = document.get("previous")
        if previous is None:
            break
        if not isinstance(previous, dict) or not isinstance(previous.get("directory"), str):
            report.problem(f"{current.name}/{MANIFEST}: malformed link to the previous run")
            break
        directory = current.parent / previous["directory"]
        if not (directory / MANIFEST).is_file():
            report.missing_links.append((current.name, previous))  # removed, or retired: decided at the end
            break
        if sha256_file(directory / MANIFEST) != previous.get("manifest_sha256"):
            report.problem(f"{directory.name}/{MANIFEST}: differs from the digest recorded by the next run "
                           f"{current.name}")
        current = directory
    return seen


def run_problems(run_dir: Path) -> list[str]:
    """What is wrong with one run directory alone (files against its manifest, the signature); no chain."""
    report = Verification(Path(run_dir).absolute())
    _check_run(report.run_dir, report, None)
    return report.problems


def verify_run(run_dir: Path, pinned_key_pem: bytes | None = None) -> Verification:
    """Verify ``run_dir``, the runs chained before it, and the runs from the chain head back to it."""
    run_dir = Path(run_dir).absolute()
    report = _verify(run_dir, pinned_key_pem)
    _resolve_missing_links(report)
    return report


def _resolve_missing_links(report: Verification) -> None:
    """A missing previous run is fine only when a later manifest retired it with the recorded digest."""
    for successor, link in report.missing_links:
        run_id, directory, digest = link.get("run_id"), link["directory"], link.get("manifest_sha256")
        retirements = report.retired.get(str(run_id), [])
        matching = [by for entry, by in retirements if entry.manifest_sha256 == digest]
        if matching:
            report.note(f"chain starts at {successor} (earlier runs retired by {matching[0]} under retention)")
        elif retirements:
            entry, by = retirements[0]
            report.problem(f"{by}/{MANIFEST}: retires run {run_id} with manifest digest "
                           f"{entry.manifest_sha256[:16]}…, but {successor} recorded {str(digest)[:16]}… "
                           f"for it ({directory} is missing)")
        else:
            report.problem(f"run {run_id} ({directory}) was removed: {successor} names it as the previous run")
    for run_id, retirements in report.retired.items():  # a run still here must match its retirement
        if run_id in report.present:
            directory, digest = report.present[run_id]
            for entry, by in retirements:
                if entry.manifest_sha256 != digest:
                    report.problem(f"{by}/{MANIFEST}: retires run {run_id} with manifest digest "
                                   f"{entry.manifest_sha256[:16]}…, but {directory}/{MANIFEST} has {digest[:16]}…")


def _verify(run_dir: Path, pinned_key_pem: bytes | None) -> Verification:
    report = Verification(run_dir)
    pinned = None
    if pinned_key_pem is not None:
        pinned = load_public_key(pinned_key_pem, "--public-key")
        report.pinned = True
    if not run_dir.is_dir():
        report.problem(f"{run_dir}: no such run directory")
        return report
    _walk_back(run_dir, report, pinned)
    head = read_head(run_dir.parent)
    if head is not None:
        head_dir = run_dir.parent / head["directory"]
        if not (head_dir / MANIFEST).is_file():
            report.problem(f"run {head.get('run_id')} ({head['directory']}) was removed: the chain head "
                           "names it as the latest run")
        elif sha256_file(head_dir / MANIFEST) != head.get("manifest_sha256"):
            report.problem(f"{head_dir.name}/{MANIFEST}: differs from the digest in the chain head")
        if head_dir != run_dir and (head_dir / MANIFEST).is_file():
            later: set[str] = set()
            _walk_back(head_dir, report, pinned, stop_at=run_dir, seen=later)
            if run_dir.name not in later and not _retired_leftover(run_dir, report):
                report.problem(f"{run_dir.name}: not reachable from the chain head {head_dir.name} "
                               "(a run between them was removed or replaced)")
    return report


def _retired_leftover(run_dir: Path, report: Verification) -> bool:
    """``run_dir`` is a run a later manifest retired (its directory not deleted yet): say so."""
    try:
        digest = sha256_file(run_dir / MANIFEST)
    except OSError:
        return False
    for entry, by in report.retired.get(_run_id(run_dir), []):
        if entry.manifest_sha256 == digest and entry.directory == run_dir.name:
            report.note(f"{run_dir.name} was retired by {by} under retention (its directory is left "
                        "over and will be deleted)")
            return True
    return False


def _run_id(run_dir: Path) -> str:
    try:
        return str(json.loads((run_dir / MANIFEST).read_bytes()).get("run_id"))
    except (OSError, ValueError, AttributeError):
        return ""
