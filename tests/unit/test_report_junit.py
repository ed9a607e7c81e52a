"""The JUnit XML report, read back with ElementTree."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from report_factory import make_finding, make_result, mixed_result

from checks.model import Status
from stockade.report.junit import render_junit


def parse(result_xml: str) -> ET.Element:
    assert result_xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(result_xml.encode("utf-8"))


def counts(element: ET.Element) -> dict[str, str | None]:
    return {name: element.get(name) for name in ("tests", "failures", "errors", "skipped")}


def test_counts_of_failures_errors_and_skipped() -> None:
    root = parse(render_junit(mixed_result()))
    assert root.tag == "testsuites"
    assert counts(root) == {"tests": "7", "failures": "1", "errors": "1", "skipped": "3"}
    assert len(root.findall("./testsuite/testcase")) == 7
    assert len(root.findall("./testsuite/testcase/failure")) == 1
    assert len(root.findall("./testsuite/testcase/error")) == 1
    assert len(root.findall("./testsuite/testcase/skipped")) == 3


def test_one_testsuite_per_host_with_its_own_counts() -> None:
    root = parse(render_junit(mixed_result()))
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == ["web01", "db01"]  # worst host first
    assert counts(suites["web01"]) == {"tests": "3", "failures": "1", "errors": "1", "skipped": "0"}
    assert counts(suites["db01"]) == {"tests": "4", "failures": "0", "errors": "0", "skipped": "3"}
    for host, suite in suites.items():
        assert {case.get("classname") for case in suite.findall("testcase")} == {host}
        properties = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
        assert properties["run_id"] == "run-20250131-120000"


def test_testcase_names_and_order() -> None:
    root = parse(render_junit(mixed_result()))
    names = [case.get("name") for case in root.iter("testcase")]
    assert names == [
        "FW-01 nft_default_drop",
        "SSH-02 ssh_ciphers",
        "SSH-01 ssh_root_login_disabled",
        "TLS-01 tls_min_version",
        "GDPR-01 data_residency",
        "WEB-01 nginx_tls",
        "SSH-01 ssh_root_login_disabled",
    ]


def test_failure_carries_message_and_compact_evidence_json() -> None:
    root = parse(render_junit(mixed_result()))
    (failure,) = root.iter("failure")
    assert failure.get("message") == "ssh_ciphers is fail"
    assert failure.get("type") == "critical"
    assert failure.text is not None
    message, evidence_line = failure.text.split("\n")
    assert message == "ssh_ciphers is fail"
    assert evidence_line.startswith('evidence: {"source":"sshd -T",')
    evidence = json.loads(evidence_line.removeprefix("evidence: "))
    assert evidence["observed"]["nested"] == {"a": [1, 2]}
    assert evidence["collected_at"] == "2025-01-31T12:00:05Z"


def test_error_is_an_error_element_not_a_pass() -> None:
    root = parse(render_junit(mixed_result()))
    (case,) = [c for c in root.iter("testcase") if c.get("name") == "FW-01 nft_default_drop"]
    children = [child.tag for child in case]
    assert children == ["error"]
    error = case[0]
    assert error.get("message") == "could not run nft: permission denied"
    assert error.text == "could not run nft: permission denied\nevidence: null"


def test_skipped_waived_and_manual_are_skipped_with_status_in_message() -> None:
    root = parse(render_junit(mixed_result()))
    messages = sorted(skipped.get("message") or "" for skipped in root.iter("skipped"))
    assert messages == [
        "manual: data_residency is manual",
        "skipped: nginx_tls is skipped",
        "waived: tls_min_version is waived",
    ]
    (waived,) = [s for s in root.iter("skipped") if (s.get("message") or "").startswith("waived")]
    assert waived.text is not None
    assert '"approver":"ciso@example.org"' in waived.text


def test_pass_has_no_failure_error_or_skipped_child() -> None:
    root = parse(render_junit(make_result(make_finding(Status.PASS))))
    (case,) = root.iter("testcase")
    assert [child.tag for child in case] == ["system-out"]
    assert counts(root) == {"tests": "1", "failures": "0", "errors": "0", "skipped": "0"}


def test_markup_and_control_characters_survive_as_parseable_xml() -> None:
    nasty = 'bad <tag attr="x"> & \x1b[31mred\x00 ]]>'
    result = make_result(make_finding(Status.FAIL, message=nasty, observed={"out": nasty}))
    root = parse(render_junit(result))
    (failure,) = root.iter("failure")
    assert failure.get("message") == 'bad <tag attr="x"> & \\x1b[31mred\\x00 ]]>'
    assert failure.text is not None
    assert "\\u001b[31mred\\u0000" in failure.text  # JSON escapes control characters itself


def test_host_without_findings_is_an_empty_testsuite() -> None:
    root = parse(render_junit(make_result(make_finding(Status.PASS), hosts=("web01", "db01"))))
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert counts(suites["db01"]) == {"tests": "0", "failures": "0", "errors": "0", "skipped": "0"}
    assert suites["db01"].findall("testcase") == []
