"""Retention of run directories that keeps the hash chain verifiable.

The runs to retire are decided under the chain lock, while the new run's manifest is written
(``Retirement.plan``, passed to ``write_reports(retire=...)``): they are the oldest runs of the chain beyond
``--keep-runs`` (the new run counts as one) or created more than ``--keep-days`` days ago, always a
contiguous oldest part of the chain. The new run's signed manifest lists them (``retired``: run id,
directory, manifest digest). Only once the new run is published (renamed into place, chain head moved) does
``Retirement.apply`` delete their directories. A crash in between leaves extra directories, which verify
still accepts and the next retention run removes.

Only a real directory (never a symbolic link) directly inside the reports directory, holding a
``manifest.json`` with the retired run's id and the recorded digest, is ever deleted; it is first renamed to
``.<directory>.retired`` (atomic: the run is whole or gone for ``verify``), then removed.

Retention never removes past a break in the chain (a run missing without having been retired, or a
manifest that differs from its successor's record): deleting the runs around it would erase the evidence
``stockade verify`` reports. It retires nothing and says why until the chain is intact or a new reports
directory is started.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stockade.integrity.manifest import MANIFEST, chain_lock
from stockade.integrity.retired import RetiredRun, plain_name, retired_entries
from stockade.integrity.verify import run_problems

RETIRED_SUFFIX = ".retired"


def _load_run_manifest(reports_dir: Path, directory: str) -> tuple[str, dict[str, Any]] | None:
    """(digest, document) of ``<reports>/<directory>/manifest.json`` when that is a real run directory."""
    path = reports_dir / directory
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode) or not stat.S_ISREG(os.lstat(path / MANIFEST).st_mode):
            return None
        data = (path / MANIFEST).read_bytes()
    except OSError:
        return None
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return (hashlib.sha256(data).hexdigest(), document) if isinstance(document, dict) else None


def _created_at(document: dict[str, Any]) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(document.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _ChainRun:
    retired: RetiredRun
    created_at: datetime | None


@dataclass
class ChainScan:
    """The runs of the chain still in place, newest first, from the link the new run records as previous."""

    runs: list[_ChainRun] = field(default_factory=list)
    already_retired: list[RetiredRun] = field(default_factory=list)  # listed by a manifest scanned
    broken: str | None = None


def scan_chain(reports_dir: Path, previous: dict[str, Any] | None) -> ChainScan:
    scan = ChainScan()
    retired: dict[str, RetiredRun] = {}
    seen: set[str] = set()
    link = previous
    while link is not None:
        if not isinstance(link, dict):
            scan.broken = "a malformed link to a previous run"
            break
        run_id, directory, digest = link.get("run_id"), link.get("directory"), link.get("manifest_sha256")
        if not (isinstance(run_id, str) and isinstance(digest, str) and plain_name(directory)):
            scan.broken = f"a malformed link to a previous run ({link!r})"
            break
        assert isinstance(directory, str)
        known = retired.get(run_id)
        if known is not None and known.manifest_sha256 == digest:
            break  # retired by a later run: the chain starts after it
        if directory in seen:
            scan.broken = f"a loop at {directory}"
            break
        seen.add(directory)
        loaded = _load_run_manifest(reports_dir, directory)
        if loaded is None:
            scan.broken = f"run {run_id} ({directory}) is missing and was not retired"
            break
        actual, document = loaded
        if actual != digest or document.get("run_id") != run_id:
            scan.broken = f"{directory}/{MANIFEST} differs from the digest its successor recorded"
            break
        entries = retired_entries(document)
        if entries is None:
            scan.broken = f"{directory}/{MANIFEST} has a malformed retired list"
            break
        for entry in entries:
            retired.setdefault(entry.run_id, entry)
            scan.already_retired.append(entry)
        scan.runs.append(_ChainRun(RetiredRun(run_id, directory, digest), _created_at(document)))
        link = document.get("previous")
    return scan


def runs_to_retire(scan: ChainScan, keep_runs: int | None, keep_days: int | None,
                   now: datetime | None = None) -> list[RetiredRun]:
    """The oldest runs of ``scan`` outside the policy; the new run, not yet in the chain, takes one slot."""
    if scan.broken is not None:
        return []
    cut = len(scan.runs)
    if keep_runs is not None:
        cut = min(cut, max(keep_runs - 1, 0))
    if keep_days is not None:
        cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
        for index, run in enumerate(scan.runs):
            if run.created_at is not None and run.created_at < cutoff:
                cut = min(cut, index)
                break
    return [run.retired for run in scan.runs[cut:]]


@dataclass
class Removal:
    run: RetiredRun
    removed: bool
    reason: str = ""


def remove_run_directory(reports_dir: Path, run: RetiredRun) -> Removal:
    """Delete a retired run's directory (or its ``.retired`` remains), refusing anything else."""
    if not plain_name(run.directory):
        return Removal(run, False, f"{run.directory!r} is not a directory name inside {reports_dir}")
    path = reports_dir / run.directory
    trash = reports_dir / f".{run.directory}{RETIRED_SUFFIX}"
    try:
        mode: int | None = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None:
        if stat.S_ISLNK(mode):
            return Removal(run, False, f"{path} is a symbolic link, not a run directory")
        if not stat.S_ISDIR(mode):
            return Removal(run, False, f"{path} is not a directory")
        loaded = _load_run_manifest(reports_dir, run.directory)
        if loaded is None or loaded[1].get("run_id") != run.run_id or loaded[0] != run.manifest_sha256:
            return Removal(run, False, f"{path} does not hold run {run.run_id}'s signed {MANIFEST}")
        if os.path.lexists(trash):
            _remove_trash(trash)
        path.rename(trash)
    elif not os.path.lexists(trash):
        return Removal(run, False, "already gone")
    if not _remove_trash(trash):
        return Removal(run, False, f"{trash} is not a directory")
    return Removal(run, True)


