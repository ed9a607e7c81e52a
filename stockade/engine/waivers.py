"""Waivers are data: a failing check on matching hosts is shown as WAIVED, with the waiver, until it expires.

A waived check still runs (design.md §1, §3): waivers are applied to findings after evaluation, never before,
and only a FAIL can be waived. An ERROR (could not evaluate) is never hidden by a waiver; an expired waiver no
longer applies, and the FAIL it once covered says so.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from checks.model import Status
from stockade.engine.datafile import DataFile
from stockade.engine.model import Finding
from stockade.errors import UsageError


class WaiverError(UsageError):
    """The waivers file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class Waiver:
    """A justified, approved, expiring exception for one control or one check on the hosts matching `hosts`."""

    id: str
    control_id: str | None  # exactly one of control_id / check_id is set
    check_id: str | None
    hosts: str  # fnmatch pattern over inventory host names, case-sensitive
    justification: str
    approver: str
    expires: date  # last day on which the waiver applies

    def matches(self, finding: Finding) -> bool:
        """Whether this waiver covers the finding's control or check on the finding's host (status is ignored)."""
        if self.control_id is not None and finding.control_id != self.control_id:
            return False
        if self.check_id is not None and finding.check_id != self.check_id:
            return False
        return fnmatchcase(finding.host, self.hosts)

    def is_active(self, today: date) -> bool:
        return self.expires >= today

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the file's key names; both `control` and `check` are present, one of them null."""
        return {
            "id": self.id,
            "control": self.control_id,
            "check": self.check_id,
            "hosts": self.hosts,
            "justification": self.justification,
            "approver": self.approver,
            "expires": self.expires.isoformat(),
        }


_WAIVER_REQUIRED = ("id", "justification", "approver", "expires")
_WAIVER_OPTIONAL = ("control", "check", "hosts")


def load_waivers(path: Path, known_controls: Collection[str] | None = None,
                 known_checks: Collection[str] | None = None) -> tuple[Waiver, ...]:
    """Read and strictly validate a waivers file; raise WaiverError naming the file and key path on any problem.

    With `known_controls` / `known_checks`, a waiver naming an id outside them is an error: a waiver for a
    control that does not exist is a typo, and would otherwise silently waive nothing.
    """
    data = DataFile(path, "waivers", WaiverError)
    waivers: list[Waiver] = []
    first_use: dict[str, str] = {}
    for where, entry in data.entries():
        data.check_keys(where, entry, _WAIVER_REQUIRED, _WAIVER_OPTIONAL)
        waiver_id = data.text(where, entry, "id")
        if waiver_id in first_use:
            data.fail(f"{where}.id", f"duplicate id {waiver_id!r} (already used by {first_use[waiver_id]})")
        first_use[waiver_id] = where

        has_control, has_check = "control" in entry, "check" in entry
        if has_control == has_check:
            data.fail(where, "exactly one of 'control' or 'check' is required, got "
                      + ("both" if has_control else "neither"))
        control_id = data.text(where, entry, "control") if has_control else None
        check_id = data.text(where, entry, "check") if has_check else None
        if control_id is not None and known_controls is not None and control_id not in known_controls:
            data.fail(f"{where}.control", f"unknown control {control_id!r}")
        if check_id is not None and known_checks is not None and check_id not in known_checks:
            data.fail(f"{where}.check", f"unknown check {check_id!r}")

        waivers.append(Waiver(
            id=waiver_id,
            control_id=control_id,
            check_id=check_id,
            hosts=data.text(where, entry, "hosts") if "hosts" in entry else "*",
            justification=data.text(where, entry, "justification"),
            approver=data.text(where, entry, "approver"),
            expires=data.day(where, entry, "expires"),
        ))
    return tuple(waivers)


def _latest(waivers: Sequence[Waiver]) -> Waiver:
    """The waiver expiring last; on a tie, the first in the file."""
    return max(waivers, key=lambda waiver: waiver.expires)  # max keeps the first of equal keys


def apply_waivers(findings: Sequence[Finding], waivers: Sequence[Waiver], today: date) -> list[Finding]:
    """The findings with waivers applied, in the same order; pure.

    - A FAIL matched by an active waiver (expires >= today) becomes WAIVED, carrying that waiver (the one
      expiring last, if several apply) with `waived_status: fail` and `state: active`.
    - A FAIL matched only by expired waivers stays FAIL, carrying the most recently expired one with
      `state: expired`, and its message says the waiver expired.
    - Every other status (PASS, ERROR, SKIPPED, MANUAL, WAIVED) is returned unchanged, as is a finding that
      already carries a waiver record (so applying twice changes nothing). Evidence is never touched.
    """
    result: list[Finding] = []
    for finding in findings:
        if finding.status is not Status.FAIL or finding.waiver is not None:
            result.append(finding)
            continue
        matching = [waiver for waiver in waivers if waiver.matches(finding)]
        active = [waiver for waiver in matching if waiver.is_active(today)]
        if active:
            waiver = _latest(active)
            result.append(replace(
                finding,
                status=Status.WAIVED,
                message=f"waived ({waiver.id}, expires {waiver.expires.isoformat()}): {finding.message}",
                waiver={**waiver.to_dict(), "waived_status": Status.FAIL.value, "state": "active"},
            ))
        elif matching:
            waiver = _latest(matching)
            result.append(replace(
                finding,
                message=f"waiver {waiver.id} expired on {waiver.expires.isoformat()}: {finding.message}",
                waiver={**waiver.to_dict(), "state": "expired"},
            ))
        else:
            result.append(finding)
    return result


def waiver_coverage(waivers: Sequence[Waiver], findings: Sequence[Finding]) -> list[tuple[Waiver, str]]:
    """For each waiver, in file order, what it did in this run: how many findings it waives, how many FAILs it
    no longer covers because it expired, or that it covers none (and what it matched instead, if anything)."""
    lines = []
    for waiver in waivers:
        carried = [finding for finding in findings
                   if finding.waiver is not None and finding.waiver.get("id") == waiver.id]
        waived = sum(1 for finding in carried if finding.status is Status.WAIVED)
        expired = sum(1 for finding in carried if finding.status is Status.FAIL)
        if waived:
            text = f"waives {waived} finding(s)"
        elif expired:
            text = (f"expired on {waiver.expires.isoformat()}: {expired} failing finding(s) it matches are "
                    "not waived")
        else:
            matched = [finding for finding in findings if waiver.matches(finding)]
            others = sorted({str(finding.waiver.get("id")) for finding in matched if finding.waiver is not None})
            if others:
                text = f"covers no finding (those it matches are waived by {', '.join(others)})"
            elif matched:
                text = f"covers no finding (the {len(matched)} finding(s) it matches did not fail)"
            else:
                text = "covers no finding (nothing in this run matches it)"
        lines.append((waiver, text))
    return lines


def print_waiver_coverage(waivers: Sequence[Waiver], findings: Sequence[Finding], path: Path | None) -> None:
    """`waiver W-1 (SSH-01 on legacy-*): waives 2 finding(s)` per waiver, on stderr beside the summary."""
    for waiver, text in waiver_coverage(waivers, findings):
        scope = waiver.control_id or f"check {waiver.check_id}"
        print(f"waiver {waiver.id} ({scope} on {waiver.hosts}{f', {path}' if path else ''}): {text}",
              file=sys.stderr)
