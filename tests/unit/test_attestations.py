"""Attestations: strict loading, and one MANUAL finding per manual control saying attested / expired / missing."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from checks.model import Severity, Status
from stockade.engine.attestations import (
    Attestation,
    AttestationError,
    ManualControl,
    attestation_findings,
    load_attestations,
)
from stockade.engine.model import Evidence, Finding
from stockade.errors import UsageError

TODAY = date(2026, 11, 29)

VALID = """\
attestations:
  - control: GDPR-01
    attested_by: dpo@example.org
    date: 2026-05-01
    evidence: https://docs.example.org/dpa/2026
    expires: 2027-04-30
    statement: All personal data is stored in the EU.
  - control: GDPR-02
    attested_by: "  ciso@example.org "
    date: "2025-01-15"
    evidence: DOC-1234
    expires: 2026-01-14
"""

ENTRY = {
    "control": "GDPR-01",
    "attested_by": "dpo@example.org",
    "date": "2026-05-01",
    "evidence": "DOC-1",
    "expires": "2027-04-30",
}


@dataclass(frozen=True)
class Control:
    """Stands in for the catalogue's Control."""

    id: str
    title: str
    severity: str
    clauses: tuple[str, ...]


RESIDENCY = Control("GDPR-01", "Personal data stays in the EU", "high", ("DH-2.1", "DH-2.3"))
PROCESSORS = Control("GDPR-02", "Processors are bound by a DPA", "medium", ("DH-3.4",))


