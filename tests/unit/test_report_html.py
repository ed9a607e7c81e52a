"""The HTML report: escaped, self-contained, ordered worst first, errors never green."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date
from html.parser import HTMLParser

import pytest
from report_factory import make_finding, make_result, mixed_result

from checks.model import Severity, Status
from stockade.engine.attestations import Attestation, attestation_findings
from stockade.engine.model import Finding, RunResult, Verdict
from stockade.engine.verdicts import CLAUSE_RULES, CONTROL_RULES, clause_results
from stockade.engine.waivers import Waiver, apply_waivers
from stockade.report.html_report import pretty_json, render_html

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
    return [row for row in rows if row.startswith(f'<tr class="finding status-{status}" id="')]


def section(html: str, section_id: str) -> str:
    return html.split(f'<section id="{section_id}">', 1)[1].split("</section>", 1)[0]


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


@pytest.fixture
def fleet_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render the compact page of a large run (passes counted, not listed) from small results."""
    from stockade.report import html_report

    monkeypatch.setattr(html_report, "LIST_PASSES_UP_TO", 1)


@pytest.mark.parametrize("large", [False, True])
def test_page_is_self_contained(large: bool, request: pytest.FixtureRequest) -> None:
    if large:
        request.getfixturevalue("fleet_page")
    html = render_html(mixed_result())
    names = [tag for tag, _ in tags(html)]
    assert "script" not in names
    assert "link" not in names
    assert "img" not in names
    assert not re.search(r"\bsrc\s*=", html)
    hrefs = re.findall(r'\bhref\s*=\s*"([^"]*)"', html)
    assert hrefs, "the page links its sections together"
    assert all(re.fullmatch(r"#[a-z]+-?[0-9-]*", href) for href in hrefs), "only links within the page"
    assert len(hrefs) == html.count("href=")
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
    controls = re.findall(r'<tr class="finding status-\w+" id="[^"]+">\s*<td class="mono"><a [^>]+>([^<]+)<', section)
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
    assert '<p class="waiver-ref"><strong>Waiver</strong> <a class="mono" href="#waiver-1">' in row
    assert "ciso@example.org" in row
    assert "legacy client until Q3" in row
    assert 'id="waiver-1"' in section(html, "waivers")


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
    assert "passing findings are counted per host, not listed" in html


# --- A run as the audit builds it: waivers applied, attestations, clause verdicts -------------------------------

RUN_DAY = date(2025, 1, 31)


@dataclass(frozen=True)
class Clause:
    id: str
    section: str = "Access"
    text: str = "Only administrators log in, with keys."


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    clauses: tuple[str, ...]
    automation: str = "automated"
    severity: str = "high"


CONTROLS = (
    Control("SSH-01", "Root cannot log in over SSH", ("DH-4.2",)),
    Control("SSH-02", "Strong SSH ciphers only", ("DH-4.2", "DH-4.3")),
    Control("TLS-01", "TLS 1.2 or later", ("DH-4.3",)),
    Control("LOC-01", "Data stays in the EU", ("DH-7.1",), "manual"),
    Control("DPA-01", "Processors have a DPA", ("DH-7.1",), "manual"),
    Control("BKP-01", "Backups are encrypted", ("DH-9.9",), "planned"),
)
CLAUSES = (Clause("DH-4.2"), Clause("DH-4.3", text="Traffic is encrypted."), Clause("DH-7.1"), Clause("DH-9.9"))
WAIVERS = (
    Waiver("W-007", None, "tls_min_version", "db*", "legacy client <b>until</b> Q3", "ciso@example.org",
           date(2025, 2, 14)),
    Waiver("W-003", "SSH-02", None, "web01", "vendor appliance", "cto@example.org", date(2024, 12, 31)),
)
ATTESTATIONS = (
    Attestation("LOC-01", "dpo@example.org", date(2024, 6, 1), "DOC-42 <i>residency</i>", date(2025, 5, 31),
                "All storage is in eu-west-1."),
    Attestation("DPA-01", "legal@example.org", date(2023, 1, 1), "DOC-7", date(2024, 1, 1)),
)


