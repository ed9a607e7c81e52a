"""The JUnit XML report, for CI systems: one testsuite per host, one testcase per finding.

Written as text, as ``xml.etree.ElementTree`` would serialise it after ``ET.indent`` (the unit tests hold
ElementTree to it): building 150,000 elements to print them costs seconds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from checks.model import Status
from stockade.engine.model import Finding, RunMetadata, RunResult, evidence_dict
from stockade.report.json_report import check_strict_json, encode_json, free_form_parts
from stockade.report.ordering import HostGroup, group_by_host

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# Characters XML 1.0 cannot carry, even escaped (C0 controls other than tab/newline/CR, surrogates,
# U+FFFE/U+FFFF). Command output in evidence can hold them; they are shown as \\xNN instead.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_SKIPPED_STATUSES = (Status.SKIPPED, Status.WAIVED, Status.MANUAL)
_INDENT = "  "


def _xml_text(text: str) -> str:
    return _NOT_XML_CHAR.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


# ElementTree's escapes: character data, and attribute values (where line breaks and tabs become references).
_TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_ATTR_ESCAPES = (*_TEXT_ESCAPES, ('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;"))


def _escape(text: str, escapes: tuple[tuple[str, str], ...]) -> str:
    text = _xml_text(text)
    for char, reference in escapes:
        if char in text:  # most values hold none: a scan is cheaper than a replace
            text = text.replace(char, reference)
    return text


def _text(text: str) -> str:
    """Character data, escaped as ElementTree does."""
    return _escape(text, _TEXT_ESCAPES)


def _attr(text: str) -> str:
    """An attribute value, escaped as ElementTree does."""
    return _escape(text, _ATTR_ESCAPES)


def _attributes(pairs: Iterable[tuple[str, Any]]) -> str:
    return "".join(f' {name}="{_attr(str(value))}"' for name, value in pairs)


def _counts(statuses: Counter[Status], total: int) -> list[tuple[str, int]]:
    return [("tests", total), ("failures", statuses[Status.FAIL]), ("errors", statuses[Status.ERROR]),
            ("skipped", sum(statuses[status] for status in _SKIPPED_STATUSES))]


def _body(finding: Finding) -> str:
    """The message, then the evidence (and any waiver) as compact JSON, one per line."""
    lines = [finding.message, f"evidence: {encode_json(evidence_dict(finding.evidence))}"]
    if finding.waiver is not None:
        lines.append(f"waiver: {encode_json(finding.waiver)}")
    return _text("\n".join(lines))


def _testcase(finding: Finding, classname: str, out: list[str]) -> None:
    indent = _INDENT * 2
    name = _attr(f"{finding.control_id} {finding.check_id}")
    out.append(f'{indent}<testcase classname="{classname}" name="{name}">\n{indent}{_INDENT}')
    status = finding.status
    if status is Status.FAIL:
        out.append(f'<failure message="{_attr(finding.message)}" type="{_attr(finding.severity.value)}">'
                   f"{_body(finding)}</failure>")
    elif status is Status.ERROR:
        out.append(f'<error message="{_attr(finding.message)}" type="could-not-evaluate">{_body(finding)}</error>')
    elif status in _SKIPPED_STATUSES:
        out.append(f'<skipped message="{_attr(f"{status.value}: {finding.message}")}">{_body(finding)}</skipped>')
    else:
        out.append(f"<system-out>{_body(finding)}</system-out>")
    out.append(f"\n{indent}</testcase>\n")


def _properties(meta: RunMetadata) -> str:
    indent = _INDENT * 2
    rows = "".join(f"{indent}{_INDENT}<property{_attributes([('name', name), ('value', getattr(meta, name))])} />\n"
                   for name in ("run_id", "started_at", "finished_at", "tool_version", "inventory"))
    return f"{indent}<properties>\n{rows}{indent}</properties>\n"


def _testsuite(group: HostGroup, properties: str, out: list[str]) -> None:
    counts = _counts(Counter(finding.status for finding in group.findings), len(group.findings))
    out.append(f"{_INDENT}<testsuite{_attributes([('name', group.host), *counts])}>\n{properties}")
    classname = _attr(group.host)
    for finding in group.findings:
        _testcase(finding, classname, out)
    out.append(f"{_INDENT}</testsuite>\n")


def render_junit(result: RunResult) -> str:
    """Render ``result`` as a JUnit XML document (UTF-8 text with an XML declaration).

    fail is a <failure>, error an <error>, skipped/waived/manual a <skipped>; a pass carries its
    evidence in <system-out>. Hosts without findings appear as empty testsuites. Evidence is strict
    JSON, as in the results document: ``TypeError``/``ValueError`` for a value JSON cannot represent.
    """
    check_strict_json(free_form_parts(result.findings))
    meta = result.metadata
    root = _attributes([("name", f"stockade {meta.run_id}"),
                        *_counts(Counter(finding.status for finding in result.findings), len(result.findings))])
    groups = group_by_host(result)
    if not groups:
        return f"{XML_DECLARATION}<testsuites{root} />\n"
    out = [f"{XML_DECLARATION}<testsuites{root}>\n"]
    properties = _properties(meta)
    for group in groups:
        _testsuite(group, properties, out)
    out.append("</testsuites>\n")
    return "".join(out)
