"""Plain-text views of the catalogue: the table of controls, and everything about one control, clause or check."""

from __future__ import annotations

import difflib
import textwrap
from collections import Counter

from checks.catalogue import REFERENCE_FRAMEWORKS, Automation, Catalogue, Clause, Control
from stockade.errors import UsageError

WIDTH = 100

AUTOMATION_MEANING = {
    Automation.AUTOMATED: "proven by checks on every host",
    Automation.PLANNED: "machine-provable, checks not built yet: reported as not assessed, never as a pass",
    Automation.MANUAL: "answered by an attestation: who, when, evidence, expiry",
}
_AUTOMATION_ORDER = (Automation.AUTOMATED, Automation.PLANNED, Automation.MANUAL)


def controls_table(catalogue: Catalogue) -> str:
    """One line per control (id, automation, severity, clauses, title), then counts by automation and coverage."""
    header: tuple[str, ...] = ("CONTROL", "AUTOMATION", "SEVERITY", "CLAUSES", "TITLE")
    rows: list[tuple[str, ...]] = [(control.id, str(control.automation), str(control.severity),
                                    ",".join(control.clauses), control.title) for control in catalogue.controls]
    if any(control.references.get("cis_debian_12") for control in catalogue.controls):
        header = (*header[:-1], "CIS DEBIAN 12", header[-1])
        rows = [(*row[:-1], _cis(control), row[-1]) for row, control in zip(rows, catalogue.controls, strict=True)]
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header) - 1)]
    lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
             for row in (header, *rows)]

    by_automation = Counter(control.automation for control in catalogue.controls)
    lines.append("")
    lines.append(f"{len(catalogue.controls)} controls: "
                 + ", ".join(f"{by_automation[kind]} {kind}" for kind in _AUTOMATION_ORDER))
    best = Counter(_best_automation(catalogue, clause) for clause in catalogue.clauses)
    covered = len(catalogue.clauses) - best[None]
    lines.append(f"{covered} of {len(catalogue.clauses)} clauses covered: "
                 f"{best[Automation.AUTOMATED]} by an automated control, "
                 f"{best[Automation.PLANNED]} at best by a planned control, "
                 f"{best[Automation.MANUAL]} by manual controls only")
    return "\n".join(lines)


def _cis(control: Control, shown: int = 3) -> str:
    """The control's CIS Debian 12 ids, the first few and a count of the rest (`explain` lists them all)."""
    ids = control.references.get("cis_debian_12", ())
    if not ids:
        return "-"
    more = f" +{len(ids) - shown}" if len(ids) > shown else ""
    return ",".join(ids[:shown]) + more


def _best_automation(catalogue: Catalogue, clause: Clause) -> Automation | None:
    kinds = {control.automation for control in catalogue.controls_for_clause(clause.id)}
    return next((kind for kind in _AUTOMATION_ORDER if kind in kinds), None)


def explain(catalogue: Catalogue, identifier: str) -> str:
    """Everything about a control id, a clause id or a check id (exact, or differing only in case)."""
    control_ids = {control.id: control.id for control in catalogue.controls}
    clause_ids = {clause.id: clause.id for clause in catalogue.clauses}
    check_ids = {check_id: check_id for check_id in catalogue.check_ids}
    for fold in (False, True):
        key = identifier.strip().casefold() if fold else identifier.strip()
        for kind, ids in (("control", control_ids), ("clause", clause_ids), ("check", check_ids)):
            index = {known.casefold(): known for known in ids} if fold else ids
            if key in index:
                found = index[key]
                if kind == "control":
                    return _explain_control(catalogue, catalogue.control(found))
                if kind == "clause":
                    return _explain_clause(catalogue, catalogue.clause(found))
                return _explain_check(catalogue, found)
    known = {known.casefold(): known for known in (*control_ids, *clause_ids, *check_ids)}
    close = difflib.get_close_matches(identifier.strip().casefold(), list(known), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(known[match] for match in close)}?" if close else \
        "; give a control id (e.g. SSH-01), a clause id (e.g. SYS-ACCESS) or a check id"
    raise UsageError(f"unknown control, clause or check {identifier!r}{hint}")


def _wrap(text: str, indent: str, first: str | None = None) -> list[str]:
    """Wrap each line of `text` (line breaks in the policy's lists are kept)."""
    lines: list[str] = []
    for number, paragraph in enumerate(text.splitlines() or [""]):
        lead = first if (first is not None and number == 0) else indent
        lines += textwrap.wrap(paragraph, WIDTH, initial_indent=lead, subsequent_indent=indent,
                               break_long_words=False, break_on_hyphens=False) or [lead.rstrip()]
    return lines


def _field(label: str, text: str) -> list[str]:
    return _wrap(text, " " * 13, f"{label + ':':<13}")


def _explain_control(catalogue: Catalogue, control: Control) -> str:
    lines = [f"{control.id}: {control.title}"]
    lines += _field("severity", str(control.severity))
    lines += _field("automation", f"{control.automation} — {AUTOMATION_MEANING[control.automation]}")
    lines += _field("rationale", control.rationale)
    if control.evidence:
        lines += _field("evidence", control.evidence)
    lines.append("clauses:")
    for clause_id in control.clauses:
        clause = catalogue.clause(clause_id)
        lines += _wrap(f"{clause.id} ({clause.section}): {clause.summary}", "    ", "  ")
        lines += _wrap(f"“{clause.text}”", "      ", "    ")
    if control.enforced_by is None:
        lines += _field("enforced by", "no role (nothing on the hosts applies it)")
    else:
        lines += _field("enforced by", f"role {control.enforced_by.role}, tags {', '.join(control.enforced_by.tags)}")
        lines += _wrap(control.enforced_by.harden_command, " " * 13, " " * 13)
    if control.checks:
        lines += _field("checks", ", ".join(control.checks))
    elif control.automation is Automation.PLANNED:
        lines += _field("checks", "none yet (planned)")
    else:
        lines += _field("checks", "none (manual)")
    if control.references:
        lines.append("references:")
        for key, identifiers in control.references.items():
            lines += _wrap(f"{REFERENCE_FRAMEWORKS.get(key, key)}: {', '.join(identifiers)}", "    ", "  ")
    else:
        lines += _field("references", "none")
    if control.parameters:
        lines.append("parameters:")
        for name, parameter in control.parameters.items():
            default = list(parameter.default) if isinstance(parameter.default, tuple) else parameter.default
            lines += _wrap(f"{name} ({parameter.type}, default {default!r}): {parameter.description}", "    ", "  ")
    else:
        lines += _field("parameters", "none")
    return "\n".join(lines)


def _explain_clause(catalogue: Catalogue, clause: Clause) -> str:
    lines = [*_wrap(f"{clause.id} ({clause.section}): {clause.summary}", "  ", ""), "policy text:"]
    lines += _wrap(f"“{clause.text}”", "  ", "  ")
    lines.append("controls:")
    for control in catalogue.controls_for_clause(clause.id):
        lines += _wrap(f"{control.id}  {control.automation}, {control.severity}: {control.title}", "    ", "  ")
    return "\n".join(lines)


def _explain_check(catalogue: Catalogue, check_id: str) -> str:
    control = catalogue.control_for_check(check_id)
    return f"check {check_id} proves control {control.id}\n\n" + _explain_control(catalogue, control)
