"""Run history: the SQLite store, diffs between runs, retention, and the history/diff commands."""

from __future__ import annotations

import dataclasses
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from report_factory import WAIVER, make_finding, make_result

from checks.model import Status
from stockade.cli import main
from stockade.engine.model import Finding, RunResult
from stockade.errors import UsageError
from stockade.history.context import build_context
from stockade.history.diff import FindingState, Snapshot, diff_snapshots, snapshot_of
from stockade.history.store import HistoryStore, Retention, open_history
from stockade.report.html_report import render_html


def run(run_id: str, started_at: str, *findings: Finding) -> RunResult:
    result = make_result(*findings)
    return dataclasses.replace(result, metadata=dataclasses.replace(result.metadata, run_id=run_id,
                                                                    started_at=started_at))


def state(status: str, message: str = "m") -> FindingState:
    return FindingState(status, "high", message, None)


def snap(run_id: str, **statuses: str) -> Snapshot:
    return Snapshot(run_id, "2025-01-01T00:00:00+00:00",
                    {(host, "SSH-01", "ssh_login"): state(status) for host, status in statuses.items()})


@pytest.mark.parametrize(("before", "after", "category"), [
    ("pass", "fail", "regressed"),
    ("pass", "error", "regressed"),
    ("waived", "fail", "regressed"),
    ("fail", "pass", "resolved"),
    ("error", "pass", "resolved"),
    ("fail", "waived", "resolved"),
    ("fail", "error", "changed"),
    ("pass", "skipped", "changed"),
    ("pass", "pass", "unchanged"),
    ("fail", "fail", "unchanged"),
    (None, "fail", "new"),
    ("fail", None, "gone"),
])
def test_diff_categories(before: str | None, after: str | None, category: str) -> None:
    base = snap("a", **({"h1": before} if before else {}))
    head = snap("b", **({"h1": after} if after else {}))
    diff = diff_snapshots(base, head)
    assert [(c.category, c.host) for c in diff.changes] == [(category, "h1")]
    assert diff.counts()[category] == 1
    assert diff.has_regression == (category == "regressed" or (category == "new" and after == "fail"))


def test_diff_is_per_host_and_control_and_ordered_worst_first() -> None:
    base = snap("a", h1="pass", h2="fail", h3="pass")
    head = snap("b", h1="fail", h2="pass", h3="pass", h4="pass")
    diff = diff_snapshots(base, head)
    assert [(c.category, c.host) for c in diff.changes] == [
        ("regressed", "h1"), ("new", "h4"), ("resolved", "h2"), ("unchanged", "h3")]
    assert [c.host for c in diff.notable()] == ["h1", "h4", "h2"]


def test_unchanged_status_with_new_evidence_is_marked_updated() -> None:
    a = snapshot_of(run("a", "2025-01-01T00:00:00+00:00", make_finding(Status.FAIL, observed={"x": 1})))
    b = snapshot_of(run("b", "2025-01-02T00:00:00+00:00", make_finding(Status.FAIL, observed={"x": 2})))
    (change,) = diff_snapshots(a, b).changes
    assert change.category == "unchanged"
    assert change.updated


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with open_history(tmp_path / "h" / "history.sqlite") as opened:
        yield opened


def test_store_round_trip(store: HistoryStore) -> None:
    first = run("20250101T000000Z-aaaaaa", "2025-01-01T00:00:00+00:00", make_finding(Status.PASS),
                make_finding(Status.WAIVED, host="db01", waiver=WAIVER))
    store.record(first, Path("/reports/x"), "ab" * 32)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    (record,) = store.runs()
    assert record.run_id == first.metadata.run_id
    assert record.count("pass") == 1 and record.count("waived") == 1
    assert record.run_dir == "/reports/x" and record.manifest_sha256 == "ab" * 32
    assert store.snapshot("20250101T000000Z").findings == snapshot_of(first).findings  # by unique prefix


def test_store_refuses_duplicates_and_unknown_or_ambiguous_runs(store: HistoryStore) -> None:
    result = run("r-1", "2025-01-01T00:00:00+00:00", make_finding(Status.PASS))
    store.record(result)
    store.record(run("r-2", "2025-01-02T00:00:00+00:00", make_finding(Status.PASS)))
    with pytest.raises(UsageError, match="already recorded"):
        store.record(result)
    with pytest.raises(UsageError, match="no run 'zz'"):
        store.resolve("zz")
    with pytest.raises(UsageError, match="matches 2 runs"):
        store.resolve("r-")
    with pytest.raises(UsageError, match="no run 'r_'"):
        store.resolve("r_")  # a LIKE wildcard is taken literally
    assert store.resolve("r-2").run_id == "r-2"


