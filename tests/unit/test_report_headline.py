"""The headline states what holds and what does not: never the worst status ("MANUAL") of a run that holds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from report_factory import make_finding, make_result

from checks.model import Status
from stockade.engine.model import Evidence, Finding, RunResult
from stockade.engine.verdicts import clause_results
from stockade.report.headline import headline
from stockade.report.html_report import render_html


@dataclass(frozen=True)
class Clause:
    id: str
    section: str = "s"
    text: str = "clause text"


@dataclass(frozen=True)
class Control:
    id: str
    automation: str
    clauses: tuple[str, ...]
    title: str = "a control"


CLAUSES = (Clause("SYS-ACCESS"), Clause("APP-2FA"))
CONTROLS = (Control("SSH-01", "automated", ("SYS-ACCESS",)), Control("MFA-01", "automated", ("SYS-ACCESS", "APP-2FA")),
            Control("APP-03", "manual", ("APP-2FA",)))


def manual(state: str) -> Finding:
    finding = make_finding(Status.MANUAL, control_id="APP-03", check_id="APP-03", clause_ids=("APP-2FA",))
    return dataclasses.replace(finding, evidence=Evidence("attestations", {"attestation_state": state}, "now"))


def result(*findings: Finding, controls: tuple[Control, ...] = CONTROLS) -> RunResult:
    base = make_result(*findings)
    return dataclasses.replace(base, clauses=clause_results(CLAUSES, controls, base.findings, None))


def passing(control: str, host: str = "web01", status: Status = Status.PASS) -> Finding:
    return make_finding(status, control_id=control, check_id=control.lower(), host=host)


def test_all_automated_pass_and_manual_attested_holds_never_manual() -> None:
    run = result(passing("SSH-01"), passing("MFA-01"), passing("SSH-01", "db01"), manual("attested"))
    line = headline(run)
    assert line.state == "holds" and line.title == "HOLDS"
    assert "automated controls: 2 of 2 hold on 2 host(s) (3 pass)" in line.statements
    assert "manual controls: 1 of 1 attested" in line.statements
    assert "clauses: 2 of 2 hold" in line.statements
    header = render_html(run).split("<header>", 1)[1].split("</header>", 1)[0]
    assert '<span class="badge badge-holds">HOLDS</span>' in header
    assert "MANUAL" not in header.upper().replace("MANUAL CONTROLS", "")


def test_a_missing_attestation_is_named_and_the_run_holds_only_where_assessed() -> None:
    line = headline(result(passing("SSH-01"), passing("MFA-01"), manual("missing")))
    assert line.state == "holds-where-assessed" and line.title == "HOLDS WHERE ASSESSED"
    assert "manual controls: 0 of 1 attested, no attestation for APP-03" in line.statements
    assert "clauses: 1 of 2 hold" in line.statements


def test_a_failure_does_not_hold_and_names_control_and_hosts() -> None:
    line = headline(result(passing("SSH-01"), passing("MFA-01", status=Status.FAIL), manual("attested")))
    assert line.state == "does-not-hold"
    assert line.statements[0] == "1 finding failed on 1 of 1 host(s): MFA-01"  # the manual finding is no host
    assert "automated controls: 1 of 2 hold on 1 host(s) (1 pass)" in line.statements


def test_an_expired_attestation_does_not_hold() -> None:
    line = headline(result(passing("SSH-01"), passing("MFA-01"), manual("expired")))
    assert line.state == "does-not-hold"
    assert "manual controls: 0 of 1 attested, attestation expired for APP-03" in line.statements


def test_an_error_is_not_proven_never_a_pass() -> None:
    line = headline(result(passing("SSH-01"), passing("MFA-01", status=Status.ERROR), manual("attested")))
    assert line.state == "not-proven" and line.title == "NOT PROVEN"
    assert "1 finding could not be evaluated (not a pass): MFA-01" in line.statements
    assert "automated controls: 1 of 2 hold on 1 host(s) (1 pass)" in line.statements
    assert not any(s.startswith("not assessed:") for s in line.statements)  # the error says it already


def test_a_control_no_host_applies_to_is_named_as_not_assessed() -> None:
    line = headline(result(passing("SSH-01"), passing("MFA-01", status=Status.SKIPPED), manual("attested")))
    assert line.state == "holds-where-assessed"
    assert "not assessed: MFA-01 (not applicable to any host)" in line.statements


def test_no_findings() -> None:
    line = headline(make_result())
    assert line.state == "no-findings" and line.text() == "NO FINDINGS: nothing was evaluated in this run"
