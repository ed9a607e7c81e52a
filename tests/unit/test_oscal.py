"""OSCAL assessment-results: findings and observations with evidence, waivers as approved deviations.

The structure is checked here, and compliance-trestle loads the document: trestle 5.2.0 pins
paramiko==5.0.0 and jinja2==3.1.6 exactly, so scripts/setup.sh installs it in .venv-trestle, not in the
project's own environment (STOCKADE_TRESTLE_PYTHON names another interpreter).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from report_factory import WAIVER, make_finding, make_result, mixed_result

from checks.model import Status
from stockade.report.oscal import assessment_results, render_oscal

REPO = Path(__file__).resolve().parents[2]

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[45][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def result_body(document: dict[str, Any]) -> dict[str, Any]:
    (body,) = document["assessment-results"]["results"]
    return dict(body)


def test_every_finding_has_an_observation_with_evidence_and_a_finding() -> None:
    body = result_body(assessment_results(mixed_result()))
    assert len(body["observations"]) == len(body["findings"]) == 7
    observations = {o["uuid"]: o for o in body["observations"]}
    for finding in body["findings"]:
        (related,) = finding["related-observations"]
        observation = observations[related["observation-uuid"]]
        assert observation["relevant-evidence"][0]["description"]
    states = {f["props"][0]["value"]: f["target"]["status"]["state"] for f in body["findings"]}
    assert states == {"pass": "satisfied", "fail": "not-satisfied", "error": "not-satisfied",
                      "skipped": "satisfied", "waived": "not-satisfied", "manual": "not-satisfied"}
    hosts = {item["props"][0]["value"] for item in body["local-definitions"]["inventory-items"]}
    assert hosts == {"web01", "db01"}


def test_ssh_evidence_is_in_the_observation() -> None:
    result = make_result(make_finding(Status.FAIL, observed={"permitrootlogin": "yes"}))
    (observation,) = result_body(assessment_results(result))["observations"]
    assert '"permitrootlogin": "yes"' in observation["relevant-evidence"][0]["description"]
    assert observation["methods"] == ["TEST"]


def test_waiver_is_an_approved_deviation_related_to_its_finding() -> None:
    waived = make_finding(Status.WAIVED, waiver={**WAIVER, "id": "W-001", "state": "active"})
    body = result_body(assessment_results(make_result(waived)))
    (risk,) = body["risks"]
    assert risk["status"] == "deviation-approved"
    assert risk["description"] == "legacy client until Q3"
    assert risk["deadline"].startswith("2025-09-30T")
    (finding,) = body["findings"]
    assert finding["related-risks"] == [{"risk-uuid": risk["uuid"]}]


def test_uuids_are_valid_unique_and_stable() -> None:
    text = render_oscal(mixed_result())
    assert text == render_oscal(mixed_result())
    uuids = re.findall(r'"uuid": "([^"]+)"', text)
    assert uuids and all(UUID.match(u) for u in uuids)
    assert len(uuids) == len(set(uuids))


def test_compliance_trestle_loads_it(tmp_path: Path) -> None:
    path = tmp_path / "assessment-results.json"
    waived = make_finding(Status.WAIVED, host="db01", waiver={**WAIVER, "id": "W-001", "state": "active"})
    path.write_text(render_oscal(make_result(*mixed_result().findings, waived)))
    program = ("import sys, pathlib\nfrom trestle.oscal.assessment_results import AssessmentResults\n"
               "ar = AssessmentResults.oscal_read(pathlib.Path(sys.argv[1]))\n"
               "r = ar.results[0]\nprint(len(r.findings), len(r.observations), len(r.risks))\n")
    # scripts/setup.sh installs trestle in a venv of its own (its pins collide with Stockade's).
    interpreter = Path(os.environ.get("STOCKADE_TRESTLE_PYTHON", REPO / ".venv-trestle" / "bin" / "python"))
    assert interpreter.exists(), f"{interpreter}: compliance-trestle's venv is missing; run scripts/setup.sh"
    proc = subprocess.run([str(interpreter), "-c", program, str(path)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["8", "8", "2"]  # mixed_result has a waiver too
    json.loads(path.read_text())