def _remove_trash(trash: Path) -> bool:
    if not stat.S_ISDIR(os.lstat(trash).st_mode):
        return False  # a symbolic link (or a file) put there: not ours, left alone
    shutil.rmtree(trash)  # never follows a symbolic link inside
    return True


def _changed_runs(reports_dir: Path, runs: list[RetiredRun]) -> list[str]:
    """The problems of the runs about to be retired: one changed since it was signed is kept."""
    return [problem for run in runs for problem in run_problems(reports_dir / run.directory)]


@dataclass
class Retirement:
    """What one run retires: planned while its manifest is written, applied once it is published."""

    keep_runs: int | None
    keep_days: int | None
    reports_dir: Path | None = None
    run_id: str | None = None
    retired: list[RetiredRun] = field(default_factory=list)
    leftovers: list[RetiredRun] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def unlimited(self) -> bool:
        return self.keep_runs is None and self.keep_days is None

    def plan(self, reports_dir: Path, run_id: str, previous: dict[str, Any] | None) -> list[dict[str, str]]:
        """Called by ``write_manifest`` under the chain lock: the ``retired`` list of the new manifest."""
        self.reports_dir, self.run_id = reports_dir, run_id
        if self.unlimited:
            return []
        scan = scan_chain(reports_dir, previous)
        if scan.broken is not None:
            self.warnings.append(f"no run directory retired: the chain is broken ({scan.broken}); "
                                 "`stockade verify` names it")
        self.retired = runs_to_retire(scan, self.keep_runs, self.keep_days)
        changed = _changed_runs(reports_dir, self.retired)
        if changed:  # deleting it would erase the very evidence `stockade verify` reports
            self.warnings.append(f"no run directory retired: {changed[0]}; `stockade verify` names it")
            self.retired = []
        retiring = {run.run_id for run in self.retired}
        self.leftovers = [run for run in dict.fromkeys(scan.already_retired) if run.run_id not in retiring
                          and (os.path.lexists(reports_dir / run.directory)
                               or os.path.lexists(reports_dir / f".{run.directory}{RETIRED_SUFFIX}"))]
        return [run.to_dict() for run in self.retired]

    def apply(self, run_dir: Path) -> list[Removal]:
        """Delete the retired directories, once ``run_dir`` (the new run) is published and lists them."""
        if self.reports_dir is None or not (self.retired or self.leftovers):
            return []
        loaded = _load_run_manifest(self.reports_dir, Path(run_dir).name)
        listed = loaded[1].get("retired", []) if loaded is not None and loaded[1].get("run_id") == self.run_id \
            else []
        if any(run.to_dict() not in listed for run in self.retired):
            self.warnings.append(f"no run directory retired: {run_dir}/{MANIFEST} does not list them")
            return []
        removals = []
        with chain_lock(self.reports_dir):
            for run in [*self.retired, *self.leftovers]:
                try:
                    removals.append(remove_run_directory(self.reports_dir, run))
                except OSError as exc:
                    removals.append(Removal(run, False, f"{exc}"))
        return removals