def write(tmp_path: Path, text: str, name: str = "attestations.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def entry_yaml(**changes: object) -> str:
    """One-attestation file from ENTRY; a value of None removes the key."""
    fields = {**ENTRY, **changes}
    lines = ["attestations:"]
    prefix = "  - "
    for key, value in fields.items():
        if value is None:
            continue
        lines.append(f"{prefix}{key}: {value}")
        prefix = "    "
    return "\n".join(lines) + "\n"


def load_error(path: Path, known_controls: set[str] | None = None) -> str:
    with pytest.raises(AttestationError) as info:
        load_attestations(path, known_controls)
    return str(info.value)


def attestation(**changes: object) -> Attestation:
    fields: dict[str, object] = {
        "control_id": "GDPR-01",
        "attested_by": "dpo@example.org",
        "attested_on": date(2026, 5, 1),
        "evidence": "https://docs.example.org/dpa/2026",
        "expires": date(2027, 4, 30),
        "statement": None,
    }
    fields.update(changes)
    return Attestation(**fields)  # type: ignore[arg-type]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1
    return findings[0]


# --- loading -----------------------------------------------------------------------------------------------------


def test_load_valid_file(tmp_path: Path) -> None:
    assert load_attestations(write(tmp_path, VALID)) == (
        Attestation("GDPR-01", "dpo@example.org", date(2026, 5, 1), "https://docs.example.org/dpa/2026",
                    date(2027, 4, 30), "All personal data is stored in the EU."),
        Attestation("GDPR-02", "ciso@example.org", date(2025, 1, 15), "DOC-1234", date(2026, 1, 14), None),
    )


def test_known_manual_controls_are_accepted(tmp_path: Path) -> None:
    assert len(load_attestations(write(tmp_path, VALID), known_controls={"GDPR-01", "GDPR-02"})) == 2


def test_empty_list_means_no_attestations(tmp_path: Path) -> None:
    assert load_attestations(write(tmp_path, "attestations: []\n")) == ()


def test_same_day_attestation_and_expiry_is_allowed(tmp_path: Path) -> None:
    [result] = load_attestations(write(tmp_path, entry_yaml(expires="2026-05-01")))
    assert result.expires == result.attested_on == date(2026, 5, 1)


def test_attestation_error_is_a_usage_error() -> None:
    assert issubclass(AttestationError, UsageError)
    assert AttestationError("x").exit_code == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(entry_yaml(date="2026-02-30"),
                     "attestations.yml: attestations[0].date: '2026-02-30' is not a date (YYYY-MM-DD)",
                     id="bad-date"),
        pytest.param(entry_yaml(expires="'31/12/2027'"),
                     "attestations[0].expires: '31/12/2027' is not a date (YYYY-MM-DD)", id="bad-expires"),
        pytest.param(entry_yaml(expires="2026-04-30"),
                     "attestations[0].expires: 2026-04-30 is before the date 2026-05-01", id="expires-before-date"),
        pytest.param(entry_yaml(attested_by=None), "attestations[0].attested_by: required key is missing",
                     id="missing-attested-by"),
        pytest.param(entry_yaml(control=None), "attestations[0].control: required key is missing",
                     id="missing-control"),
        pytest.param(entry_yaml(date=None), "attestations[0].date: required key is missing", id="missing-date"),
        pytest.param(entry_yaml(evidence=None), "attestations[0].evidence: required key is missing",
                     id="missing-evidence"),
        pytest.param(entry_yaml(expires=None), "attestations[0].expires: required key is missing",
                     id="missing-expires"),
        pytest.param(entry_yaml(evidence="''"), "attestations[0].evidence: must not be empty", id="empty-evidence"),
        pytest.param(entry_yaml(statement="' '"), "attestations[0].statement: must not be empty",
                     id="empty-statement"),
        pytest.param(entry_yaml(statement=""), "attestations[0].statement: expected a string, got null",
                     id="null-statement"),
        pytest.param(entry_yaml(attested_by="yes"), "attestations[0].attested_by: expected a string, got a boolean",
                     id="boolean-not-string"),
        pytest.param(entry_yaml(approver="x"), "attestations[0].approver: unknown key", id="unknown-key"),
        pytest.param(entry_yaml() + entry_yaml(evidence="DOC-2").replace("attestations:\n", ""),
                     "attestations[1].date: GDPR-01 already has an attestation dated 2026-05-01 (attestations[0])",
                     id="same-control-same-date"),
        pytest.param("attestations:\n  - [GDPR-01]\n", "attestations[0]: expected a mapping, got a list",
                     id="entry-not-mapping"),
        pytest.param("attestation: []\n", "attestations.yml: attestation: unknown key", id="unknown-top-key"),
        pytest.param("{}\n", "attestations.yml: attestations: required key is missing", id="missing-top-key"),
        pytest.param("", "attestations.yml: the file is empty", id="empty-file"),
        pytest.param(entry_yaml() + "    date: 2026-06-01\n",
                     "attestations.yml: line 7, column 5: invalid YAML: found duplicate key 'date'",
                     id="duplicate-key"),
    ],
)
def test_invalid_file_is_refused_naming_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    message = load_error(path)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_different_dates_for_one_control_are_allowed(tmp_path: Path) -> None:
    text = entry_yaml() + entry_yaml(date="2026-06-01").replace("attestations:\n", "")
    assert len(load_attestations(write(tmp_path, text))) == 2


def test_unknown_or_automated_control_is_an_error(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, VALID), known_controls={"GDPR-01"})
    assert message.endswith("attestations.yml: attestations[1].control: unknown manual control 'GDPR-02'")


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "attestations.yml"
    assert load_error(path) == f"{path}: file not found"


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "attestations:\n  - control: GDPR-01\n  attested_by: x\n")
    message = load_error(path)
    assert message.startswith(f"{path}: line 3, column ")
    assert "invalid YAML" in message


# --- findings ----------------------------------------------------------------------------------------------------


def test_manual_control_protocol_is_satisfied_by_a_frozen_dataclass() -> None:
    control: ManualControl = RESIDENCY  # also checked by mypy
    assert attestation_findings([control], [], TODAY)[0].control_id == "GDPR-01"


def test_attested_control() -> None:
    current = attestation(statement="All personal data is stored in the EU.")
    assert attestation_findings([RESIDENCY], [current], TODAY) == [
        Finding(
            host="(organisation)",
            control_id="GDPR-01",
            check_id="attestation",
            clause_ids=("DH-2.1", "DH-2.3"),
            status=Status.MANUAL,
            severity=Severity.HIGH,
            message="attested by dpo@example.org on 2026-05-01 (evidence: https://docs.example.org/dpa/2026), "
            "valid until 2027-04-30",
            evidence=Evidence(
                source="attestations file",
                observed={
                    "attestation_state": "attested",
                    "control": "GDPR-01",
                    "attested_by": "dpo@example.org",
                    "date": "2026-05-01",
                    "evidence": "https://docs.example.org/dpa/2026",
                    "expires": "2027-04-30",
                    "statement": "All personal data is stored in the EU.",
                },
                collected_at="2026-11-29T00:00:00+00:00",
            ),
        )
    ]


