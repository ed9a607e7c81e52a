"""The HTML report: one self-contained page for a security reviewer, rendered by Jinja2."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from stockade.engine.model import STATUS_SEVERITY_ORDER, RunResult, Status, Verdict
from stockade.history.chart import STACK_ORDER, build_chart
from stockade.history.context import ReportContext
from stockade.report.ordering import group_by_host, worst_status

TEMPLATE = "report.html.j2"
DIFF_ROWS_SHOWN = 500  # changes listed in the page; `stockade diff` lists them all

# What each status means, shown in the summary legend and as badge tooltips.
STATUS_MEANINGS: dict[Status, str] = {
    Status.ERROR: "Could not be evaluated (missing fact, unreachable host, failed command). Not a pass.",
    Status.FAIL: "Evaluated: the host does not meet the control.",
    Status.WAIVED: "Evaluated, but a waiver applies; the waiver is shown with the finding.",
    Status.MANUAL: "No machine can prove this control; it needs an attestation.",
    Status.SKIPPED: "Not applicable to this host.",
    Status.PASS: "Evaluated: the host meets the control.",
}


VERDICT_LABELS: dict[Verdict, str] = {
    Verdict.SATISFIED: "satisfied",
    Verdict.NOT_SATISFIED: "not satisfied",
    Verdict.PARTLY: "partly",
    Verdict.WAIVED: "waived",
    Verdict.MANUAL_ATTESTED: "manual, attested",
    Verdict.NOT_ASSESSED: "not assessed",
}


def pretty_json(value: Any) -> str:
    """Indented JSON for a value in a <pre>; the template's autoescaping makes it safe."""
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("stockade.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pretty_json"] = pretty_json
    return env


# Above this many findings the page lists every non-pass finding but only counts the passes, so that a
# fleet-wide report still opens in a browser; results.json keeps every finding with its evidence.
LIST_PASSES_UP_TO = 5000


def render_html(result: RunResult, context: ReportContext | None = None) -> str:
    """Render ``result`` as one HTML page: inline CSS, no scripts, no external resources.

    With a ``context``: the changes since the previous run and a chart (inline SVG) of results over time.
    """
    counts = result.counts()
    context = context or ReportContext()
    template = _environment().get_template(TEMPLATE)
    return template.render(
        meta=result.metadata,
        summary=[(status, counts[status.value]) for status in STATUS_SEVERITY_ORDER],
        total=len(result.findings),
        overall=worst_status(result.findings),
        hosts=group_by_host(result),
        meanings=STATUS_MEANINGS,
        error_count=counts[Status.ERROR.value],
        clauses=result.clauses,
        verdict_labels=VERDICT_LABELS,
        diff=context.diff,
        diff_rows=context.diff.notable()[:DIFF_ROWS_SHOWN] if context.diff is not None else [],
        chart=build_chart(context.series),
        stack_order=STACK_ORDER,
        list_passes=len(result.findings) <= LIST_PASSES_UP_TO,
    )
