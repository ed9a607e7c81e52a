"""How fast the fleet-wide HTML report opens in a real browser, beside an earlier version of the page.

A benchmark, not a test: `.venv/bin/python -m bench.html_open [--base REV] [--repeat N] [HOSTS] [FINDINGS_PER_HOST]`
renders the run of bench/render_scale.py (1,000 hosts x 150 findings by default, with the diff against a previous
run) twice: with the working tree's renderer and template, and with those of git revision REV (default HEAD, read
with `git show`; once the change under test is committed, name the commit before it). Each page is opened from a
file:// URL in a fresh headless Chromium (tests/integration/browser_cdp.py), N times, base and current in turn;
the JSON printed gives per page its size, render_html CPU seconds, seconds from navigation to the load event (the
fastest of N, and all of them), DOM elements and nodes, and the renderer's main-thread seconds (all tasks; style;
layout), then the ratio of the base page's load time to the current one's. Load times depend on what else the
machine runs: compare the two pages of one run (the load average is printed), not runs of different days.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, DictLoader

from bench.render_scale import generate
from checks.model import Status
from stockade.engine.model import RunResult
from stockade.history.context import ReportContext, build_context
from stockade.history.store import open_history
from stockade.report import html_report

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from browser_cdp import Browser, find_chromium  # noqa: E402 - the CDP client lives with the browser tests

RENDERER = "stockade/report/html_report.py"
TEMPLATE = "stockade/report/templates/report.html.j2"
Render = Callable[[RunResult, ReportContext | None], str]

DOM = "[document.getElementsByTagName('*').length, document.querySelectorAll('tr.finding').length]"


def git_show(rev: str, path: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def base_renderer(rev: str) -> tuple[Render, bool]:
    """render_html of ``rev``'s html_report.py and template (on today's model), and whether both equal the tree's."""
    source, template = git_show(rev, RENDERER), git_show(rev, TEMPLATE)
    name = f"bench_html_open_base_{rev.replace('~', '_').replace('^', '_')}"
    module = types.ModuleType(name)
    module.__file__ = f"{rev}:{RENDERER}"
    sys.modules[name] = module  # dataclasses look their module up while the source runs
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own file, from git

    def loader(*_: object) -> BaseLoader:  # the base's _environment() loads the base's template
        return DictLoader({module.TEMPLATE: template})

    module.PackageLoader = loader
    render: Render = module.render_html
    same = source == (REPO / RENDERER).read_text(encoding="utf-8") and \
        template == (REPO / TEMPLATE).read_text(encoding="utf-8")
    return render, same


def open_page(chromium: str, page: Path) -> dict[str, Any]:
    with Browser(chromium, timeout=900) as browser:
        browser.send("Page.enable")
        browser.send("Performance.enable")
        seconds = browser.navigate(page.as_uri(), timeout=900)
        metrics = browser.metrics()
        elements, rows = browser.evaluate(DOM, timeout=300)
    return {"load_s": round(seconds, 2), "dom_elements": elements, "dom_nodes": int(metrics["Nodes"]),
            "finding_rows": rows, "main_thread_s": round(metrics["TaskDuration"], 2),
            "style_s": round(metrics["RecalcStyleDuration"], 2), "layout_s": round(metrics["LayoutDuration"], 2)}


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.html_open", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="HEAD", help="git revision of the page to compare with (default HEAD)")
    parser.add_argument("--repeat", type=int, default=1, help="opens of each page; the fastest counts")
    parser.add_argument("hosts", type=int, nargs="?", default=1000)
    parser.add_argument("per_host", type=int, nargs="?", default=150)
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("chromium is not installed: run scripts/setup.sh")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.base], check=True,
                            capture_output=True, text=True).stdout.strip()
    base_render, same = base_renderer(args.base)

    previous = generate("run-prev", args.hosts, args.per_host, seed=1)
    current = generate("run-now", args.hosts, args.per_host, seed=2)
    pages: dict[str, dict[str, Any]] = {}
    loadavg = [os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="stockade-html-open-") as tmp:
        with open_history(Path(tmp) / "history.sqlite") as store:
            store.record(previous)
            context = build_context(store, current)
        paths: dict[str, Path] = {}
        for name, render in (("base", base_render), ("current", html_report.render_html)):
            cpu = time.process_time()
            html = render(current, context)
            render_cpu = time.process_time() - cpu
            paths[name] = Path(tmp) / f"{name}.html"
            paths[name].write_text(html, encoding="utf-8")
            pages[name] = {"bytes": len(html.encode()), "render_html_cpu_s": round(render_cpu, 3), "opens": []}
            del html
        for _ in range(args.repeat):
            for name in ("base", "current"):
                pages[name]["opens"].append(open_page(chromium, paths[name]))
    loadavg.append(os.getloadavg())
    for page in pages.values():
        fastest = min(page["opens"], key=lambda opened: opened["load_s"])
        page.update({key: value for key, value in fastest.items()}, load_s_all=[o["load_s"] for o in page["opens"]])
        del page["opens"]
    listed = sum(1 for finding in current.findings if finding.status is not Status.PASS)
    return {
        "hosts": args.hosts, "findings_per_host": args.per_host, "findings": len(current.findings),
        "listed_findings": listed, "base": {"rev": args.base, "commit": commit, "same_as_working_tree": same},
        "pages": pages, "load_ratio_base_over_current": round(pages["base"]["load_s"] / pages["current"]["load_s"], 1),
        "loadavg_1min_before_after": [round(avg[0], 2) for avg in loadavg],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(sys.argv[1:]), indent=2))