def test_attestation_expiring_today_still_holds() -> None:
    result = only(attestation_findings([RESIDENCY], [attestation(expires=TODAY)], TODAY))
    assert result.evidence is not None
    assert result.evidence.observed["attestation_state"] == "attested"


def test_expired_attestation() -> None:
    lapsed = attestation(control_id="GDPR-02", attested_by="ciso@example.org", attested_on=date(2025, 1, 15),
                         evidence="DOC-1234", expires=date(2026, 1, 14))
    result = only(attestation_findings([PROCESSORS], [lapsed], TODAY))
    assert result.status is Status.MANUAL
    assert result.severity is Severity.MEDIUM
    assert result.clause_ids == ("DH-3.4",)
    assert result.message == "attestation by ciso@example.org expired on 2026-01-14"
    assert result.evidence is not None
    assert result.evidence.observed == {
        "attestation_state": "expired",
        "control": "GDPR-02",
        "attested_by": "ciso@example.org",
        "date": "2025-01-15",
        "evidence": "DOC-1234",
        "expires": "2026-01-14",
    }


def test_missing_attestation() -> None:
    other = attestation(control_id="GDPR-02")
    result = only(attestation_findings([RESIDENCY], [other], TODAY))
    assert result.status is Status.MANUAL
    assert result.message == "no attestation on record"
    assert result.evidence == Evidence(
        source="attestations file",
        observed={"attestation_state": "missing"},
        collected_at="2026-11-29T00:00:00+00:00",
    )


def test_latest_attestation_wins_even_when_it_has_expired() -> None:
    # The newer attestation replaced the older one; its expiry is what counts, not the older one's longer term.
    older = attestation(attested_by="old@example.org", attested_on=date(2025, 1, 1), expires=date(2027, 1, 1))
    newer = attestation(attested_by="new@example.org", attested_on=date(2025, 6, 1), expires=date(2026, 6, 1))
    result = only(attestation_findings([RESIDENCY], [newer, older], TODAY))
    assert result.message == "attestation by new@example.org expired on 2026-06-01"


def test_latest_attestation_wins_over_expired_one() -> None:
    older = attestation(attested_by="old@example.org", attested_on=date(2024, 1, 1), expires=date(2025, 1, 1))
    newer = attestation(attested_by="new@example.org", attested_on=date(2026, 2, 1), expires=date(2027, 2, 1))
    result = only(attestation_findings([RESIDENCY], [older, newer], TODAY))
    assert result.message.startswith("attested by new@example.org on 2026-02-01 ")
    assert result.evidence is not None
    assert result.evidence.observed["attested_by"] == "new@example.org"


def test_attestation_dated_after_today_is_not_counted() -> None:
    lapsed = attestation(attested_by="old@example.org", attested_on=date(2025, 1, 1), expires=date(2026, 1, 1))
    future = attestation(attested_by="new@example.org", attested_on=date(2026, 12, 1), expires=date(2027, 12, 1))
    assert only(attestation_findings([RESIDENCY], [lapsed, future], TODAY)).message == (
        "attestation by old@example.org expired on 2026-01-01"
    )
    assert only(attestation_findings([RESIDENCY], [future], TODAY)).message == (
        "no attestation on record (1 dated after today not counted)"
    )


def test_one_finding_per_control_in_the_order_given() -> None:
    findings = attestation_findings([PROCESSORS, RESIDENCY], [attestation()], TODAY)
    assert [(f.control_id, f.status) for f in findings] == [("GDPR-02", Status.MANUAL), ("GDPR-01", Status.MANUAL)]
    states = [f.evidence.observed["attestation_state"] for f in findings if f.evidence is not None]
    assert states == ["missing", "attested"]


def test_no_controls_no_findings() -> None:
    assert attestation_findings([], [attestation()], TODAY) == []
