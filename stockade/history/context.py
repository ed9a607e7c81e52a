"""What the HTML and SARIF views need from the history: the previous run, the diff, the series of runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stockade.engine.model import RunResult
from stockade.history.diff import RunDiff, Snapshot, diff_snapshots, snapshot_of
from stockade.history.store import HistoryStore

SERIES_LENGTH = 30  # runs shown in the chart of results over time


@dataclass(frozen=True)
class RunPoint:
    run_id: str
    started_at: str
    summary: Mapping[str, int]


@dataclass(frozen=True)
class ReportContext:
    """``previous``/``diff`` are None for the first run; ``series`` is oldest first and ends with this run."""

    previous: Snapshot | None = None
    diff: RunDiff | None = None
    series: tuple[RunPoint, ...] = ()


def build_context(store: HistoryStore, result: RunResult, series_length: int = SERIES_LENGTH) -> ReportContext:
    """The context of ``result`` against the latest run already recorded in ``store`` (call before recording)."""
    latest = store.latest(before=result.metadata.run_id)
    previous = store.snapshot(latest.run_id) if latest is not None else None
    diff = diff_snapshots(previous, snapshot_of(result)) if previous is not None else None
    past = [RunPoint(run.run_id, run.started_at, run.summary) for run in store.runs(limit=series_length - 1)
            if run.run_id != result.metadata.run_id]
    current = RunPoint(result.metadata.run_id, result.metadata.started_at, result.counts())
    return ReportContext(previous, diff, (*past, current))
