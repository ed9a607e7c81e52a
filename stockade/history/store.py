"""The run history: an embedded SQLite database (default ``<output>/history.sqlite``).

One row per run (metadata, counts per status, where its reports are, its manifest digest) and one row per
finding (status, severity, message and a digest of the evidence; the evidence itself stays in the run's
``results.json``). The file is created private to the user (0600): it lists the weaknesses of hosts.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from checks.model import Status
from stockade.engine.model import RunResult
from stockade.errors import UsageError
from stockade.history.diff import FindingState, Snapshot, snapshot_of

HISTORY_ENV = "STOCKADE_HISTORY"
HISTORY_FILE = "history.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    inventory TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    hosts INTEGER NOT NULL,
    summary TEXT NOT NULL,
    run_dir TEXT,
    manifest_sha256 TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at, run_id);
CREATE TABLE IF NOT EXISTS findings (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    control_id TEXT NOT NULL,
    check_id TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    evidence_sha256 TEXT,
    PRIMARY KEY (run_id, host, control_id, check_id)
);
"""


def default_history_path(output: Path) -> Path:
    """``$STOCKADE_HISTORY`` if set, else ``<output>/history.sqlite``."""
    configured = os.environ.get(HISTORY_ENV)
    return Path(configured) if configured else Path(output) / HISTORY_FILE


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    started_at: str
    finished_at: str
    inventory: str
    tool_version: str
    hosts: int
    summary: dict[str, int]
    run_dir: str | None
    manifest_sha256: str | None

    def count(self, status: Status | str) -> int:
        return self.summary.get(str(status), 0)


@dataclass(frozen=True)
class Retention:
    """Keep at most ``keep_runs`` runs and none older than ``keep_days`` days; ``None``: no limit."""

    keep_runs: int | None = None
    keep_days: int | None = None

    def __post_init__(self) -> None:
        if self.keep_runs is not None and self.keep_runs < 1:
            raise UsageError(f"--keep-runs must be at least 1, got {self.keep_runs}")
        if self.keep_days is not None and self.keep_days < 1:
            raise UsageError(f"--keep-days must be at least 1, got {self.keep_days}")

    @property
    def unlimited(self) -> bool:
        return self.keep_runs is None and self.keep_days is None


class HistoryStore:
    """A connection to one history database; use as a context manager or call ``close()``."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise UsageError(f"{self.path}: no run history here (give --history PATH or set {HISTORY_ENV})")
        if create and not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise UsageError(f"{self.path}: history schema {version} is newer than this Stockade "
                                 f"understands ({SCHEMA_VERSION})")
            if version < SCHEMA_VERSION:
                with self._transaction():
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{self.path}: not a usable history database ({exc})") from exc

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def record(self, result: RunResult, run_dir: Path | None = None, manifest_sha256: str | None = None) -> None:
        """Store ``result`` (a run id is recorded once: ``UsageError`` if it is already there)."""
        meta = result.metadata
        snapshot = snapshot_of(result)
        rows = [(meta.run_id, host, control, check, s.status, s.severity, s.message, s.evidence_sha256)
                for (host, control, check), s in snapshot.findings.items()]
        with self._transaction():
            try:
                self._db.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (meta.run_id, meta.started_at, meta.finished_at, meta.inventory, meta.tool_version,
                     len(meta.hosts), json.dumps(result.counts(), sort_keys=True),
                     None if run_dir is None else str(Path(run_dir).absolute()), manifest_sha256,
                     datetime.now(UTC).isoformat(timespec="seconds")))
            except sqlite3.IntegrityError as exc:
                raise UsageError(f"{self.path}: run {meta.run_id} is already recorded") from exc
            self._db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """Recorded runs, oldest first; with ``limit``, only the latest ``limit`` of them."""
        query = "SELECT * FROM runs ORDER BY started_at DESC, run_id DESC"
        params: tuple[int, ...] = ()
        if limit is not None:
            query += " LIMIT ?"
            params = (limit,)
        rows = self._db.execute(query, params).fetchall()
        return [_run_record(row) for row in reversed(rows)]

    def latest(self, before: str | None = None) -> RunRecord | None:
        """The latest run, or the latest one other than ``before``."""
        for record in reversed(self.runs()):
            if record.run_id != before:
                return record
        return None

    def resolve(self, ref: str) -> RunRecord:
        """A run by id or unique id prefix (``UsageError`` names the problem)."""
        rows = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (ref,)).fetchall()
        if not rows:
            escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = self._db.execute("SELECT * FROM runs WHERE run_id LIKE ? ESCAPE '\\'",
                                    (escaped + "%",)).fetchall()
        if not rows:
            raise UsageError(f"{self.path}: no run {ref!r} in the history (see `stockade history`)")
        if len(rows) > 1:
            raise UsageError(f"{self.path}: {ref!r} matches {len(rows)} runs; give more of the run id")
        return _run_record(rows[0])

    def snapshot(self, run_id: str) -> Snapshot:
        record = self.resolve(run_id)
        rows = self._db.execute(
            "SELECT host, control_id, check_id, status, severity, message, evidence_sha256 "
            "FROM findings WHERE run_id = ?", (record.run_id,)).fetchall()
        return Snapshot(record.run_id, record.started_at,
                        {(h, c, k): FindingState(s, sev, m, e) for h, c, k, s, sev, m, e in rows})

    def prune(self, retention: Retention, now: datetime | None = None) -> list[str]:
        """Delete the runs (and their findings) outside ``retention``; return their ids, oldest first.

        Only history rows are deleted here: run directories are retired by the next signed run
        (``stockade.integrity.retention``), which then calls ``forget`` for them.
        """
        if retention.unlimited:
            return []
        runs = self.runs()
        doomed: set[str] = set()
        if retention.keep_runs is not None and len(runs) > retention.keep_runs:
            doomed.update(run.run_id for run in runs[: len(runs) - retention.keep_runs])
        if retention.keep_days is not None:
            cutoff = (now or datetime.now(UTC)) - timedelta(days=retention.keep_days)
            doomed.update(run.run_id for run in runs if _parse_time(run.started_at) < cutoff)
        ordered = [run.run_id for run in runs if run.run_id in doomed]
        with self._transaction():
            self._db.executemany("DELETE FROM runs WHERE run_id = ?", [(run_id,) for run_id in ordered])
        return ordered


    def forget(self, run_ids: Sequence[str]) -> list[str]:
        """Delete these runs (and their findings) if recorded; return the ids that were."""
        with self._transaction():
            gone = [run_id for run_id in dict.fromkeys(run_ids)
                    if self._db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,)).rowcount]
        return gone


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _run_record(row: Sequence[object]) -> RunRecord:
    run_id, started, finished, inventory, version, hosts, summary, run_dir, manifest, _recorded = row
    return RunRecord(str(run_id), str(started), str(finished), str(inventory), str(version), int(str(hosts)),
                     json.loads(str(summary)), None if run_dir is None else str(run_dir),
                     None if manifest is None else str(manifest))


@contextmanager
def open_history(path: Path, *, create: bool = True) -> Iterator[HistoryStore]:
    with closing(HistoryStore(path, create=create)) as store:
        yield store
