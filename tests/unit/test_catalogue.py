"""The shipped catalogue is consistent, and each validation rule refuses a catalogue that breaks it."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from checks.catalogue import (
    CATALOGUE_DIR,
    CONTROLS_FILE,
    POLICY_FILE,
    SCHEMA_FILE,
    Automation,
    Catalogue,
    CatalogueError,
    load_catalogue,
)
from checks.model import Severity
from checks.registry import ALL_CHECKS
from stockade.errors import StockadeError

PLANNED_ROLES = {"firewall", "patching", "accounts", "sshd", "pam", "totp", "web_edge", "baseline", "data_access"}


@dataclass(frozen=True)
class FakeCheck:
    id: str
    control_id: str


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


# --- the shipped catalogue -----------------------------------------------------------------------------------

def test_shipped_catalogue_loads_with_digest_of_both_files(catalogue: Catalogue) -> None:
    assert catalogue.policy_id == "3dprinteros-data-handling"
    assert catalogue.policy_title == "3DPrinterOS Data Handling Policy"
    expected = hashlib.sha256((CATALOGUE_DIR / POLICY_FILE).read_bytes()
                              + (CATALOGUE_DIR / CONTROLS_FILE).read_bytes()).hexdigest()
    assert catalogue.digest == expected


def test_clauses_cover_every_part_of_the_policy(catalogue: Catalogue) -> None:
    ids = {clause.id for clause in catalogue.clauses}
    assert ids >= {
        "HOST-LOCATION", "SYS-FIREWALL", "SYS-ACCESS", "SYS-HARDENING", "SYS-PATCHING", "SYS-DATA-ACCESS",
        "APP-TLS", "APP-RATE-LIMIT", "APP-PASSWORD-COMPLEXITY", "APP-GDPR-PARTNERS", "APP-PASSWORD-HASHING",
        "APP-2FA", "DATA-PURPOSES", "DATA-SHARING", "DATA-NO-MARKETING", "DATA-CONFIDENTIAL", "DATA-ACCESS-CASES",
    }
    assert {clause.section for clause in catalogue.clauses} == {
        "Preamble", "System security", "Application security", "Use and Storage of Customer Data"}
    processors = {"Intercom", "Mandrill", "Mailchimp", "Google Analytics"}
    assert {name for name in processors for clause in catalogue.clauses if name in clause.text} == processors


def test_every_clause_is_served_by_a_control(catalogue: Catalogue) -> None:
    unserved = [clause.id for clause in catalogue.clauses if not catalogue.controls_for_clause(clause.id)]
    assert unserved == []


def test_automated_controls_have_checks_and_every_check_belongs_to_its_control(catalogue: Catalogue) -> None:
    for control in catalogue.controls:
        assert bool(control.checks) == (control.automation is Automation.AUTOMATED), control.id
    assert ALL_CHECKS
    for check in ALL_CHECKS:
        assert catalogue.control_for_check(check.id).id == check.control_id
    assert sorted(catalogue.check_ids) == sorted(check.id for check in ALL_CHECKS)


def test_ssh_01_is_automated_by_the_sshd_check(catalogue: Catalogue) -> None:
    control = catalogue.control("SSH-01")
    assert control.automation is Automation.AUTOMATED
    assert control.severity is Severity.HIGH
    assert control.clauses == ("SYS-ACCESS",)
    assert control.checks == ("sshd_no_root_no_password_login", "sshd_match_contexts_no_root_no_password")
    assert control.enforced_by is not None
    assert (control.enforced_by.role, control.enforced_by.tags) == ("sshd", ("ssh_01",))
    assert control.enforced_by.harden_command == "stockade harden -i INVENTORY --tags ssh_01"


def test_planned_controls_name_their_role_and_manual_controls_their_evidence(catalogue: Catalogue) -> None:
    planned = [control for control in catalogue.controls if control.automation is Automation.PLANNED]
    manual = [control for control in catalogue.controls if control.automation is Automation.MANUAL]
    assert manual
    for control in planned:
        assert control.enforced_by is not None and control.enforced_by.role in PLANNED_ROLES, control.id
    assert {control.enforced_by.role for control in catalogue.controls if control.enforced_by} == PLANNED_ROLES
    for control in manual:
        assert control.evidence, control.id
    # Clauses no machine can prove are answered by attestations.
    for clause_id in ("HOST-LOCATION", "APP-GDPR-PARTNERS", "DATA-PURPOSES", "DATA-SHARING", "DATA-NO-MARKETING",
                      "DATA-ACCESS-CASES"):
        assert {control.automation for control in catalogue.controls_for_clause(clause_id)} == {Automation.MANUAL}


def test_lookups(catalogue: Catalogue) -> None:
    assert catalogue.clause("SYS-ACCESS").section == "System security"
    assert "trusted operations personnel" in catalogue.clause("SYS-ACCESS").text
    assert catalogue.control("FW-01").clauses == ("SYS-FIREWALL",)
    assert "SSH-01" in [control.id for control in catalogue.controls_for_clause("SYS-ACCESS")]
    assert "FW-01" not in [control.id for control in catalogue.controls_for_clause("SYS-ACCESS")]
    for lookup, unknown in ((catalogue.clause, "SYS-NOPE"), (catalogue.control, "NOPE-01"),
                            (catalogue.controls_for_clause, "SYS-NOPE"), (catalogue.control_for_check, "nope")):
        with pytest.raises(KeyError, match=unknown):
            lookup(unknown)


def test_parameters_are_typed_with_immutable_defaults(catalogue: Catalogue) -> None:
    parameter = catalogue.control("TLS-01").parameters["min_rsa_bits"]
    assert (parameter.type, parameter.default) == ("int", 2048)
    assert catalogue.control("FW-01").parameters["allowed_tcp_ports"].default == (22, 80, 443)
    assert catalogue.control("PATCH-02").parameter_defaults() == {
        "max_pending_security_days": 7, "max_package_lists_age_hours": 48}


def test_schema_is_valid_and_shipped_files_match_it_without_the_loader() -> None:
    schema = json.loads((CATALOGUE_DIR / SCHEMA_FILE).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for name, definition in ((POLICY_FILE, "policyFile"), (CONTROLS_FILE, "controlsFile")):
        data = yaml.safe_load((CATALOGUE_DIR / name).read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{definition}"}).validate(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator({**schema, "$ref": "#/$defs/controlsFile"}).validate({"controls": [{}]})


# --- broken catalogues ---------------------------------------------------------------------------------------

@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    for name in (POLICY_FILE, CONTROLS_FILE):
        shutil.copy(CATALOGUE_DIR / name, tmp_path / name)
    return tmp_path


def problems_of(directory: Path, checks: Any = None) -> str:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(directory, checks)
    return str(info.value)


def test_an_unbroken_copy_loads(copy_dir: Path) -> None:
    assert load_catalogue(copy_dir).digest == load_catalogue().digest


def test_digest_follows_the_bytes(copy_dir: Path) -> None:
    before = load_catalogue(copy_dir).digest
    path = copy_dir / CONTROLS_FILE
    path.write_text(path.read_text(encoding="utf-8") + "# a comment\n", encoding="utf-8")
    assert load_catalogue(copy_dir).digest != before


Documents = dict[str, Any]
Breakage = Callable[[Documents, Documents], str]


def _at(controls: Documents, control_id: str) -> int:
    return next(index for index, item in enumerate(controls["controls"]) if item["id"] == control_id)


def _new_clause(clause_id: str) -> Documents:
    return {"id": clause_id, "section": "Preamble", "summary": "s", "text": "t"}


def empty_policy(policy: Documents, controls: Documents) -> str:
    policy.clear()
    return "policy.yml: top level: None is not of type 'object'"


def misspelt_severity(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "SSH-01")
    controls["controls"][index]["severity"] = "hgh"
    return f"controls.yml: controls[{index}].severity: 'hgh' is not one of"


def unexpected_key(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "FW-01")
    controls["controls"][index]["sevrity"] = "high"
    return f"controls.yml: controls[{index}]: Additional properties are not allowed ('sevrity' was unexpected)"


def clause_without_text(policy: Documents, controls: Documents) -> str:
    del policy["clauses"][2]["text"]
    return "policy.yml: clauses[2]: 'text' is a required property"


def malformed_nist_reference(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "SSH-01")
    controls["controls"][index]["references"]["nist_800_53_r5"] = ["AC17"]
    return f"controls.yml: controls[{index}].references.nist_800_53_r5[0]: 'AC17' does not match"


def enforcement_without_tags(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "SSH-01")
    controls["controls"][index]["enforced_by"] = {"role": "sshd"}
    return f"controls.yml: controls[{index}].enforced_by: 'tags' is a required property"


def unknown_parameter_type(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "TLS-01")
    controls["controls"][index]["parameters"]["min_rsa_bits"]["type"] = "integer"
    return f"controls.yml: controls[{index}].parameters.min_rsa_bits.type: 'integer' is not one of"


def duplicate_clause_id(policy: Documents, controls: Documents) -> str:
    policy["clauses"].append(dict(policy["clauses"][0]))
    last = len(policy["clauses"]) - 1
    return f"policy.yml: clauses[{last}].id: duplicate clause id 'HOST-LOCATION' (also clauses[0])"


def duplicate_control_id(policy: Documents, controls: Documents) -> str:
    first = _at(controls, "HOST-01")
    controls["controls"].append(dict(controls["controls"][first]))
    last = len(controls["controls"]) - 1
    return f"controls.yml: controls[{last}].id: duplicate control id 'HOST-01' (also controls[{first}])"


def control_id_is_a_clause_id(policy: Documents, controls: Documents) -> str:
    policy["clauses"].append(_new_clause("SSH-01"))
    index = _at(controls, "SSH-01")
    controls["controls"][index]["clauses"].append("SSH-01")
    return f"controls.yml: controls[{index}].id: 'SSH-01' is also a clause id"


def unknown_clause(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "FW-01")
    controls["controls"][index]["clauses"] = ["SYS-FIREWAL"]
    return f"controls.yml: controls[{index}].clauses[0]: unknown clause 'SYS-FIREWAL' (did you mean 'SYS-FIREWALL'"


def unserved_clause(policy: Documents, controls: Documents) -> str:
    policy["clauses"].append(_new_clause("SYS-NEW-PROMISE"))
    last = len(policy["clauses"]) - 1
    return f"policy.yml: clauses[{last}].id: clause 'SYS-NEW-PROMISE' is served by no control in"


def clause_served_only_by_a_removed_control(policy: Documents, controls: Documents) -> str:
    del controls["controls"][_at(controls, "HOST-01")]
    index = next(index for index, item in enumerate(policy["clauses"]) if item["id"] == "HOST-LOCATION")
    return f"policy.yml: clauses[{index}].id: clause 'HOST-LOCATION' is served by no control"


def automated_without_checks(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "SSH-01")
    controls["controls"][index]["checks"] = []
    return f"controls.yml: controls[{index}].checks: automated control 'SSH-01' lists no checks"


def planned_with_checks(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "FW-01")
    controls["controls"][index]["automation"] = "planned"
    controls["controls"][index]["checks"] = ["sshd_no_root_no_password_login"]
    return f"controls.yml: controls[{index}].checks: planned control 'FW-01' lists checks"


def manual_with_checks(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "HOST-01")
    controls["controls"][index]["checks"] = ["sshd_no_root_no_password_login"]
    return f"controls.yml: controls[{index}].checks: manual control 'HOST-01' lists checks"


def manual_without_evidence(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "HOST-01")
    del controls["controls"][index]["evidence"]
    return f"controls.yml: controls[{index}]: manual control 'HOST-01' has no 'evidence'"


def tags_without_the_control_tag(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "FW-01")
    controls["controls"][index]["enforced_by"]["tags"] = ["fw_02"]
    return f"controls.yml: controls[{index}].enforced_by.tags: must include 'fw_01'"


def unknown_check(policy: Documents, controls: Documents) -> str:
    index = _at(controls, "SSH-01")
    controls["controls"][index]["checks"] = ["sshd_no_root_login"]
    return (f"controls.yml: controls[{index}].checks[0]: unknown check 'sshd_no_root_login' "
            "(did you mean 'sshd_no_root_no_password_login'?)")


_SCHEMA_OF_TYPE: dict[str, dict[str, Any]] = {
    "int": {"min": 0}, "bool": {}, "list": {"items": {"type": "str", "max_length": 10}}, "str": {"max_length": 10}}


def _with_parameter(controls: Documents, parameter_type: str, default: Any) -> str:
    index = _at(controls, "TLS-01")
    controls["controls"][index]["parameters"]["extra"] = {
        "type": parameter_type, **_SCHEMA_OF_TYPE[parameter_type], "default": default, "description": "d"}
    return f"controls.yml: controls[{index}].parameters.extra.default: default {default!r} is not allowed by its " \
           f"schema: expected {parameter_type}, got"


def int_parameter_with_str_default(policy: Documents, controls: Documents) -> str:
    return _with_parameter(controls, "int", "ten")


def int_parameter_with_bool_default(policy: Documents, controls: Documents) -> str:
    return _with_parameter(controls, "int", True)


def bool_parameter_with_int_default(policy: Documents, controls: Documents) -> str:
    return _with_parameter(controls, "bool", 1)


def list_parameter_with_str_default(policy: Documents, controls: Documents) -> str:
    return _with_parameter(controls, "list", "/login")


def str_parameter_with_list_default(policy: Documents, controls: Documents) -> str:
    return _with_parameter(controls, "str", ["ops"])


BREAKAGES: list[Breakage] = [
    empty_policy, misspelt_severity, unexpected_key, clause_without_text, malformed_nist_reference,
    enforcement_without_tags, unknown_parameter_type, duplicate_clause_id, duplicate_control_id,
    control_id_is_a_clause_id, unknown_clause, unserved_clause, clause_served_only_by_a_removed_control,
    automated_without_checks, planned_with_checks, manual_with_checks, manual_without_evidence,
    tags_without_the_control_tag, unknown_check, int_parameter_with_str_default, int_parameter_with_bool_default,
    bool_parameter_with_int_default, list_parameter_with_str_default, str_parameter_with_list_default,
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda breakage: breakage.__name__)
def test_a_broken_catalogue_is_refused_naming_file_and_key(copy_dir: Path, breakage: Breakage) -> None:
    policy_path, controls_path = copy_dir / POLICY_FILE, copy_dir / CONTROLS_FILE
    policy = yaml.safe_load(policy_path.read_text(encoding="utf-8"))
    controls = yaml.safe_load(controls_path.read_text(encoding="utf-8"))
    expected = breakage(policy, controls)
    for path, data in ((policy_path, policy), (controls_path, controls)):
        path.write_text("" if not data else yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
    message = problems_of(copy_dir)
    assert expected in message, message


def test_yaml_syntax_error_names_file_and_line(copy_dir: Path) -> None:
    path = copy_dir / CONTROLS_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "  - id: [SSH-99\n", encoding="utf-8")
    message = problems_of(copy_dir)
    assert f"controls.yml: line {text.count(chr(10)) + 2}, column 1: invalid YAML" in message, message


def test_a_key_given_twice_is_refused(copy_dir: Path) -> None:
    path = copy_dir / POLICY_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(number for number, line in enumerate(lines) if line.startswith("  - id: SYS-ACCESS"))
    lines.insert(at + 1, "    section: Application security\n")
    path.write_text("".join(lines), encoding="utf-8")
    message = problems_of(copy_dir)
    assert f"policy.yml: line {at + 3}, column 5: invalid YAML: key 'section' given twice (first on line {at + 2})" \
        in message, message


def test_a_missing_file_is_named(copy_dir: Path) -> None:
    (copy_dir / CONTROLS_FILE).unlink()
    assert f"{copy_dir / CONTROLS_FILE}: cannot read" in problems_of(copy_dir)


def test_check_whose_control_lists_it_under_another_control(copy_dir: Path) -> None:
    index = _at(yaml.safe_load((copy_dir / CONTROLS_FILE).read_text(encoding="utf-8")), "SSH-01")
    message = problems_of(copy_dir, [FakeCheck("sshd_no_root_no_password_login", "FW-01")])
    assert (f"controls.yml: controls[{index}].checks[0]: check 'sshd_no_root_no_password_login' belongs to "
            "control 'FW-01' (its control_id), not 'SSH-01'") in message, message


def test_check_not_listed_by_its_control(copy_dir: Path) -> None:
    index = _at(yaml.safe_load((copy_dir / CONTROLS_FILE).read_text(encoding="utf-8")), "SSH-01")
    message = problems_of(copy_dir, [*ALL_CHECKS, FakeCheck("sshd_extra", "SSH-01")])
    assert f"controls.yml: controls[{index}].checks: does not list check 'sshd_extra'" in message, message


def test_check_of_an_unknown_control(copy_dir: Path) -> None:
    message = problems_of(copy_dir, [*ALL_CHECKS, FakeCheck("orphan", "FW-1")])
    assert "controls.yml: controls: no control 'FW-1' for check 'orphan' (its control_id) (did you mean 'FW-01'" \
        in message, message


def test_duplicate_check_ids_in_the_registry(copy_dir: Path) -> None:
    message = problems_of(copy_dir, [*ALL_CHECKS, *ALL_CHECKS])
    assert "check registry: duplicate check id 'sshd_no_root_no_password_login'" in message, message


def test_every_problem_is_reported_and_the_error_is_a_usage_error(copy_dir: Path) -> None:
    path = copy_dir / CONTROLS_FILE
    controls = yaml.safe_load(path.read_text(encoding="utf-8"))
    controls["controls"][_at(controls, "FW-01")]["clauses"] = ["SYS-FIREWAL"]
    controls["controls"][_at(controls, "HOST-01")]["enforced_by"] = {"role": "hosting", "tags": ["x"]}
    path.write_text(yaml.safe_dump(controls, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(copy_dir)
    assert isinstance(info.value, StockadeError) and info.value.exit_code == 2
    assert len(info.value.problems) == 2, info.value.problems
    assert str(info.value).count("\n") == 1
