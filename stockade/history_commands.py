"""`stockade history`, `stockade diff`, `stockade verify`, `stockade merge`, and what `stockade audit` does
after a run.

Exit codes: ``history`` 0; ``diff`` 0 without regression, 1 when a finding regressed or a new finding
fails or errs, 2 on bad input; ``verify`` 0 when the run and its chain are intact, 1 when a file was
changed or a run removed (each problem names the file or run), 2 on bad input; ``merge`` as ``audit`` (0, 1 when
a finding fails, 3 when one errs, 2 on bad input).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stockade.engine.model import RunResult
from stockade.errors import UsageError
from stockade.gc_pause import gc_paused
from stockade.history.context import ReportContext, build_context
from stockade.history.diff import CATEGORIES, RunDiff, diff_snapshots, snapshot_of
from stockade.history.store import HISTORY_ENV, HistoryStore, Retention, default_history_path, open_history
from stockade.integrity.keys import KEY_DIR_ENV, Signer, load_or_create_signer
from stockade.integrity.manifest import MANIFEST, sha256_file
from stockade.integrity.retention import Retirement
from stockade.integrity.verify import verify_run
from stockade.report.results_loader import load_results

EXIT_REGRESSION = 1
EXIT_TAMPERED = 1


def add_history_options(parser: argparse.ArgumentParser, *, retention: bool, directories: bool = False) -> None:
    parser.add_argument("--history", type=Path, metavar="PATH",
                        help=f"run history database (default ${HISTORY_ENV}, else OUTPUT/history.sqlite)")
    if retention:
        what = "the history and report directories" if directories else "the history (rows only)"
        parser.add_argument("--keep-runs", type=int, metavar="N", help=f"keep only the latest N runs in {what}")
        parser.add_argument("--keep-days", type=int, metavar="D", help=f"drop runs older than D days from {what}")


def add_audit_options(parser: argparse.ArgumentParser) -> None:
    add_history_options(parser, retention=True, directories=True)
    parser.add_argument("--no-history", action="store_true", help="do not record this run in the history")
    parser.add_argument("--key-dir", type=Path, metavar="DIR",
                        help=f"signing key directory (default ${KEY_DIR_ENV}, else ~/.config/stockade/keys; "
                             "a key is generated on first use)")


def _history_path(args: argparse.Namespace) -> Path:
    return Path(args.history) if args.history else default_history_path(Path(args.output))


@dataclass
class Recorder:
    """Opened before any host is contacted (bad history or key is bad input); writes, signs and records."""

    store: HistoryStore | None
    signer: Signer
    retention: Retention

    @classmethod
    def open(cls, args: argparse.Namespace) -> Recorder:
        retention = Retention(args.keep_runs, args.keep_days)
        signer = load_or_create_signer(args.key_dir)
        store = None if args.no_history else HistoryStore(_history_path(args))
        return cls(store, signer, retention)

    def write(self, result: RunResult, run_dir: Path, formats: Sequence[str]) -> list[Path]:
        """Write and sign the reports; the manifest lists the runs retention retires, whose directories
        (and history rows) are deleted only once the new run is published."""
        from stockade.report.writer import write_reports

        with gc_paused():  # the diff walks both runs' findings
            context = build_context(self.store, result) if self.store is not None else ReportContext()
        retirement = Retirement(self.retention.keep_runs, self.retention.keep_days)
        written = write_reports(result, run_dir, formats, context=context, signer=self.signer,
                                retire=retirement.plan)
        if self.store is not None:
            self.store.record(result, run_dir, sha256_file(run_dir / MANIFEST))
        removals = retirement.apply(run_dir)
        for warning in retirement.warnings:
            print(f"retention: {warning}", file=sys.stderr)
        for removal in removals:
            if removal.removed:
                by = result.metadata.run_id if removal.run in retirement.retired else "an earlier run"
                print(f"retention: removed run directory {run_dir.parent / removal.run.directory} "
                      f"(run {removal.run.run_id}, retired by {by})", file=sys.stderr)
            elif removal.reason != "already gone":
                print(f"retention: left {removal.run.directory} alone: {removal.reason}", file=sys.stderr)
        if self.store is not None:
            forgotten = self.store.forget([removal.run.run_id for removal in removals])  # out of the chain
            pruned = sorted(set(forgotten) | set(self.store.prune(self.retention)))
            if pruned:
                print(f"history: dropped {len(pruned)} run(s) outside the retention policy", file=sys.stderr)
            if context.diff is not None:
                counts = context.diff.counts()
                print(f"since {context.diff.base_run_id}: "
                      + ", ".join(f"{counts[c]} {c}" for c in CATEGORIES), file=sys.stderr)
        return written

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def history_command(args: argparse.Namespace) -> int:
    with open_history(_history_path(args), create=False) as store:
        pruned = store.prune(Retention(args.keep_runs, args.keep_days))
        for run_id in pruned:
            print(f"pruned {run_id}", file=sys.stderr)
        runs = store.runs(limit=args.limit)
    if args.json:
        print(json.dumps([run.__dict__ for run in runs], indent=2))
        return 0
    print(f"{'run id':30} {'started':25} {'hosts':>5} {'pass':>6} {'fail':>6} {'error':>6} {'waived':>6}  reports")
    for run in runs:
        print(f"{run.run_id:30} {run.started_at:25} {run.hosts:5d} {run.count('pass'):6d} {run.count('fail'):6d} "
              f"{run.count('error'):6d} {run.count('waived'):6d}  {run.run_dir or '-'}")
    print(f"{len(runs)} run(s) in {_history_path(args)}", file=sys.stderr)
    return 0


def _diff_text(diff: RunDiff, show_all: bool) -> str:
    counts = diff.counts()
    lines = [f"diff {diff.base_run_id} -> {diff.head_run_id}: " + ", ".join(f"{counts[c]} {c}" for c in CATEGORIES)]
    for change in diff.changes if show_all else diff.notable():
        before = change.before.status if change.before else "-"
        after = change.after.status if change.after else "-"
        shown = change.after or change.before
        message = shown.message if shown is not None else ""
        lines.append(f"{change.category.upper():10} {change.host:20} {change.control_id:10} {change.check_id:28} "
                     f"{before:>7} -> {after:7} {message}")
    return "\n".join(lines)


def _run_directory(argument: str | None) -> Path | None:
    """A RUN argument that names a run directory (or its results.json) rather than a recorded run id."""
    if argument is None or not (Path(argument).is_dir() or argument.endswith(".json")):
        return None
    return Path(argument)


def diff_command(args: argparse.Namespace) -> int:
    base_dir, head_dir = _run_directory(args.run_a), _run_directory(args.run_b)
    if base_dir is not None and head_dir is not None:  # two run directories: no history needed
        diff = diff_snapshots(snapshot_of(load_results(base_dir)), snapshot_of(load_results(head_dir)))
        print(json.dumps(diff.to_dict(), indent=2) if args.json else _diff_text(diff, args.all))
        return EXIT_REGRESSION if diff.has_regression else 0
    if (base_dir is None) != (head_dir is None):
        raise UsageError("diff: give two run ids (or prefixes), or two run directories, not one of each")
    with open_history(_history_path(args), create=False) as store:
        runs = store.runs()
        if args.run_a is None:
            if len(runs) < 2:
                raise UsageError(f"{store.path}: diff needs two recorded runs, the history has {len(runs)}")
            base_id, head_id = runs[-2].run_id, runs[-1].run_id
        else:
            base_id = store.resolve(args.run_a).run_id
            head_id = store.resolve(args.run_b).run_id if args.run_b else runs[-1].run_id
        diff = diff_snapshots(store.snapshot(base_id), store.snapshot(head_id))
    print(json.dumps(diff.to_dict(), indent=2) if args.json else _diff_text(diff, args.all))
    return EXIT_REGRESSION if diff.has_regression else 0


def verify_command(args: argparse.Namespace) -> int:
    pinned = None
    if args.public_key is not None:
        try:
            pinned = Path(args.public_key).read_bytes()
        except OSError as exc:
            raise UsageError(f"--public-key: {exc}") from exc
    if not Path(args.run_dir).is_dir():
        raise UsageError(f"{args.run_dir}: no such run directory")
    try:
        report = verify_run(Path(args.run_dir), pinned)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    for note in report.notes:
        print(note)
    for problem in report.problems:
        print(f"TAMPERED {problem}")
    key = report.key_fingerprint or "unknown"
    trust = "pinned with --public-key" if report.pinned else "the key shipped with the run (pin it with --public-key)"
    print(f"{'FAILED' if report.problems else 'OK'}: {len(report.runs_checked)} run(s) and "
          f"{report.files_checked} file(s) checked; signing key sha256 {key}, trusted as {trust}",
          file=sys.stderr)
    return EXIT_TAMPERED if report.problems else 0


def merge_command(args: argparse.Namespace) -> int:
    """Shard runs (run directories) into one run, written, signed and recorded as an audit's would be."""
    from checks.catalogue import load_catalogue
    from stockade.engine.audit import exit_code, print_summary
    from stockade.history.merge import Shard, merge_runs
    from stockade.report.writer import FORMATS

    formats = [name.strip() for name in args.format.split(",") if name.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise UsageError(f"--format: unknown format(s) {', '.join(unknown) or '(none)'} "
                         f"(choose from {', '.join(FORMATS)})")
    shards = [Shard(str(path), load_results(path)) for path in args.runs]
    result = merge_runs(shards, load_catalogue())
    recorder = Recorder.open(args)
    try:
        written = recorder.write(result, args.output / result.metadata.run_id, formats)
    finally:
        recorder.close()
    print_summary(result, written)
    return exit_code(result)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `history`, `diff`, `verify` and `merge` subcommands."""
    history = commands.add_parser("history", help="list the recorded audit runs (and apply retention)")
    add_history_options(history, retention=True)
    history.add_argument("-o", "--output", type=Path, default=Path("reports"),
                         help="reports directory (default reports)")
    history.add_argument("--limit", type=int, help="only the latest N runs")
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=history_command)

    diff = commands.add_parser("diff", help="what changed between two runs (default: the last two)")
    diff.add_argument("run_a", nargs="?", metavar="RUN_A",
                      help="base run id or unique prefix, or a run directory (reports/<run-id>)")
    diff.add_argument("run_b", nargs="?", metavar="RUN_B",
                      help="run to compare (default: the latest), or a run directory")
    add_history_options(diff, retention=False)
    diff.add_argument("-o", "--output", type=Path, default=Path("reports"),
                      help="reports directory (default reports)")
    diff.add_argument("--all", action="store_true", help="list unchanged findings too")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(handler=diff_command)

    verify = commands.add_parser("verify", help="check a run's signed manifest and the chain of runs before it")
    verify.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    verify.add_argument("--public-key", type=Path, metavar="FILE", help="the signing key to trust (PEM)")
    verify.set_defaults(handler=verify_command)

    merge = commands.add_parser("merge", help="shard runs (e.g. one per --limit shard) into one run and report")
    merge.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                       help="the shards' run directories (reports/<run-id>) or their results.json")
    merge.add_argument("-o", "--output", type=Path, default=Path("reports"),
                       help="the merged run goes to OUTPUT/<run-id>/ (default reports)")
    merge.add_argument("--format", default="json,html,junit,sarif",
                       help="comma-separated: json, html, junit, sarif, oscal (default json,html,junit,sarif)")
    add_audit_options(merge)
    merge.set_defaults(handler=merge_command)
