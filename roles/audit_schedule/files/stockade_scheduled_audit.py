#!/usr/bin/env python3
"""One scheduled audit: run `stockade audit`, then tell the operator's command about regressions.

Installed by roles/audit_schedule as the ExecStart of stockade-audit.service:

    stockade-scheduled-audit --reports DIR --history PATH [--notify-config FILE] -- STOCKADE audit ARGS...

1. Runs the audit command after ``--`` (its output goes to the journal as it comes).
2. If the audit wrote a new run (exit 0, 1 or 3) and a notification command is configured, runs
   ``stockade diff --json`` over the last two runs of the history. When the diff shows a regression
   (a finding that became FAIL/ERROR, or a new finding that is FAIL/ERROR) and its head is the run just
   written, runs the command with a summary: JSON on stdin, and STOCKADE_* environment variables.
   The summary names hosts, controls, checks and statuses, never evidence or messages, and the command
   gets a minimal environment (no inherited variables).
3. Exits with the audit's own exit code (0 pass, 1 fail, 2 bad input, 3 error); 3 also when the audit
   exited 0 or 1 without writing a run (a crash exits 1 too, and must not pass for "findings fail");
   4 when the audit succeeded (0/1) but the notification command failed, so `systemctl --failed` shows it.

Standard library only (it runs with the venv's Python, but needs nothing from it).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

EXIT_ERROR = 3
EXIT_NOTIFY_FAILED = 4
RECORDED_EXITS = (0, 1, 3)  # the audit ran and recorded a run (2 = bad input: nothing was written)
BAD = ("fail", "error")

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def log(message: str) -> None:
    print(f"stockade-scheduled-audit: {message}", file=sys.stderr, flush=True)


def run_dirs(reports: Path) -> set[str]:
    try:
        # Hidden entries are staging (.RUN.*.partial) or retention's trash (.RUN.retired), never a run.
        return {entry.name for entry in reports.iterdir() if entry.is_dir() and not entry.name.startswith(".")}
    except FileNotFoundError:
        return set()


def regressions(diff: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The changes that make a regression: became bad, or new and bad (as `stockade diff` exits 1 on)."""
    found = []
    for change in diff.get("changes", []):
        after = change.get("after") or {}
        before = change.get("before") or {}
        if change.get("category") == "regressed" or (change.get("category") == "new" and after.get("status") in BAD):
            found.append({
                "category": change["category"],
                "host": change["host"],
                "control_id": change["control_id"],
                "check_id": change["check_id"],
                "before": before.get("status"),
                "after": after.get("status"),
                "severity": after.get("severity"),
            })
    return found


def summary(diff: Mapping[str, Any], run_dir: Path, audit_host: str) -> dict[str, Any]:
    """What the notification command is told: identifiers and statuses only (no evidence, no messages)."""
    found = regressions(diff)
    return {
        "event": "stockade-audit-regression",
        "audit_host": audit_host,
        "base_run_id": diff.get("base_run_id"),
        "head_run_id": diff.get("head_run_id"),
        "report_dir": str(run_dir),
        "counts": dict(diff.get("counts", {})),
        "regressions": found,
    }


def notify_environment(report: Mapping[str, Any]) -> dict[str, str]:
    found = report["regressions"]
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/"),
        "STOCKADE_EVENT": str(report["event"]),
        "STOCKADE_AUDIT_HOST": str(report["audit_host"]),
        "STOCKADE_RUN_ID": str(report["head_run_id"]),
        "STOCKADE_BASE_RUN_ID": str(report["base_run_id"]),
        "STOCKADE_REPORT_DIR": str(report["report_dir"]),
        "STOCKADE_REGRESSION_COUNT": str(len(found)),
        "STOCKADE_REGRESSED_CONTROLS": ",".join(sorted({item["control_id"] for item in found})),
        "STOCKADE_REGRESSED_HOSTS": ",".join(sorted({item["host"] for item in found})),
    }


def load_notify_config(path: Path | None) -> tuple[list[str], int]:
    if path is None or not path.exists():
        return [], 60
    config = json.loads(path.read_text())
    command = config.get("command") or []
    if not isinstance(command, list) or not all(isinstance(arg, str) for arg in command):
        raise ValueError(f"{path}: 'command' must be a list of strings")
    return command, int(config.get("timeout", 60))


def check_regression(stockade: str, reports: Path, history: Path, new_run: str,
                     run: Runner) -> dict[str, Any] | None:
    """The summary to send, or None (no regression, no earlier run, or the diff is not about new_run)."""
    diff = run([stockade, "diff", "--json", "--history", str(history), "-o", str(reports)],
               capture_output=True, text=True, check=False, timeout=300)
    if diff.returncode == 0:
        log(f"run {new_run}: no regression since the previous run")
        return None
    if diff.returncode != 1:
        log(f"run {new_run}: no comparison ({diff.stderr.strip() or f'stockade diff exited {diff.returncode}'})")
        return None
    document = json.loads(diff.stdout)
    if document.get("head_run_id") != new_run:
        log(f"run {new_run}: the history's latest run is {document.get('head_run_id')}, not notifying")
        return None
    report = summary(document, reports / new_run, socket.getfqdn())
    return report if report["regressions"] else None


def main(argv: Sequence[str] | None = None, run: Runner = subprocess.run) -> int:
    parser = argparse.ArgumentParser(prog="stockade-scheduled-audit")
    parser.add_argument("--reports", type=Path, required=True, help="the audit's -o directory")
    parser.add_argument("--history", type=Path, required=True, help="the audit's --history database")
    parser.add_argument("--notify-config", type=Path, help="JSON {command: [argv...], timeout: seconds}")
    parser.add_argument("audit", nargs=argparse.REMAINDER, help="-- STOCKADE audit ARGS...")
    args = parser.parse_args(argv)
    audit = args.audit[1:] if args.audit[:1] == ["--"] else args.audit
    if not audit:
        parser.error("give the audit command after --")
    try:
        command, timeout = load_notify_config(args.notify_config)
    except (OSError, ValueError) as exc:
        log(f"bad notification config: {exc}")
        return 2

    before = run_dirs(args.reports)
    code = run(audit, check=False).returncode
    new_runs = sorted(run_dirs(args.reports) - before)
    log(f"audit exited {code}; new run: {', '.join(new_runs) or 'none'}")
    if code in (0, 1) and not new_runs:
        # A crash (an uncaught exception exits 1 too) must not pass for "findings fail".
        log("the audit wrote no run: counting it as an error")
        return EXIT_ERROR
    if not command or code not in RECORDED_EXITS or len(new_runs) != 1:
        return code

    report = check_regression(audit[0], args.reports, args.history, new_runs[0], run)
    if report is None:
        return code
    controls = ", ".join(sorted({item["control_id"] for item in report["regressions"]}))
    log(f"run {new_runs[0]}: {len(report['regressions'])} regression(s) ({controls}); notifying")
    try:
        notified = run(command, input=json.dumps(report, indent=2) + "\n", text=True, env=notify_environment(report),
                       check=False, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log(f"notification command failed: {exc}")
        return EXIT_NOTIFY_FAILED if code in (0, 1) else code
    if notified.returncode != 0:
        log(f"notification command exited {notified.returncode}")
        return EXIT_NOTIFY_FAILED if code in (0, 1) else code
    return code


if __name__ == "__main__":
    sys.exit(main())
