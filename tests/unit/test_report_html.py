"""The HTML report: escaped, self-contained, ordered worst first, errors never green."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from report_factory import make_finding, make_result, mixed_result

from stockade.engine.model import Severity, Status
from stockade.report.html_report import render_html

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def finding_rows(html: str, status: str) -> list[str]:
    """The markup of each finding (its row and its evidence row) with that status."""
    segments = re.split(r'(?=<tr class="finding )', html)[1:]
    rows = [segment.split("</section>", 1)[0] for segment in segments]
    return [row for row in rows if row.startswith(f'<tr class="finding status-{status}">')]


def test_script_in_message_and_evidence_is_escaped() -> None:
    result = make_result(
        make_finding(
            Status.FAIL,
            message=f"bad banner {XSS}",
            observed={"banner": XSS, f"key{XSS}": {"nested": [XSS]}},
        )
    )
    html = render_html(result)
    assert XSS not in html
    assert "<script" not in html.lower()
    assert f"bad banner {XSS_ESCAPED}" in html
    assert f"key{XSS_ESCAPED}" in html
    assert "script" not in [tag for tag, _ in tags(html)]


def test_markup_in_identifiers_source_and_waiver_is_escaped() -> None:
    attack = '"><img src=x onerror=alert(1)>'
    result = make_result(
        make_finding(
            Status.WAIVED,
            host=f"web{attack}",
            control_id=f"SSH{attack}",
            check_id=f"chk{attack}",
            clause_ids=(f"DH{attack}",),
            waiver={"justification": attack},
        )
    )
    html = render_html(result)
    assert attack not in html
    assert "img" not in [tag for tag, _ in tags(html)]
    assert all(not name.startswith("on") for _, attrs in tags(html) for name in attrs)


def test_page_is_self_contained() -> None:
    html = render_html(mixed_result())
    names = [tag for tag, _ in tags(html)]
    assert "script" not in names
    assert "link" not in names
    assert "img" not in names
    assert not re.search(r"\b(src|href)\s*=", html)
    assert "@import" not in html
    assert "url(" not in html
    assert "<style>" in html
    assert "default-src 'none'" in html  # a CSP that blocks scripts even if escaping ever failed


def test_header_shows_run_metadata() -> None:
    html = render_html(mixed_result())
    for text in (
        "run-20250131-120000",
        "2025-01-31T12:00:00Z",
        "2025-01-31T12:00:09.500000+00:00",
        "Stockade 0.1.0",
        "inventory/lab/hosts.yml",
    ):
        assert text in html


def test_summary_counts_every_status_with_a_badge() -> None:
    html = render_html(mixed_result())
    summary = html.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    counts = dict(
        re.findall(r'class="badge badge-(\w+)"[^>]*>\w+</span></td><td class="count">(\d+)<', summary)
    )
    assert counts == {"error": "1", "fail": "1", "waived": "1", "manual": "1", "skipped": "1", "pass": "2"}
    assert "1 finding was not evaluated" in summary


def test_error_finding_renders_with_the_error_badge_not_the_pass_badge() -> None:
    html = render_html(mixed_result())
    (row,) = finding_rows(html, "error")
    assert "could not run nft: permission denied" in row
    assert 'class="badge badge-error"' in row
    assert ">ERROR</span>" in row
    assert "badge-pass" not in row
    assert "No evidence was recorded" in row


def _css_colour(html: str, selector: str, prop: str) -> tuple[int, int, int]:
    match = re.search(rf"{re.escape(selector)}\s*\{{[^}}]*?{prop}:\s*#([0-9a-fA-F]{{6}})", html)
    assert match, f"no {prop} for {selector}"
    hex_ = match.group(1)
    red, green, blue = (int(hex_[i : i + 2], 16) for i in (0, 2, 4))
    return red, green, blue


def _is_greenish(rgb: tuple[int, int, int]) -> bool:
    red, green, blue = rgb
    return green > red and green >= blue


def test_error_styling_is_never_green_and_differs_from_pass() -> None:
    html = render_html(mixed_result())
    assert _is_greenish(_css_colour(html, ".badge-pass", "background"))  # the check can see green
    for selector, prop in (
        (".badge-error", "background"),
        ("tr.status-error > td:first-child", "border-left-color"),
        ("tr.status-error", "background"),
    ):
        assert not _is_greenish(_css_colour(html, selector, prop)), selector
    assert _css_colour(html, ".badge-error", "background") != _css_colour(html, ".badge-pass", "background")


def test_hosts_and_findings_are_sorted_worst_first_then_control_id() -> None:
    result = make_result(
        make_finding(Status.PASS, host="a-clean", control_id="SSH-01"),
        make_finding(Status.PASS, host="b-mixed", control_id="AAA-01"),
        make_finding(Status.FAIL, host="b-mixed", control_id="ZZZ-09"),
        make_finding(Status.FAIL, host="b-mixed", control_id="FW-02"),
        make_finding(Status.ERROR, host="b-mixed", control_id="WEB-01"),
        make_finding(Status.SKIPPED, host="b-mixed", control_id="BBB-01"),
        make_finding(Status.FAIL, host="c-failing", control_id="SSH-01"),
    )
    html = render_html(result)
    hosts = re.findall(r'<section class="host" id="host-\d+">\s*<h2><span class="mono">([^<]+)<', html)
    assert hosts == ["b-mixed", "c-failing", "a-clean"]
    section = html.split('<span class="mono">b-mixed</span>\n', 1)[1].split("</section>", 1)[0]
    controls = re.findall(r'<tr class="finding status-\w+">\s*<td class="mono">([^<]+)<', section)
    assert controls == ["WEB-01", "FW-02", "ZZZ-09", "BBB-01", "AAA-01"]


def test_evidence_is_in_details_with_nested_values_as_pretty_json() -> None:
    html = render_html(mixed_result())
    (row,) = finding_rows(html, "fail")
    assert "<details open>" in row
    assert "<summary>Evidence</summary>" in row
    assert '<dd class="mono">sshd -T</dd>' in row
    assert '<dd class="mono">2025-01-31T12:00:05Z</dd>' in row
    assert '<th scope="row">nested</th><td><pre>{\n  &#34;a&#34;: [\n    1,\n    2\n  ]\n}</pre>' in row
    assert '<th scope="row">ciphers</th><td><pre>[\n  &#34;aes128-cbc&#34;,' in row


def test_pass_evidence_is_collapsed() -> None:
    html = render_html(mixed_result())
    rows = finding_rows(html, "pass")
    assert len(rows) == 2
    assert all("<details>" in row and "<details open>" not in row for row in rows)


def test_waived_finding_shows_its_waiver() -> None:
    html = render_html(mixed_result())
    (row,) = finding_rows(html, "waived")
    assert "<caption>Waiver</caption>" in row
    assert "ciso@example.org" in row
    assert "legacy client until Q3" in row


def test_host_without_findings_is_flagged_not_hidden() -> None:
    result = make_result(make_finding(Status.PASS, host="web01"), hosts=("web01", "db01"))
    html = render_html(result)
    assert '<span class="mono">db01</span>' in html
    assert "No findings were recorded for this host" in html
    assert html.index("db01</span>\n") < html.index("web01</span>\n")


def test_empty_run_says_nothing_was_evaluated() -> None:
    html = render_html(make_result())
    header = html.split("</header>", 1)[0]
    assert "NO FINDINGS</span> nothing was evaluated" in header
    assert '<span class="badge badge-pass"' not in header


def test_severity_is_shown() -> None:
    html = render_html(make_result(make_finding(Status.FAIL, severity=Severity.CRITICAL)))
    (row,) = finding_rows(html, "fail")
    assert '<td class="sev-critical">critical</td>' in row


def test_every_finding_row_shows_its_own_status_badge() -> None:
    html = render_html(mixed_result())
    for status in Status:
        rows = finding_rows(html, status.value)
        assert rows, status
        for row in rows:
            status_cell = row.split("</tr>", 1)[0]
            assert re.findall(r'class="badge badge-(\w+)"', status_cell) == [status.value]


def test_a_large_run_lists_every_problem_but_only_counts_the_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.report import html_report

    monkeypatch.setattr(html_report, "LIST_PASSES_UP_TO", 1)
    result = make_result(make_finding(Status.PASS, check_id="passing_check"),
                         make_finding(Status.FAIL, check_id="failing_check"))
    html = render_html(result)
    assert "failing_check" in html
    assert "passing_check" not in html
    assert "passing findings are counted above, not listed" in html
