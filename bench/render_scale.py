"""Rendering at scale: 1,000 hosts x 150 findings, every format, with the diff and the history.

A benchmark, not a test: `.venv/bin/python -m bench.render_scale [HOSTS] [FINDINGS_PER_HOST]` prints one
JSON document of seconds per step and output sizes. No lab, no network: the results are generated.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from stockade.engine.model import Evidence, Finding, RunMetadata, RunResult, Severity, Status
from stockade.history.context import build_context
from stockade.history.store import open_history
from stockade.integrity.keys import load_or_create_signer
from stockade.integrity.verify import verify_run
from stockade.report.html_report import render_html
from stockade.report.json_report import render_json, validate_results
from stockade.report.junit import render_junit
from stockade.report.sarif import render_sarif
from stockade.report.writer import write_reports

T = TypeVar("T")
STATUSES = [Status.PASS] * 14 + [Status.FAIL] * 3 + [Status.SKIPPED, Status.WAIVED, Status.ERROR]
WAIVER = {"id": "W-001", "control": "SSH-01", "justification": "legacy client", "approver": "ciso",
          "expires": "2099-01-01", "waived_status": "fail", "state": "active"}


def generate(run_id: str, hosts: int, per_host: int, seed: int) -> RunResult:
    rng = random.Random(seed)  # noqa: S311 - generated test data, not secrets
    findings = []
    for h in range(hosts):
        host = f"host-{h:04d}"
        for c in range(per_host):
            status = rng.choice(STATUSES)
            findings.append(Finding(
                host=host, control_id=f"CTL-{c // 3:02d}", check_id=f"check_{c:03d}", clause_ids=(f"DH-{c % 21}",),
                status=status, severity=rng.choice(list(Severity)), message=f"check_{c:03d} on {host}: {status}",
                evidence=Evidence(source="collector", observed={"value": rng.randint(0, 9), "lines": ["a", "b"]},
                                  collected_at="2025-01-31T12:00:05+00:00"),
                waiver=WAIVER if status is Status.WAIVED else None))
    meta = RunMetadata(run_id=run_id, started_at=f"2025-01-{seed + 1:02d}T12:00:00+00:00",
                       finished_at=f"2025-01-{seed + 1:02d}T12:05:00+00:00", tool_version="0.1.0",
                       inventory="generated", hosts=tuple(f"host-{h:04d}" for h in range(hosts)))
    return RunResult(meta, tuple(findings))


def timed(timings: dict[str, Any], name: str, fn: Callable[[], T]) -> T:
    """Wall-clock and CPU seconds (CPU is the fairer number on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    timings[name] = {"wall": round(time.perf_counter() - wall, 3), "cpu": round(time.process_time() - cpu, 3)}
    return value


def main(argv: list[str]) -> dict[str, Any]:
    hosts = int(argv[0]) if argv else 1000
    per_host = int(argv[1]) if len(argv) > 1 else 150
    timings: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    previous = timed(timings, "generate", lambda: generate("run-prev", hosts, per_host, seed=1))
    current = generate("run-now", hosts, per_host, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        with open_history(base / "reports" / "history.sqlite") as store:
            timed(timings, "history_record", lambda: store.record(previous))
            context = timed(timings, "history_context_and_diff", lambda: build_context(store, current))
        json_text = timed(timings, "render_json", lambda: render_json(current))
        timed(timings, "validate_json", lambda: validate_results(json.loads(json_text)))
        html = timed(timings, "render_html", lambda: render_html(current, context))
        sarif = timed(timings, "render_sarif", lambda: render_sarif(current, context))
        junit = timed(timings, "render_junit", lambda: render_junit(current))
        sizes.update(json=len(json_text.encode()), html=len(html.encode()), sarif=len(sarif.encode()),
                     junit=len(junit.encode()))
        signer = load_or_create_signer(base / "keys")
        run_dir = base / "reports" / "run-now"
        timed(timings, "write_all_formats_signed", lambda: write_reports(
            replace(current), run_dir, ["json", "html", "junit", "sarif"], context=context, signer=signer))
        report = timed(timings, "verify", lambda: verify_run(run_dir))
        assert report.ok, report.problems
    assert context.diff is not None
    return {"hosts": hosts, "findings_per_host": per_host, "findings": len(current.findings),
            "diff_counts": context.diff.counts(), "seconds": timings, "bytes": sizes}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2))
