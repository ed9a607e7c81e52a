"""The HTML report: one self-contained page for a security reviewer, rendered by Jinja2."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from checks.model import STATUS_SEVERITY_ORDER, Status
from stockade.engine.model import RunResult, Verdict
from stockade.engine.verdicts import CLAUSE_RULES, CONTROL_RULES, HOLDS
from stockade.gc_pause import gc_paused
from stockade.history.chart import STACK_ORDER, build_chart
from stockade.history.context import ReportContext
from stockade.report.headline import headline
from stockade.report.html_views import OPEN_EVIDENCE, build_views, pretty_json
from stockade.report.ordering import worst_status

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
EXPIRES_SOON_DAYS = 30  # a waiver or attestation expiring within this many days of the run is flagged


def clause_tally(result: RunResult) -> list[tuple[Verdict, int]]:
    """How many clauses have each verdict, in the order of ``VERDICT_LABELS``, zeros left out."""
    counts = {verdict: 0 for verdict in VERDICT_LABELS}
    for clause in result.clauses:
        counts[clause.verdict] += 1
    return [(verdict, count) for verdict, count in counts.items() if count]


def render_html(result: RunResult, context: ReportContext | None = None) -> str:
    """Render ``result`` as one HTML page: inline CSS, no scripts, no external resources.

    With a ``context``: the changes since the previous run and a chart (inline SVG) of results over time.
    """
    with gc_paused():  # ~1M short-lived strings: the cyclic collector would only rescan the findings
        return _render(result, context or ReportContext())


def _render(result: RunResult, context: ReportContext) -> str:
    counts = result.counts()
    list_passes = len(result.findings) <= LIST_PASSES_UP_TO
    notable = context.diff.notable() if context.diff is not None else []
    template = _environment().get_template(TEMPLATE)
    return template.render(
        meta=result.metadata,
        summary=[(status, counts[status.value]) for status in STATUS_SEVERITY_ORDER],
        total=len(result.findings),
        overall=worst_status(result.findings),
        headline=headline(result),
        meanings=STATUS_MEANINGS,
        error_count=counts[Status.ERROR.value],
        clauses=result.clauses,
        clause_tally=clause_tally(result),
        holds=HOLDS,
        verdict_labels=VERDICT_LABELS,
        control_rules=CONTROL_RULES,
        clause_rules=CLAUSE_RULES,
        expires_soon=EXPIRES_SOON_DAYS,
        diff=context.diff,
        diff_rows=notable[:DIFF_ROWS_SHOWN],
        diff_unlisted=max(0, len(notable) - DIFF_ROWS_SHOWN),
        chart=build_chart(context.series),
        stack_order=STACK_ORDER,
        list_passes=list_passes,
        open_evidence=OPEN_EVIDENCE,
        **build_views(result, list_passes),
    )