def test_repeated_finding_keys_are_kept_apart(store: HistoryStore) -> None:
    result = run("r", "2025-01-01T00:00:00+00:00", make_finding(Status.PASS), make_finding(Status.FAIL))
    store.record(result)
    assert sorted(store.snapshot("r").findings) == [("web01", "SSH-01", "ssh_root_login_disabled"),
                                                    ("web01", "SSH-01", "ssh_root_login_disabled#2")]


def test_retention_keeps_n_runs_and_days(store: HistoryStore) -> None:
    for day in range(1, 6):
        store.record(run(f"r{day}", f"2025-01-0{day}T00:00:00+00:00", make_finding(Status.PASS)))
    assert store.prune(Retention(keep_runs=3)) == ["r1", "r2"]
    assert [r.run_id for r in store.runs()] == ["r3", "r4", "r5"]
    now = datetime(2025, 1, 6, tzinfo=UTC)  # cutoff 2025-01-04T00:00
    assert store.prune(Retention(keep_days=2), now=now) == ["r3"]
    assert [r.run_id for r in store.runs()] == ["r4", "r5"]
    rows = sqlite3.connect(store.path).execute("SELECT DISTINCT run_id FROM findings ORDER BY 1").fetchall()
    assert rows == [("r4",), ("r5",)]  # findings go with their run
    assert store.prune(Retention()) == []


def test_retention_rejects_nonsense() -> None:
    with pytest.raises(UsageError, match="--keep-runs"):
        Retention(keep_runs=0)


def test_not_a_database_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_text("this is not sqlite " * 100)
    with pytest.raises(UsageError, match="not a usable history database"):
        HistoryStore(path)


def test_context_diffs_against_the_latest_recorded_run(store: HistoryStore) -> None:
    store.record(run("r1", "2025-01-01T00:00:00+00:00", make_finding(Status.PASS)))
    head = run("r2", "2025-01-02T00:00:00+00:00", make_finding(Status.FAIL))
    context = build_context(store, head)
    assert context.previous is not None and context.previous.run_id == "r1"
    assert context.diff is not None
    assert [c.category for c in context.diff.changes] == ["regressed"]
    assert [p.run_id for p in context.series] == ["r1", "r2"]


def test_html_shows_the_regression_and_a_chart(store: HistoryStore) -> None:
    store.record(run("r1", "2025-01-01T00:00:00+00:00", make_finding(Status.PASS),
                     make_finding(Status.PASS, host="db01")))
    head = run("r2", "2025-01-02T00:00:00+00:00", make_finding(Status.FAIL, message="root login allowed"),
               make_finding(Status.PASS, host="db01"))
    html = render_html(head, build_context(store, head))
    changes = html.split('<section id="changes">')[1].split("</section>")[0]
    assert "1 regressed" in changes and "0 resolved" in changes
    assert changes.count('class="change-row change-row-') == 1
    assert 'change-row-regressed' in changes and "root login allowed" in changes and "web01" in changes
    trend = html.split('<section id="trend">')[1].split("</section>")[0]
    assert trend.count('<g class="bar">') == 2
    assert 'class="seg-fail"' in trend and 'class="current"' in trend
    assert "<script" not in html and "http://www.w3.org/2000/svg" in trend
    assert "https://" not in html


def test_html_without_history_says_so() -> None:
    html = render_html(make_result(make_finding(Status.PASS)))
    assert "first recorded run" in html
    assert "No history recorded" in html


def test_history_and_diff_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "history.sqlite"
    assert main(["diff", "--history", str(db)]) == 2  # no history yet: bad input
    with open_history(db) as store:
        store.record(run("r1", "2025-01-01T00:00:00+00:00", make_finding(Status.PASS),
                         make_finding(Status.FAIL, host="db01")))
        assert main(["diff", "--history", str(db)]) == 2  # one run only
        store.record(run("r2", "2025-01-02T00:00:00+00:00", make_finding(Status.FAIL),
                         make_finding(Status.FAIL, host="db01")))
        store.record(run("r3", "2025-01-03T00:00:00+00:00", make_finding(Status.PASS),
                         make_finding(Status.FAIL, host="db01")))
    capsys.readouterr()
    assert main(["history", "--history", str(db)]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["r1", "r2", "r3"]
    assert main(["diff", "--history", str(db)]) == 0  # r2 -> r3: resolved only
    out = capsys.readouterr().out
    assert out.startswith("diff r2 -> r3: 0 regressed, 0 new, 1 resolved")
    assert "RESOLVED" in out and "db01" not in out
    assert main(["diff", "r1", "r2", "--history", str(db)]) == 1  # a regression
    out = capsys.readouterr().out
    assert "REGRESSED  web01" in out and " pass ->" in out
    assert main(["diff", "r1", "--history", str(db), "--all"]) == 0  # r1 -> latest
    assert "UNCHANGED  db01" in capsys.readouterr().out
    assert main(["history", "--history", str(db), "--keep-runs", "1"]) == 0
    with open_history(db) as store:
        assert [r.run_id for r in store.runs()] == ["r3"]
