"""The JUnit XML report, for CI systems: one testsuite per host, one testcase per finding."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # builds and serialises XML only; never parses input
from collections import Counter
from dataclasses import asdict
from typing import Any

from stockade.engine.model import Finding, RunMetadata, RunResult, Status
from stockade.report.ordering import HostGroup, group_by_host

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# Characters XML 1.0 cannot carry, even escaped (C0 controls other than tab/newline/CR, surrogates,
# U+FFFE/U+FFFF). Command output in evidence can hold them; they are shown as \\xNN instead.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_SKIPPED_STATUSES = (Status.SKIPPED, Status.WAIVED, Status.MANUAL)


def _xml_text(text: str) -> str:
    return _NOT_XML_CHAR.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _body(finding: Finding) -> str:
    """The message, then the evidence (and any waiver) as compact JSON, one per line."""
    evidence = None if finding.evidence is None else asdict(finding.evidence)
    lines = [finding.message, f"evidence: {_compact_json(evidence)}"]
    if finding.waiver is not None:
        lines.append(f"waiver: {_compact_json(finding.waiver)}")
    return _xml_text("\n".join(lines))


def _testcase(parent: ET.Element, finding: Finding) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        {"classname": _xml_text(finding.host), "name": _xml_text(f"{finding.control_id} {finding.check_id}")},
    )
    message = _xml_text(finding.message)
    if finding.status is Status.FAIL:
        child = ET.SubElement(case, "failure", {"message": message, "type": finding.severity.value})
    elif finding.status is Status.ERROR:
        child = ET.SubElement(case, "error", {"message": message, "type": "could-not-evaluate"})
    elif finding.status in _SKIPPED_STATUSES:
        skipped_message = _xml_text(f"{finding.status.value}: {finding.message}")
        child = ET.SubElement(case, "skipped", {"message": skipped_message})
    else:
        child = ET.SubElement(case, "system-out")
    child.text = _body(finding)


def _set_counts(element: ET.Element, statuses: Counter[Status], total: int) -> None:
    element.set("tests", str(total))
    element.set("failures", str(statuses[Status.FAIL]))
    element.set("errors", str(statuses[Status.ERROR]))
    element.set("skipped", str(sum(statuses[status] for status in _SKIPPED_STATUSES)))


def _properties(parent: ET.Element, meta: RunMetadata) -> None:
    properties = ET.SubElement(parent, "properties")
    for name in ("run_id", "started_at", "finished_at", "tool_version", "inventory"):
        ET.SubElement(properties, "property", {"name": name, "value": _xml_text(getattr(meta, name))})


def _testsuite(parent: ET.Element, group: HostGroup, meta: RunMetadata) -> None:
    suite = ET.SubElement(parent, "testsuite", {"name": _xml_text(group.host)})
    _set_counts(suite, Counter(finding.status for finding in group.findings), len(group.findings))
    _properties(suite, meta)
    for finding in group.findings:
        _testcase(suite, finding)


def render_junit(result: RunResult) -> str:
    """Render ``result`` as a JUnit XML document (UTF-8 text with an XML declaration).

    fail is a <failure>, error an <error>, skipped/waived/manual a <skipped>; a pass carries its
    evidence in <system-out>. Hosts without findings appear as empty testsuites.
    """
    meta = result.metadata
    root = ET.Element("testsuites", {"name": _xml_text(f"stockade {meta.run_id}")})
    _set_counts(root, Counter(finding.status for finding in result.findings), len(result.findings))
    for group in group_by_host(result):
        _testsuite(root, group, meta)
    ET.indent(root)
    return XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"
