"""`controls_table` and `explain` over a small hand-made catalogue (exact output) and the shipped one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from checks.catalogue import Automation, Catalogue, load_catalogue
from stockade.errors import UsageError
from stockade.explain import controls_table, explain


@dataclass(frozen=True)
class FakeCheck:
    id: str
    control_id: str


POLICY = """\
policy: {id: tiny, title: Tiny Policy, version: "1"}
clauses:
  - {id: SYS-ONE, section: System security, summary: One holds., text: The first promise.}
  - {id: SYS-TWO, section: System security, summary: Two holds., text: The second promise.}
  - {id: DATA-THREE, section: Use and Storage of Customer Data, summary: Three holds., text: The third promise.}
"""

CONTROLS = """\
controls:
  - id: ONE-01
    title: "One: it holds"
    severity: high
    rationale: Because one matters.
    clauses: [SYS-ONE, SYS-TWO]
    automation: automated
    enforced_by: {role: one, tags: [one_01, one]}
    checks: [one_holds]
    references: {nist_800_53_r5: [AC-17], gdpr: [Art. 32(1)(b)]}
    parameters:
      limit: {type: int, min: 0, default: 3, description: How many.}
      names: {type: list, items: {type: str, max_length: 10}, default: [a, b], description: Which ones.}
  - id: TWO-01
    title: "Two: it will be checked"
    severity: low
    rationale: Because two matters.
    clauses: [SYS-TWO]
    automation: planned
    enforced_by: {role: two, tags: [two_01]}
    checks: []
    references: {}
    parameters: {}
  - id: THREE-01
    title: "Three: someone says so"
    severity: medium
    rationale: Because three matters.
    clauses: [DATA-THREE]
    automation: manual
    evidence: A signed statement.
    enforced_by: null
    checks: []
    references: {iso_27001_2022: [A.5.34]}
    parameters: {}
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Catalogue:
    (tmp_path / "policy.yml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "controls.yml").write_text(CONTROLS, encoding="utf-8")
    return load_catalogue(tmp_path, [FakeCheck("one_holds", "ONE-01")])


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue()


def test_controls_table_exact(tiny: Catalogue) -> None:
    assert controls_table(tiny) == """\
CONTROL   AUTOMATION  SEVERITY  CLAUSES          TITLE
ONE-01    automated   high      SYS-ONE,SYS-TWO  One: it holds
TWO-01    planned     low       SYS-TWO          Two: it will be checked
THREE-01  manual      medium    DATA-THREE       Three: someone says so

3 controls: 1 automated, 1 planned, 1 manual
3 of 3 clauses covered: 2 by an automated control, 0 at best by a planned control, 1 by manual controls only"""


def test_controls_table_of_the_shipped_catalogue(shipped: Catalogue) -> None:
    lines = controls_table(shipped).splitlines()
    for control in shipped.controls:
        row = next(line for line in lines if line.startswith(f"{control.id} "))
        assert row.split()[1:3] == [str(control.automation), str(control.severity)]
        assert row.endswith(control.title)
    counts = Counter(control.automation for control in shipped.controls)
    assert lines[-2] == (f"{len(shipped.controls)} controls: {counts[Automation.AUTOMATED]} automated, "
                         f"{counts[Automation.PLANNED]} planned, {counts[Automation.MANUAL]} manual")
    automated_clauses = {clause for control in shipped.controls if control.automation is Automation.AUTOMATED
                         for clause in control.clauses}
    assert lines[-1].startswith(f"{len(shipped.clauses)} of {len(shipped.clauses)} clauses covered: "
                                f"{len(automated_clauses)} by an automated")


def test_explain_an_automated_control_exact(tiny: Catalogue) -> None:
    assert explain(tiny, "ONE-01") == """\
ONE-01: One: it holds
severity:    high
automation:  automated — proven by checks on every host
rationale:   Because one matters.
clauses:
  SYS-ONE (System security): One holds.
    “The first promise.”
  SYS-TWO (System security): Two holds.
    “The second promise.”
enforced by: role one, tags one_01, one
             stockade harden -i INVENTORY --tags one_01,one
checks:      one_holds
references:
  NIST SP 800-53 Rev. 5: AC-17
  GDPR: Art. 32(1)(b)
parameters:
  limit (int, default 3): How many.
  names (list, default ['a', 'b']): Which ones."""


def test_explain_planned_and_manual_controls(tiny: Catalogue) -> None:
    planned = explain(tiny, "TWO-01")
    assert "automation:  planned — machine-provable, checks not built yet" in planned
    assert "checks:      none yet (planned)" in planned
    assert "references:  none" in planned and "parameters:  none" in planned
    manual = explain(tiny, "THREE-01")
    assert "automation:  manual — answered by an attestation: who, when, evidence, expiry" in manual
    assert "evidence:    A signed statement." in manual
    assert "enforced by: no role" in manual and "stockade harden" not in manual
    assert "ISO/IEC 27001:2022 Annex A: A.5.34" in manual


def test_explain_a_clause_lists_its_text_and_only_its_controls(tiny: Catalogue) -> None:
    assert explain(tiny, "SYS-TWO") == """\
SYS-TWO (System security): Two holds.
policy text:
  “The second promise.”
controls:
  ONE-01  automated, high: One: it holds
  TWO-01  planned, low: Two: it will be checked"""


def test_explain_a_check_names_its_control(tiny: Catalogue) -> None:
    text = explain(tiny, "one_holds")
    assert text.startswith("check one_holds proves control ONE-01\n\nONE-01: One: it holds\n")


def test_identifiers_are_matched_without_regard_to_case(tiny: Catalogue) -> None:
    assert explain(tiny, "one-01") == explain(tiny, "ONE-01")
    assert explain(tiny, " sys-two ") == explain(tiny, "SYS-TWO")


def test_unknown_identifier_is_a_usage_error_with_close_matches(tiny: Catalogue) -> None:
    with pytest.raises(UsageError, match=r"unknown control, clause or check 'ONE-1'; did you mean ONE-01") as info:
        explain(tiny, "ONE-1")
    assert info.value.exit_code == 2
    with pytest.raises(UsageError, match=r"did you mean one_holds"):
        explain(tiny, "one_hold")
    with pytest.raises(UsageError, match=r"'zzz'; give a control id") as info:
        explain(tiny, "zzz")
    assert "did you mean" not in str(info.value)


def test_explain_the_shipped_ssh_control_clause_and_check(shipped: Catalogue) -> None:
    control = explain(shipped, "SSH-01")
    for expected in ("SSH-01: SSH: no root login and no password login", "severity:    high",
                     "SYS-ACCESS (System security)", "allowing only trusted operations personnel",
                     "role sshd, tags ssh_01", "stockade harden -i INVENTORY --tags ssh_01",
                     "checks:      sshd_no_root_no_password_login",
                     "CIS Debian Linux 12 Benchmark v1.x: 5.1.19, 5.1.20",
                     "NIST SP 800-53 Rev. 5: AC-17"):
        assert expected in control, expected
    clause = explain(shipped, "SYS-ACCESS")
    served_by = {control.id for control in shipped.controls_for_clause("SYS-ACCESS")}
    assert {line.split()[0] for line in clause.split("controls:\n")[1].splitlines()
         if line.startswith("  ") and not line.startswith("    ")} \
        == served_by
    assert explain(shipped, "sshd_no_root_no_password_login").startswith(
        "check sshd_no_root_no_password_login proves control SSH-01")
    with pytest.raises(UsageError, match="SSH-01"):
        explain(shipped, "SSH01")
