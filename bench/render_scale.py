"""Rendering at scale: 1,000 hosts x 150 findings, every format, with the diff and the history.

A benchmark, not a test: `.venv/bin/python -m bench.render_scale [HOSTS] [FINDINGS_PER_HOST]` prints one
JSON document of seconds per step and output sizes. No lab, no network: the results are generated.

Each step gives wall-clock seconds, CPU seconds of this process and CPU seconds of the child processes it
waited for (write_reports renders formats in forked processes from writer.PARALLEL_FROM_FINDINGS findings
on). The rendering steps run with the cyclic garbage collector paused, as write_reports runs them; the
write is measured twice: as write_reports does it (parallel) and with the forks turned off (serial).
On a shared machine compare CPU seconds; wall seconds depend on what else runs.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from checks.model import Severity, Status
from stockade.engine.model import Evidence, Finding, RunMetadata, RunResult
from stockade.gc_pause import gc_paused
from stockade.history.context import build_context
from stockade.history.store import open_history
from stockade.integrity.keys import load_or_create_signer
from stockade.integrity.verify import verify_run
from stockade.report import writer
from stockade.report.html_report import render_html
from stockade.report.json_report import dumps_document, validate_results
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(timings: dict[str, Any], name: str, fn: Callable[[], T]) -> T:
    """Wall-clock and CPU seconds (CPU is the fairer number on a shared machine)."""
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    value = fn()
    timings[name] = {"wall": round(time.perf_counter() - wall, 3), "cpu": round(time.process_time() - cpu, 3),
                     "cpu_children": round(_children_cpu() - children, 3)}
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
        with gc_paused():
            document = timed(timings, "to_dict", current.to_dict)
            timed(timings, "validate_document", lambda: validate_results(document))
            json_text = timed(timings, "serialise_json", lambda: dumps_document(document))
            html = timed(timings, "render_html", lambda: render_html(current, context))
            sarif = timed(timings, "render_sarif", lambda: render_sarif(current, context))
            junit = timed(timings, "render_junit", lambda: render_junit(current))
        sizes.update(json=len(json_text.encode()), html=len(html.encode()), sarif=len(sarif.encode()),
                     junit=len(junit.encode()))
        del json_text, html, sarif, junit
        signer = load_or_create_signer(base / "keys")
        formats = ["json", "html", "junit", "sarif"]
        run_dir = base / "reports" / "run-now"
        timed(timings, "write_all_formats_signed", lambda: write_reports(
            replace(current), run_dir, formats, context=context, signer=signer))
        report = timed(timings, "verify", lambda: verify_run(run_dir))
        assert report.ok, report.problems
        serial_dir = base / "serial" / "run-now"
        parallel_from, writer.PARALLEL_FROM_FINDINGS = writer.PARALLEL_FROM_FINDINGS, sys.maxsize
        try:
            timed(timings, "write_all_formats_signed_serial", lambda: write_reports(
                replace(current), serial_dir, formats, context=context, signer=signer))
        finally:
            writer.PARALLEL_FROM_FINDINGS = parallel_from
        assert verify_run(serial_dir).ok
        for name in ("results.json", "report.html", "junit.xml", "results.sarif"):
            assert (run_dir / name).read_bytes() == (serial_dir / name).read_bytes(), name
    assert context.diff is not None
    return {"hosts": hosts, "findings_per_host": per_host, "findings": len(current.findings),
            "diff_counts": context.diff.counts(), "seconds": timings, "bytes": sizes,
            "max_rss_mib": {"self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                            "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024}}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2))
