"""Manual controls are answered by attestations: who attested, when, on what evidence, until when.

A clause no machine can prove (data residency, processors, partners) is a manual control (design.md §1). It is
always reported, with status MANUAL, one finding per control for the organisation; its evidence says whether
an attestation is on record and still valid (`attested`), lapsed (`expired`) or absent (`missing`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Literal, Protocol

from checks.limits import MAX_ATTESTATIONS_BYTES
from checks.model import Severity, Status
from stockade.engine.datafile import DataFile
from stockade.engine.model import Evidence, Finding
from stockade.errors import UsageError

ORGANISATION_HOST = "(organisation)"
ATTESTATION_CHECK_ID = "attestation"
EVIDENCE_SOURCE = "attestations file"

AttestationState = Literal["attested", "expired", "missing"]


class AttestationError(UsageError):
    """The attestations file is missing, unreadable or invalid."""


class ManualControl(Protocol):
    """What an attestation finding takes from a manual control (the catalogue's Control satisfies it)."""

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def severity(self) -> str: ...

    @property
    def clauses(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Attestation:
    """A person's statement that a manual control is met, with a reference to the evidence and an expiry."""

    control_id: str
    attested_by: str
    attested_on: date  # `date` in the file
    evidence: str  # a reference: URL, document id
    expires: date  # last day on which the attestation holds
    statement: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The file's key names, every value a string; `statement` only when there is one."""
        fields = {
            "control": self.control_id,
            "attested_by": self.attested_by,
            "date": self.attested_on.isoformat(),
            "evidence": self.evidence,
            "expires": self.expires.isoformat(),
        }
        if self.statement is not None:
            fields["statement"] = self.statement
        return fields


_REQUIRED = ("control", "attested_by", "date", "evidence", "expires")
_OPTIONAL = ("statement",)


def load_attestations(path: Path, known_controls: Collection[str] | None = None) -> tuple[Attestation, ...]:
    """Read and strictly validate an attestations file; raise AttestationError naming the file and key path.

    Pass the ids of the manual controls as `known_controls`: only those may be attested, and any other id is
    reported as an error (a typo would otherwise leave the control showing "no attestation on record").
    Two attestations of one control with the same date are refused: neither would clearly be the latest.
    """
    data = DataFile(path, "attestations", AttestationError, MAX_ATTESTATIONS_BYTES)
    attestations: list[Attestation] = []
    first_at: dict[tuple[str, date], str] = {}
    for where, entry in data.entries():
        data.check_keys(where, entry, _REQUIRED, _OPTIONAL)
        control_id = data.text(where, entry, "control")
        if known_controls is not None and control_id not in known_controls:
            data.fail(f"{where}.control", f"unknown manual control {control_id!r}")
        attested_by = data.text(where, entry, "attested_by")
        attested_on = data.day(where, entry, "date")
        evidence = data.text(where, entry, "evidence")
        expires = data.day(where, entry, "expires")
        if expires < attested_on:
            data.fail(f"{where}.expires", f"{expires.isoformat()} is before the date {attested_on.isoformat()}")
        statement = data.text(where, entry, "statement") if "statement" in entry else None
        if (control_id, attested_on) in first_at:
            data.fail(f"{where}.date", f"{control_id} already has an attestation dated {attested_on.isoformat()} "
                                       f"({first_at[control_id, attested_on]})")
        first_at[control_id, attested_on] = where
        attestations.append(Attestation(control_id, attested_by, attested_on, evidence, expires, statement))
    return tuple(attestations)


def _state(attestation: Attestation | None, today: date) -> AttestationState:
    if attestation is None:
        return "missing"
    return "attested" if attestation.expires >= today else "expired"


def _message(attestation: Attestation | None, state: AttestationState, not_yet: int) -> str:
    if attestation is None:
        if not_yet:
            return f"no attestation on record ({not_yet} dated after today not counted)"
        return "no attestation on record"
    if state == "expired":
        return f"attestation by {attestation.attested_by} expired on {attestation.expires.isoformat()}"
    return (f"attested by {attestation.attested_by} on {attestation.attested_on.isoformat()} "
            f"(evidence: {attestation.evidence}), valid until {attestation.expires.isoformat()}")


def attestation_findings(controls: Iterable[ManualControl], attestations: Sequence[Attestation],
                         today: date) -> list[Finding]:
    """One MANUAL finding per manual control, in the order given; pure.

    The attestation that counts is the one with the latest `date` on or before `today`: an attestation dated
    in the future is not counted, so it cannot stand in for one that has lapsed.
    """
    collected_at = datetime.combine(today, time(), tzinfo=UTC).isoformat()
    findings: list[Finding] = []
    for control in controls:
        own = [attestation for attestation in attestations if attestation.control_id == control.id]
        current = [attestation for attestation in own if attestation.attested_on <= today]
        latest = max(current, key=lambda attestation: attestation.attested_on, default=None)
        state = _state(latest, today)
        observed: dict[str, object] = {"attestation_state": state}
        if latest is not None:
            observed.update(latest.to_dict())
        findings.append(Finding(
            host=ORGANISATION_HOST,
            control_id=control.id,
            check_id=ATTESTATION_CHECK_ID,
            clause_ids=tuple(control.clauses),
            status=Status.MANUAL,
            severity=Severity(control.severity),
            message=_message(latest, state, len(own) - len(current)),
            evidence=Evidence(source=EVIDENCE_SOURCE, observed=observed, collected_at=collected_at),
        ))
    return findings