def audited_run() -> RunResult:
    """Two hosts; one waiver active (TLS on db01), one expired (SSH-02 on web01); one attestation valid, one
    expired; a planned control; SSH-02 failing on web01 and passing on db01."""
    raw = [
        make_finding(Status.PASS, host="web01", control_id="SSH-01", check_id="ssh_root_login",
                     clause_ids=("DH-4.2",)),
        make_finding(Status.PASS, host="db01", control_id="SSH-01", check_id="ssh_root_login",
                     clause_ids=("DH-4.2",)),
        make_finding(Status.FAIL, host="web01", control_id="SSH-02", check_id="ssh_ciphers",
                     clause_ids=("DH-4.2", "DH-4.3"), observed={"ciphers": ["aes128-cbc"]}),
        make_finding(Status.PASS, host="web01", control_id="SSH-02", check_id="ssh_macs",
                     clause_ids=("DH-4.2", "DH-4.3")),
        make_finding(Status.PASS, host="db01", control_id="SSH-02", check_id="ssh_ciphers",
                     clause_ids=("DH-4.2", "DH-4.3")),
        make_finding(Status.FAIL, host="db01", control_id="TLS-01", check_id="tls_min_version",
                     clause_ids=("DH-4.3",), observed={"versions": ["TLSv1.0", "TLSv1.2"]}),
    ]
    findings = apply_waivers(raw, WAIVERS, RUN_DAY)
    findings += attestation_findings([c for c in CONTROLS if c.automation == "manual"], ATTESTATIONS, RUN_DAY)
    result = make_result(*findings, hosts=("web01", "db01"))
    clauses = clause_results(CLAUSES, CONTROLS, findings, None)
    metadata = replace(result.metadata, policy_id="DH-2025", catalogue_digest="ab" * 32,
                       waivers_file="waivers.yml", attestations_file="attestations.yml")
    return replace(result, metadata=metadata, clauses=clauses)


def ids_in(html: str) -> list[str]:
    return re.findall(r'\bid="([^"]+)"', html)


def test_every_link_in_the_page_leads_to_an_element_of_the_page() -> None:
    html = render_html(audited_run())
    ids = ids_in(html)
    assert len(ids) == len(set(ids)), "ids are unique"
    targets = re.findall(r'href="#([^"]+)"', html)
    assert len(targets) > 20
    assert sorted(set(targets) - set(ids)) == []


def test_formula_section_states_every_rule_in_order() -> None:
    html = render_html(audited_run())
    formula = section(html, "formula")
    for table_id, rules in (("control-rules", CONTROL_RULES), ("clause-rules", CLAUSE_RULES)):
        table = formula.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
        rows = re.findall(r"<tr><td class=\"count\">(\d+)</td><td>([^<]*)</td><td><span class=\"badge verdict "
                          r"verdict-(\w+)\">", table)
        assert rows == [(str(n), condition, verdict.value) for n, (condition, verdict) in enumerate(rules, 1)]


def test_executive_summary_counts_the_controls_holding_per_clause() -> None:
    html = render_html(audited_run())
    summary = section(html, "clauses")
    rows = re.findall(r'<tr class="clause verdict-(\w+)" id="clause-\d+">\s*<td class="mono">([^<]+)</td>'
                      r'.*?<td class="count holding">(\d+ / \d+)</td>', summary, re.DOTALL)
    # DH-4.2: SSH-01 satisfied, SSH-02 fails (expired waiver); DH-4.3: SSH-02 fails, TLS-01 waived;
    # DH-7.1: LOC-01 attested, DPA-01 expired; DH-9.9: its only control is planned.
    assert rows == [("partly", "DH-4.2", "1 / 2"), ("partly", "DH-4.3", "1 / 2"), ("partly", "DH-7.1", "1 / 2"),
                    ("not_assessed", "DH-9.9", "0 / 1")]
    assert '<span class="badge verdict verdict-partly">3 partly</span>' in summary
    assert '<span class="badge verdict verdict-not_assessed">1 not assessed</span>' in summary


def control_article(html: str, control_id: str) -> str:
    controls = section(html, "controls")
    (article,) = [a for a in controls.split("<article ")[1:] if f'<span class="mono">{control_id}</span>' in a]
    return article.split("</article>", 1)[0]


def test_control_drill_down_links_each_host_to_its_worst_finding_without_repeating_evidence() -> None:
    html = render_html(audited_run())
    article = control_article(html, "SSH-02")
    assert '<span class="badge verdict verdict-not_satisfied">not satisfied</span>' in article
    assert "1 failing finding(s) on 2 host(s)" in article
    clause_links = re.findall(r'<a href="#(clause-\d+)">([^<]+)</a>', article)
    assert [name for _, name in clause_links] == ["DH-4.2", "DH-4.3"]
    links = dict(re.findall(r'<span class="badge badge-(\w+)"[^>]*>\w+</span></td><td class="count">1</td>\s*'
                            r'<td><a href="#([^"]+)">', article))
    assert set(links) == {"fail", "pass"}
    (fail_row,) = [row for row in finding_rows(html, "fail") if "ssh_ciphers" in row]
    assert fail_row.startswith(f'<tr class="finding status-fail" id="{links["fail"]}">')  # web01's worst, not its pass
    assert "<caption>Observed</caption>" not in section(html, "controls")
    listed = sum(len(finding_rows(html, status.value)) for status in Status)
    assert html.count("<caption>Observed</caption>") == listed  # one evidence block per finding, none repeated


