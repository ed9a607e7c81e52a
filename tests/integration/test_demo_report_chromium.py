"""The demo's report, in headless Chromium (issue 17 "Done when").

Not the whole of scripts/demo.sh (its audit before hardening proves nothing here and costs a minute): the
demo's own steps after it, on a lab of its own (2 hosts, Debian 13, as `make demo` with DEMO_HOSTS=2): the
demo fleet written by `write_demo_inventory` (two operators, alice enrolled with a seed made for this run,
customer data on one host, the web edge on the other), `stockade harden -i demo.yml`, then `stockade audit -i
demo.yml --attestations inventory/examples/attestations.yml`. Its report.html is opened from a file:// URL:
every clause assessed, the headline not MANUAL, the behaviour evidence (the TOTP login, the refused
unauthorized read, the 429 burst) shown, no console error; and the seed is in no file the audit wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from browser_cdp import Browser, find_chromium
from conftest import REPO, Lab, boot_lab, stockade
from test_report_chromium import problems

from stockade.lab.inventory import DEMO_FILES, DEMO_OPERATOR_2FA, write_demo_inventory

ATTESTATIONS = REPO / "inventory" / "examples" / "attestations.yml"


@dataclass(frozen=True)
class DemoRun:
    run_dir: Path
    seed: str = field(repr=False)  # never in test output: every check of it is a bare bool in an assert

    def leaks_into(self, text: str | bytes) -> bool:
        return (self.seed.encode() if isinstance(text, bytes) else self.seed) in text


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """The audit's run directory and the demo's seed: the demo's harden and audit, once for the module."""
    for lab in boot_lab(tmp_path_factory, "13", 2):
        try:
            yield _harden_and_audit(lab, tmp_path_factory.mktemp("demo-reports"))
        finally:  # as scripts/demo.sh: the seed (demo.yml) and the operator key go with the lab
            for name in DEMO_FILES:
                (lab.inventory.parent / name).unlink(missing_ok=True)


def _harden_and_audit(lab: Lab, reports: Path) -> DemoRun:
    inventory = write_demo_inventory(lab.inventory.parent)
    seed = yaml.safe_load(inventory.read_text())["all"]["children"]["lab"]["vars"]["totp_seeds"][DEMO_OPERATOR_2FA]
    demo = DemoRun(reports, seed)
    harden = stockade("harden", "-i", str(inventory), timeout=1500)
    leaked = demo.leaks_into(harden.stdout + harden.stderr)
    assert not leaked, "the TOTP seed appears in the harden output"
    assert harden.returncode == 0, harden.stdout[-3000:] + harden.stderr[-3000:]
    audit = stockade("audit", "-i", str(inventory), "-o", str(reports), "--attestations", str(ATTESTATIONS))
    leaked = demo.leaks_into(audit.stdout + audit.stderr)
    assert not leaked, "the TOTP seed appears in the audit output"
    [run_dir] = [path for path in reports.iterdir() if path.is_dir()]
    assert audit.returncode in (0, 1), audit.stdout[-3000:] + audit.stderr[-3000:]  # the report judges the rest
    return DemoRun(run_dir, seed)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("chromium is not installed: run scripts/setup.sh (it installs Debian's chromium package)")
    with Browser(chromium, timeout=120) as opened:
        for domain in ("Page", "Runtime", "Log", "Network"):
            opened.send(f"{domain}.enable")
        yield opened


PAGE_FACTS = """(() => {
  const all = (selector) => [...document.querySelectorAll(selector)];
  return {
    headline: document.querySelector('dd.headline .badge').textContent.trim(),
    headlineText: document.querySelector('dd.headline').textContent,
    clauses: all('#clauses tr.clause').map((row) => [row.querySelector('td.mono').textContent,
                                                      row.className]),
    notAssessedBadges: all('#clauses tr.clause .badge').filter((b) => b.textContent.includes('not assessed')).length,
    text: document.body.textContent.replace(/\\s+/g, ' '),  // collapsed evidence included
  };
})()"""


def test_the_demo_report_assesses_every_clause_in_chromium(demo_run: DemoRun, browser: Browser) -> None:
    run_dir = demo_run.run_dir
    page = run_dir / "report.html"
    leaked = demo_run.leaks_into(page.read_text())
    assert not leaked, "the TOTP seed appears in report.html"
    url = page.resolve().as_uri()
    browser.navigate(url)
    facts: dict[str, Any] = browser.evaluate(PAGE_FACTS)
    assert problems(browser, url) == []
    assert facts["clauses"], "the report shows no clause"
    not_assessed = [clause for clause, classes in facts["clauses"] if "verdict-not_assessed" in classes
                    or "verdict-partly" in classes]
    assert not_assessed == [] and facts["notAssessedBadges"] == 0, facts["headlineText"]
    assert facts["headline"] != "MANUAL" and facts["headline"] == "HOLDS", facts["headlineText"]
    text = facts["text"]
    # The behaviour evidence: alice's TOTP login, the refused unauthorized read, the 429 burst.
    assert f"{DEMO_OPERATOR_2FA}: key alone refused, key + code accepted, reused code refused" in text
    assert "(not authorized) is refused listing every data directory" in text
    assert "bursts met 429 within" in text
    results = json.loads((run_dir / "results.json").read_text())
    statuses = {finding["status"] for finding in results["findings"]}
    assert "error" not in statuses and "fail" not in statuses, statuses


def test_the_demo_seed_is_in_no_report_file(demo_run: DemoRun) -> None:
    written = [path for path in demo_run.run_dir.rglob("*") if path.is_file()]
    assert {"report.html", "results.json"} <= {path.name for path in written}
    leaking = [path.name for path in written if demo_run.leaks_into(path.read_bytes())]
    assert leaking == [], "the TOTP seed appears in these report files"
