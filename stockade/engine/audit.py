"""`stockade audit`: collect from every host concurrently, evaluate, write the reports, say the verdict."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from checks.model import Check
from checks.registry import ALL_CHECKS
from stockade import __version__
from stockade.engine.collect import collect
from stockade.engine.evaluate import evaluate
from stockade.engine.model import Finding, RunMetadata, RunResult, Status
from stockade.engine.targets import Target, load_targets
from stockade.errors import UsageError
from stockade.project import use_ansible_environment
from stockade.report.writer import write_reports

# Bounded: a slow or dead host holds one worker until its SSH timeouts expire, never the others.
MAX_CONCURRENT_HOSTS = 16

# Documented in README.md.
EXIT_OK = 0
EXIT_FAIL = 1
EXIT_ERROR = 3


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def audit_target(target: Target, checks: Sequence[Check]) -> list[Finding]:
    facts_needed = {fact for check in checks for fact in check.facts}
    return evaluate(collect(target, facts_needed), checks)


def run_audit(inventory: Path, limit: str = "all", checks: Sequence[Check] = ALL_CHECKS) -> RunResult:
    use_ansible_environment()
    started = datetime.now(UTC)
    targets = load_targets(inventory, limit)
    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_HOSTS, len(targets))) as pool:
        per_host = list(pool.map(lambda target: audit_target(target, checks), targets))
    metadata = RunMetadata(
        run_id=new_run_id(started), started_at=started.isoformat(timespec="seconds"),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"), tool_version=__version__,
        inventory=str(inventory), hosts=tuple(target.name for target in targets))
    return RunResult(metadata, tuple(finding for findings in per_host for finding in findings))


def exit_code(result: RunResult) -> int:
    statuses = {finding.status for finding in result.findings}
    if Status.ERROR in statuses:
        return EXIT_ERROR
    if Status.FAIL in statuses:
        return EXIT_FAIL
    return EXIT_OK


def run_audit_command(inventory: Path, *, limit: str, out_dir: Path, formats: Sequence[str]) -> int:
    unknown = sorted(set(formats) - {"json", "html", "junit"})
    if unknown:
        raise UsageError(f"--format: unknown format(s) {', '.join(unknown)} (choose from json, html, junit)")
    result = run_audit(inventory, limit)
    run_dir = out_dir / result.metadata.run_id
    written = write_reports(result, run_dir, formats)
    for finding in result.findings:
        print(f"{finding.status.value.upper():7} {finding.host:20} {finding.control_id:8} {finding.message}")
    counts = ", ".join(f"{count} {status}" for status, count in result.counts().items() if count)
    print(f"{len(result.metadata.hosts)} host(s): {counts}", file=sys.stderr)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return exit_code(result)
