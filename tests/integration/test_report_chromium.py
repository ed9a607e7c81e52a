"""The HTML report in a real browser: Debian's headless Chromium, driven over the DevTools protocol (no lab).

A realistic run (the real policy catalogue, waivers active and expired, attestations valid, expired and
missing, a history of earlier runs) is rendered, opened from a file:// URL and checked: no script error, no
console error or warning, no request but the file itself (the page is self-contained), every section present,
every in-page link resolving, collapsed evidence printed, nothing wider than an A4 page. A screenshot and the
printed PDF are kept under $STOCKADE_TEST_ARTIFACTS (default <repo>/test-artifacts/). The 1,000-host x 150-finding
report of bench/render_scale.py must load too, with every non-pass finding and its evidence, links into sections
the browser has not laid out yet must land on their target, and printing must render every section; its load
time and DOM size are printed, never asserted (bench/html_open.py compares them with an earlier template's).
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from browser_cdp import Browser, report_browser

from checks.catalogue import load_catalogue
from checks.model import Severity, Status
from stockade import __version__
from stockade.engine.attestations import Attestation, attestation_findings
from stockade.engine.model import Evidence, Finding, RunMetadata, RunResult
from stockade.engine.verdicts import CLAUSE_RULES, CONTROL_RULES, clause_results
from stockade.engine.waivers import Waiver, apply_waivers
from stockade.history.context import ReportContext, build_context
from stockade.history.store import open_history
from stockade.report.html_report import render_html

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 3, 2)
HOSTS = ("web-01", "web-02", "web-03", "web-04", "db-01", "db-02")
STATUSES = [Status.PASS] * 16 + [Status.FAIL] * 3 + [Status.ERROR, Status.SKIPPED]
A4_CONTENT_WIDTH_PX = 718  # 210 mm - 2 x 10 mm margins, at 96 px per inch


def artifacts_dir() -> Path:
    directory = Path(os.environ.get("STOCKADE_TEST_ARTIFACTS", REPO / "test-artifacts"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def browser() -> Iterator[Browser]:
    with report_browser() as opened:
        yield opened


def audited_run(run_id: str, day: date, seed: int) -> RunResult:
    """A run as `stockade audit` builds it, against the real catalogue, with generated host findings."""
    rng = random.Random(seed)
    catalogue = load_catalogue()
    findings: list[Finding] = []
    collected_at = datetime.combine(day, datetime.min.time(), tzinfo=UTC).isoformat()
    for host in HOSTS:
        for control in catalogue.controls:
            for check_id in control.checks:
                status = rng.choice(STATUSES)
                observed: dict[str, object] = {
                    "expected": {"value": "no", "per": control.id},
                    "seen": [f"{check_id} line {n}" for n in range(rng.randint(1, 4))],
                    "config_file": f"/etc/stockade/{check_id}.conf",
                }
                findings.append(Finding(
                    host, control.id, check_id, control.clauses, status, Severity(control.severity),
                    f"{check_id} on {host}: {status.value}" + (" — could not read the file" if status is Status.ERROR
                                                               else ""),
                    None if status is Status.ERROR else Evidence("collector", observed, collected_at)))
    failing = sorted({(f.control_id, f.check_id) for f in findings if f.status is Status.FAIL})
    # W-001 covers web hosts only: its control must have a FAIL there, whatever the draw (the catalogue grows).
    failing_on_web = sorted({f.control_id for f in findings if f.status is Status.FAIL and f.host.startswith("web-")})
    waivers = (
        Waiver("W-001", failing_on_web[0], None, "web-*", "Vendor appliance: fixed in the Q2 release <b>not</b> before",
               "ciso@example.org", day + timedelta(days=12)),
        Waiver("W-002", None, failing[-1][1], "*", "Legacy client, migration tracked in CHG-1234",
               "cto@example.org", day - timedelta(days=3)),
    )
    manual = [control for control in catalogue.controls if control.automation == "manual"]
    attestations = (
        Attestation(manual[0].id, "dpo@example.org", day - timedelta(days=40), "DOC-42 (records of processing)",
                    day + timedelta(days=300), "Reviewed with the processors' register."),
        Attestation(manual[1].id, "legal@example.org", day - timedelta(days=400), "DOC-7",
                    day - timedelta(days=35)),
    )
    findings = apply_waivers(findings, waivers, day)
    findings += attestation_findings(manual, attestations, day)
    started = datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=6)
    metadata = RunMetadata(
        run_id=run_id, started_at=started.isoformat(), finished_at=(started + timedelta(seconds=42)).isoformat(),
        tool_version=__version__, inventory="inventory/fleet/hosts.yml", hosts=HOSTS,
        policy_id=catalogue.policy_id, catalogue_digest=catalogue.digest,
        waivers_file="waivers.yml", attestations_file="attestations.yml")
    clauses = clause_results(catalogue.clauses, catalogue.controls, findings, None)
    return RunResult(metadata, tuple(findings), clauses)


def realistic_report(tmp_path: Path) -> tuple[RunResult, ReportContext]:
    current = audited_run("20260302T060000Z-c0ffee", TODAY, seed=99)
    with open_history(tmp_path / "history.sqlite") as store:
        for week in range(8, 0, -1):
            day = TODAY - timedelta(days=7 * week)
            store.record(audited_run(f"{day:%Y%m%d}T060000Z-{week:06x}", day, seed=week))
        context = build_context(store, current)
    return current, context


def problems(browser: Browser, url: str) -> list[str]:
    """Every script exception, console error or warning, and request for anything but ``url``."""
    found = [f"exception: {event['params']['exceptionDetails']}"
             for event in browser.events_named("Runtime.exceptionThrown")]
    found += [f"log {event['params']['entry']['level']}: {event['params']['entry'].get('text')}"
              for event in browser.events_named("Log.entryAdded")
              if event["params"]["entry"]["level"] in ("error", "warning")]
    found += [f"console.{event['params']['type']}" for event in browser.events_named("Runtime.consoleAPICalled")
              if event["params"]["type"] in ("error", "warning", "assert")]
    found += [f"request: {event['params']['request']['url'][:200]}"
              for event in browser.events_named("Network.requestWillBeSent")
              if event["params"]["request"]["url"] != url]
    found += [f"failed load: {event['params'].get('errorText')}"
              for event in browser.events_named("Network.loadingFailed")]
    return found


DOM_FACTS = """(() => {
  const all = (selector) => document.querySelectorAll(selector);
  const missing = [...all('a[href^="#"]')].filter((a) => !document.getElementById(a.getAttribute('href').slice(1)));
  return {
    title: document.title,
    sections: [...all('main > section[id], main > div[id]')].map((s) => s.id),
    clauses: all('#clauses tr.clause').length,
    controlRules: all('#control-rules tbody tr').length,
    clauseRules: all('#clause-rules tbody tr').length,
    controls: all('#controls article.control').length,
    waivers: [...all('#waivers tr.waiver')].map((row) => row.className),
    attestations: [...all('#waivers tr.attestation')].map((row) => row.className),
    changes: all('#changes tr.change-row').length,
    bars: all('#trend svg.history g.bar').length,
    hostSections: all('#hosts section.host').length,
    findingRows: all('tr.finding').length,
    links: all('a[href^="#"]').length,
    brokenLinks: missing.length,
    errorBadge: getComputedStyle(document.querySelector('.badge-error')).backgroundColor,
    passBadge: getComputedStyle(document.querySelector('.badge-pass')).backgroundColor,
    csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]').content,
  };
})()"""

# Is the content of the first collapsed <details> rendered? Hidden on screen, shown when printed.
COLLAPSED_EVIDENCE_VISIBLE = "document.querySelector('details:not([open]) > dl').checkVisibility()"

# How many host sections and control drill-downs are not rendered (content-visibility: auto, off screen), and
# how many in all.
SKIPPED_SECTIONS = """(() => {
  const sections = [...document.querySelectorAll('section.host, article.control')];
  const skipped = sections.filter((s) => !s.firstElementChild.checkVisibility({contentVisibilityAuto: true}));
  return {skipped: skipped.length, total: sections.length};
})()"""

# Where an element is relative to the top of the viewport, and whether its section is rendered.
POSITION = """((id) => {
  const el = document.getElementById(id);
  const inside = el.matches('section.host, article.control') ? el.firstElementChild : el;
  return {top: el.getBoundingClientRect().top, rendered: inside.checkVisibility({contentVisibilityAuto: true})};
})"""

OVERFLOW = """(() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('table, pre, svg, dl')]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .map((el) => el.tagName + '.' + el.className + '#' + (el.closest('[id]') || {}).id);
  return {width, scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 5), count: wide.length};
})()"""


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


def test_realistic_report_renders_cleanly_prints_and_is_kept_as_artifacts(
        browser: Browser, tmp_path: Path) -> None:
    result, context = realistic_report(tmp_path)
    page = tmp_path / "report.html"
    page.write_text(render_html(result, context), encoding="utf-8")
    url = page.as_uri()

    seconds = browser.navigate(url)
    print(f"\nrealistic report ({len(result.findings)} findings, {page.stat().st_size} bytes) loaded in "
          f"{seconds:.2f} s")
    facts = browser.evaluate(DOM_FACTS)
    assert problems(browser, url) == []

    assert facts["title"] == f"Stockade audit {result.metadata.run_id}"
    assert facts["sections"] == ["clauses", "summary", "formula", "changes", "trend", "waivers", "controls", "hosts"]
    assert facts["clauses"] == len(result.clauses) > 0
    assert (facts["controlRules"], facts["clauseRules"]) == (len(CONTROL_RULES), len(CLAUSE_RULES))
    assert facts["controls"] == len({control.control_id for clause in result.clauses for control in clause.controls})
    assert facts["waivers"] == ["waiver waiver-active", "waiver waiver-expired"]
    manual = [finding for finding in result.findings if finding.status is Status.MANUAL]
    assert sorted(facts["attestations"]) == sorted(
        f"attestation attestation-{finding.evidence.observed['attestation_state']}"
        for finding in manual if finding.evidence is not None)
    assert {"attestation attestation-attested", "attestation attestation-expired",
            "attestation attestation-missing"} <= set(facts["attestations"])
    assert context.diff is not None and facts["changes"] == len(context.diff.notable()) > 0
    assert facts["bars"] == len(context.series) == 9
    assert facts["hostSections"] == len(HOSTS) + 1  # and the organisation, for the attestations
    assert facts["findingRows"] == len(result.findings)
    assert facts["links"] > len(result.findings) and facts["brokenLinks"] == 0
    assert facts["errorBadge"] == "rgb(91, 26, 140)" != facts["passBadge"]
    assert facts["csp"].startswith("default-src 'none'")

    artifacts = artifacts_dir()
    shot = browser.screenshot(artifacts / "report-chromium.png")
    full = browser.screenshot(artifacts / "report-chromium-full.png", full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and full.stat().st_size > shot.stat().st_size
    print(f"screenshots: {shot} {full}")

    # Printed: collapsed evidence shows, and at the width of an A4 page nothing sticks out (no cut tables).
    # On screen the hosts far below the viewport are not rendered; printed, every one is.
    assert browser.evaluate(COLLAPSED_EVIDENCE_VISIBLE) is False
    on_screen = browser.evaluate(SKIPPED_SECTIONS)
    assert on_screen["skipped"] > 0 and on_screen["total"] == facts["controls"] + facts["hostSections"], on_screen
    browser.send("Emulation.setEmulatedMedia", {"media": "print"})
    assert browser.evaluate(COLLAPSED_EVIDENCE_VISIBLE) is True
    assert browser.evaluate(SKIPPED_SECTIONS) == {"skipped": 0, "total": on_screen["total"]}
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": A4_CONTENT_WIDTH_PX, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    overflow = browser.evaluate(OVERFLOW)
    assert overflow["count"] == 0 and overflow["scrollWidth"] <= overflow["width"], overflow
    browser.send("Emulation.clearDeviceMetricsOverride")
    browser.send("Emulation.setEmulatedMedia", {"media": ""})

    started = time.perf_counter()
    pdf = browser.print_to_pdf(artifacts / "report-chromium.pdf", timeout=300).read_bytes()
    pages = pdf_pages(pdf)
    print(f"pdf: {artifacts / 'report-chromium.pdf'} ({pages} pages, {len(pdf)} bytes, "
          f"{time.perf_counter() - started:.2f} s)")
    assert pdf.startswith(b"%PDF-")
    assert pages > 20  # every finding and its evidence, details open, big sections on new pages
    assert problems(browser, url) == []


def fleet_generate() -> tuple[RunResult, RunResult]:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from bench.render_scale import generate

    return generate("run-prev", 1000, 150, seed=1), generate("run-now", 1000, 150, seed=2)


FLEET_DOM = """(() => ({
  elements: document.getElementsByTagName('*').length,
  findingRows: document.querySelectorAll('tr.finding').length,
  evidence: document.querySelectorAll('tr.finding + tr.detail > td > details > pre').length,
  controls: document.querySelectorAll('#controls article.control').length,
  hostSections: document.querySelectorAll('#hosts section.host').length,
}))()"""


def test_fleet_report_of_150000_findings_loads(browser: Browser, tmp_path: Path) -> None:
    previous, current = fleet_generate()
    with open_history(tmp_path / "history.sqlite") as store:
        store.record(previous)
        context = build_context(store, current)
    cpu = time.process_time()
    page = tmp_path / "fleet.html"
    page.write_text(render_html(current, context), encoding="utf-8")
    render_cpu = time.process_time() - cpu
    url = page.as_uri()

    browser.send("Performance.enable")
    seconds = browser.navigate(url, timeout=900)
    metrics = browser.metrics()
    dom = browser.evaluate(FLEET_DOM, timeout=300)
    listed = [finding for finding in current.findings if finding.status is not Status.PASS]
    print(f"\nfleet report: {len(current.findings)} findings ({len(listed)} listed), "
          f"{page.stat().st_size / 1e6:.1f} MB, render_html {render_cpu:.2f} s CPU; "
          f"loaded in Chromium in {seconds:.1f} s; DOM: {dom['elements']} elements, {int(metrics['Nodes'])} nodes; "
          f"main thread {metrics['TaskDuration']:.1f} s (style {metrics['RecalcStyleDuration']:.1f} s, "
          f"layout {metrics['LayoutDuration']:.1f} s)")
    # Every non-pass finding reached the DOM (the whole file was parsed), each with its evidence.
    assert dom["findingRows"] == len(listed)
    assert dom["evidence"] == sum(1 for finding in listed if finding.evidence is not None) > 0
    assert (dom["controls"], dom["hostSections"]) == (50, len(current.metadata.hosts))
    sections = browser.evaluate(SKIPPED_SECTIONS)
    assert sections["skipped"] > sections["total"] - 10, sections  # only those near the viewport are rendered

    # A link into a section not rendered yet lands on its target, rendered, at the top of the viewport.
    last_host = len(current.metadata.hosts)
    for target in (f"f{last_host - 3}-2", "control-40", f"host-{last_host // 2}"):
        before = browser.evaluate(f"{POSITION}('{target}')")
        assert before["rendered"] is False, target
        browser.go_to_fragment(url, target, timeout=120)
        position = browser.evaluate(f"{POSITION}('{target}')")
        assert position["rendered"] is True and abs(position["top"]) <= 2, (target, position)

    browser.send("Emulation.setEmulatedMedia", {"media": "print"})
    assert browser.evaluate(SKIPPED_SECTIONS, timeout=300) == {"skipped": 0, "total": sections["total"]}
    browser.send("Emulation.setEmulatedMedia", {"media": ""})
    browser.go_to_fragment(url, "clauses")
    shot = browser.screenshot(artifacts_dir() / "fleet-report-chromium.png", timeout=300)
    print(f"screenshot: {shot}")
    assert problems(browser, url) == []