def test_a_large_run_counts_the_passing_hosts_of_a_control(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.report import html_report

    monkeypatch.setattr(html_report, "LIST_PASSES_UP_TO", 1)
    html = render_html(audited_run())
    article = control_article(html, "SSH-01")
    assert '<td class="count">2</td>' in article and "not listed" in article
    assert "web01</a>" not in article
    assert sorted(set(re.findall(r'href="#([^"]+)"', html)) - set(ids_in(html))) == []


def test_waivers_section_lists_each_waiver_with_scope_justification_approver_expiry_and_state() -> None:
    waivers = section(render_html(audited_run()), "waivers")
    rows = re.findall(r'<tr class="waiver waiver-(\w+)" id="waiver-\d+">(.*?)</tr>', waivers, re.DOTALL)
    assert [state for state, _ in rows] == ["expired", "active"]  # in the order the findings name them
    expired, active = (row for _, row in rows)
    assert "W-003" in expired and "control <span class=\"mono\">SSH-02</span>" in expired
    assert "vendor appliance" in expired and "cto@example.org" in expired and "2024-12-31" in expired
    assert "in " not in expired.split("2024-12-31", 1)[1].split("</td>", 1)[0]  # past expiry: not "soon"
    assert "W-007" in active and "check <span class=\"mono\">tls_min_version</span>" in active
    assert "on hosts <span class=\"mono\">db*</span>" in active
    assert "legacy client &lt;b&gt;until&lt;/b&gt; Q3" in active and "<b>" not in active
    assert '2025-02-14 <span class="soon">in 14 days</span>' in active
    assert "1 finding on 1 host" in active
    assert "waivers.yml" in waivers and "attestations.yml" in waivers


def test_attestations_section_shows_who_when_evidence_expiry_and_state() -> None:
    waivers = section(render_html(audited_run()), "waivers")
    rows = dict(re.findall(r'<tr class="attestation attestation-(\w+)">(.*?)</tr>', waivers, re.DOTALL))
    assert set(rows) == {"attested", "expired"}
    assert all(text in rows["attested"] for text in (
        "LOC-01", "Data stays in the EU", "dpo@example.org", "2024-06-01", "DOC-42 &lt;i&gt;residency&lt;/i&gt;",
        "2025-05-31", "All storage is in eu-west-1."))
    assert all(text in rows["expired"] for text in ("DPA-01", "legal@example.org", "2024-01-01", "DOC-7"))


def test_missing_attestation_says_so() -> None:
    findings = attestation_findings([CONTROLS[3]], (), RUN_DAY)
    waivers = section(render_html(make_result(*findings)), "waivers")
    assert '<tr class="attestation attestation-missing">' in waivers
    assert "no attestation on record" in waivers
    assert "No waiver applied to any finding of this run." in waivers


def test_print_styles_open_details_and_break_before_big_sections() -> None:
    html = render_html(audited_run())
    screen_css, print_css = html.split("@media print {", 1)
    print_css = print_css.split("\n  }\n", 1)[0]
    assert "details::details-content { content-visibility: visible; height: auto; display: block; }" in print_css
    # On screen only the hosts and controls near the viewport are rendered; printed, all of them are.
    assert "section.host, article.control { content-visibility: auto; contain-intrinsic-size: auto 40rem; }" \
        in screen_css
    assert "section.host, article.control { content-visibility: visible; }" in print_css
    assert "#formula, #changes, #waivers, #controls, #hosts { break-before: page; }" in print_css
    assert "tr, pre, dl.meta { break-inside: avoid; }" in print_css
    for section_id in ("formula", "changes", "waivers", "controls", "hosts"):
        assert f'id="{section_id}"' in html


@pytest.mark.parametrize("value", [
    1, -0.0, 1e300, "é<\"", None, True, [], {}, [1, [2, []], {}], {"a": [1, {"b": None}], "c": {}},
    (1, 2), {"t": {1: "int key", "s": [None]}},
])
def test_pretty_json_is_exactly_json_dumps_indented(value: object) -> None:
    assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)


def test_pretty_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        pretty_json({"a": [float("nan")]})


def test_verdicts_in_the_drill_down_match_the_clause_table() -> None:
    result = audited_run()
    html = render_html(result)
    for clause in result.clauses:
        for control in clause.controls:
            article = control_article(html, control.control_id)
            assert f'verdict-{control.verdict.value}">' in article.split("</h3>", 1)[0]
            assert control.reason in article
    assert Verdict.PARTLY in {clause.verdict for clause in result.clauses}


def test_a_run_without_clause_verdicts_still_drills_down_per_control() -> None:
    html = render_html(mixed_result())
    article = control_article(html, "SSH-01")
    assert '<span class="badge badge-none">NO VERDICT</span>' in article
    assert "not in the policy catalogue of this run" in article
    assert re.findall(r'<a href="#(f\d+-\d+)">(web01|db01)</a>', article) != []
    assert sorted(set(re.findall(r'href="#([^"]+)"', html)) - set(ids_in(html))) == []


# --- A large run: the compact page (every non-pass finding with its evidence, in fewer elements) ----------------

def detail_of(row: str) -> str:
    """The evidence row that follows a finding's row."""
    return row.split("</tr>", 1)[1].split("</tr>", 1)[0].lstrip()


@pytest.mark.usefixtures("fleet_page")
def test_a_large_run_lists_each_problem_with_its_evidence_as_one_block_of_json() -> None:
    result = mixed_result()
    html = render_html(result)
    assert finding_rows(html, "pass") == []
    for finding in result.findings:
        if finding.status is Status.PASS:
            continue
        (row,) = [row for row in finding_rows(html, finding.status.value) if finding.check_id in row]
        detail = detail_of(row)
        assert detail.startswith(f'<tr class="detail status-{finding.status.value}"><td colspan="5"><details')
        assert ("<details open>" in detail) == (finding.status in (Status.ERROR, Status.FAIL, Status.WAIVED))
        clauses = ", ".join(finding.clause_ids)
        if finding.evidence is None:
            assert f"<summary>Evidence; policy clauses {clauses}</summary>" in detail
            assert "No evidence was recorded for this finding." in detail and "<pre>" not in detail
        else:
            evidence = finding.evidence
            assert f" from {evidence.source} at {evidence.collected_at}; policy clauses {clauses}</summary>" in detail
            expected = json.dumps(evidence.observed, indent=2, ensure_ascii=False).replace('"', "&#34;")
            assert detail.count("<pre>") == 1 and f"<pre>{expected}</pre>" in detail
        # The status in each row, without repeating its meaning (the summary states it once).
        assert re.findall(r'<span class="badge badge-(\w+)">', row.split("</tr>", 1)[0]) == [finding.status.value]
    assert 'class="kv"' not in html and "<caption>Observed</caption>" not in html
    (waived,) = finding_rows(html, "waived")
    assert "<summary>Evidence and waiver from " in waived
    assert '<p class="waiver-ref"><strong>Waiver</strong> <a class="mono" href="#waiver-1">' in waived
    assert "legacy client until Q3" in waived and "ciso@example.org" in waived


@pytest.mark.usefixtures("fleet_page")
def test_a_large_run_escapes_evidence_source_and_messages() -> None:
    attack = '"><img src=x onerror=alert(1)>'
    finding = make_finding(Status.FAIL, message=f"bad {XSS}", observed={f"key{XSS}": [attack], "v": XSS},
                           clause_ids=(f"DH{attack}",))
    assert finding.evidence is not None
    finding = replace(finding, evidence=replace(finding.evidence, source=f"probe{XSS}"))
    html = render_html(make_result(finding, make_finding(Status.PASS, check_id="other")))
    assert XSS not in html and attack not in html
    assert {"script", "img"}.isdisjoint(tag for tag, _ in tags(html))
    assert all(not name.startswith("on") for _, attrs in tags(html) for name in attrs)
    (row,) = finding_rows(html, "fail")
    assert f"probe{XSS_ESCAPED} at" in row and f"bad {XSS_ESCAPED}" in row and f"key{XSS_ESCAPED}" in row


def test_only_a_large_page_gives_its_sections_an_estimated_height(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.report import html_report

    def host(name: str, failing: int, lines: int) -> list[Finding]:
        return [make_finding(Status.FAIL, host=name, check_id=f"check_{n}",
                             observed={"seen": [f"line {i}" for i in range(lines)]}) for n in range(failing)]

    result = make_result(*host("small", 1, 1), *host("long", 1, 40), *host("many", 5, 1))
    assert "style=" not in render_html(result)  # a small page: the stylesheet's estimate for all
    monkeypatch.setattr(html_report, "LIST_PASSES_UP_TO", 1)
    html = render_html(result)
    sections = re.findall(r'<section class="host" id="host-\d+" style="contain-intrinsic-size: auto (\d+)px">'
                          r'\s*<h2><span class="mono">([^<]+)<', html)
    heights = {name: int(px) for px, name in sections}
    assert set(heights) == {"small", "long", "many"}
    assert heights["small"] < heights["long"] and heights["small"] < heights["many"]
    controls = re.findall(r'<article class="control" id="control-\d+" style="contain-intrinsic-size: auto (\d+)px">',
                          html)
    assert len(controls) == 1 and int(controls[0]) > 0
