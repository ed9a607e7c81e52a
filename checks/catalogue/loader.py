"""Loading the catalogue: reading policy.yml and controls.yml, parsing them strictly, checking them against
schema.json, then cross-checking clauses, controls and the check registry (`_Validator`)."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import jsonschema.exceptions
import yaml

from checks.catalogue.model import (
    Automation,
    Catalogue,
    CatalogueError,
    CheckRef,
    Clause,
    Control,
    Enforcement,
    Parameter,
    control_tag,
    key_path,
)
from checks.catalogue.param_schema import spec_problems, value_problem
from checks.limits import MAX_CATALOGUE_FILE_BYTES
from checks.model import Severity
from checks.strict_yaml import InputFileError, UniqueKeyLoader, check_shape, decode_text, read_bytes

CATALOGUE_DIR = Path(__file__).parent  # where policy.yml, controls.yml and schema.json are shipped
POLICY_FILE = "policy.yml"
CONTROLS_FILE = "controls.yml"
SCHEMA_FILE = "schema.json"


def load_catalogue(directory: Path | None = None, checks: Iterable[CheckRef] | None = None) -> Catalogue:
    """Load and validate `policy.yml` and `controls.yml` from `directory` (default: the shipped catalogue).

    `checks` defaults to `checks.registry.ALL_CHECKS`. Raises CatalogueError naming every problem.
    """
    if checks is None:
        from checks.registry import ALL_CHECKS  # imported here so that the registry may import this package

        checks = ALL_CHECKS
    base = CATALOGUE_DIR if directory is None else Path(directory)
    policy_path, controls_path = base / POLICY_FILE, base / CONTROLS_FILE
    policy_bytes, controls_bytes = _read(policy_path), _read(controls_path)
    policy_data = _parse_yaml(policy_path, policy_bytes)
    controls_data = _parse_yaml(controls_path, controls_bytes)
    schema = _schema()
    problems = _schema_problems(policy_path, policy_data, schema, "policyFile")
    problems += _schema_problems(controls_path, controls_data, schema, "controlsFile")
    if problems:
        raise CatalogueError(problems)

    validator = _Validator(_label(policy_path), _label(controls_path))
    clauses = validator.clauses(policy_data["clauses"])
    controls = validator.controls(controls_data["controls"], clauses)
    validator.coverage(clauses, controls)
    validator.check_ownership(controls, list(checks))
    if validator.problems:
        raise CatalogueError(validator.problems)
    return Catalogue(
        policy_id=policy_data["policy"]["id"],
        policy_title=policy_data["policy"]["title"],
        policy_version=str(policy_data["policy"]["version"]),
        clauses=tuple(clauses),
        controls=tuple(controls),
        digest=hashlib.sha256(policy_bytes + controls_bytes).hexdigest(),
    )


# --- reading -----------------------------------------------------------------------------------------------

def _label(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _read(path: Path) -> bytes:
    try:
        return read_bytes(path, MAX_CATALOGUE_FILE_BYTES)
    except InputFileError as exc:
        raise CatalogueError([f"{_label(path)}: {exc.problem}"]) from None
    except OSError as exc:
        raise CatalogueError([f"{_label(path)}: cannot read: {exc.strerror or exc}"]) from exc


def _parse_yaml(path: Path, data: bytes) -> Any:
    try:
        text = decode_text(data)
        check_shape(text)
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a safe loader (SafeConstructor)
    except InputFileError as exc:
        raise CatalogueError([f"{_label(path)}: {exc.problem}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise CatalogueError([f"{_label(path)}: {where}invalid YAML: {what}"]) from exc
    except yaml.YAMLError as exc:
        raise CatalogueError([f"{_label(path)}: invalid YAML: {exc}"]) from exc


def _schema() -> dict[str, Any]:
    path = CATALOGUE_DIR / SCHEMA_FILE
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as exc:
        raise CatalogueError([f"{_label(path)}: unusable schema: {exc}"]) from exc
    return schema


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _schema_problems(path: Path, data: Any, schema: dict[str, Any], definition: str) -> list[str]:
    validator = jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{definition}"})

    def document_order(error: jsonschema.exceptions.ValidationError) -> list[tuple[int, str]]:
        return [(0, f"{part:09d}") if isinstance(part, int) else (1, str(part)) for part in error.absolute_path]

    problems = []
    for error in sorted(validator.iter_errors(data), key=document_order):
        # For oneOf/anyOf failures, name the most relevant reason rather than "not valid under any".
        best = jsonschema.exceptions.best_match([error]) or error
        problems.append(f"{_label(path)}: {key_path(best.absolute_path)}: {_shorten(best.message)}")
    return problems


# --- cross-checks ------------------------------------------------------------------------------------------

def _suggest(word: str, choices: Iterable[str]) -> str:
    matches = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(match) for match in matches)}?)" if matches else ""


class _Validator:
    def __init__(self, policy_label: str, controls_label: str) -> None:
        self.policy_label = policy_label
        self.controls_label = controls_label
        self.problems: list[str] = []
        self._control_positions: dict[str, int] = {}
        self._clause_positions: dict[str, int] = {}

    def _policy(self, path: Sequence[str | int], message: str) -> None:
        self.problems.append(f"{self.policy_label}: {key_path(path)}: {message}")

    def _controls(self, path: Sequence[str | int], message: str) -> None:
        self.problems.append(f"{self.controls_label}: {key_path(path)}: {message}")

    def clauses(self, raw: list[dict[str, Any]]) -> list[Clause]:
        clauses = []
        for index, item in enumerate(raw):
            first = self._clause_positions.setdefault(item["id"], index)
            if first != index:
                self._policy(("clauses", index, "id"), f"duplicate clause id {item['id']!r} (also clauses[{first}])")
                continue
            clauses.append(Clause(id=item["id"], section=item["section"], summary=item["summary"],
                                  text=item["text"]))
        return clauses

    def controls(self, raw: list[dict[str, Any]], clauses: list[Clause]) -> list[Control]:
        clause_ids = [clause.id for clause in clauses]
        controls = []
        for index, item in enumerate(raw):
            at: tuple[str | int, ...] = ("controls", index)
            control_id = item["id"]
            first = self._control_positions.setdefault(control_id, index)
            if first != index:
                self._controls((*at, "id"), f"duplicate control id {control_id!r} (also controls[{first}])")
                continue
            if control_id in self._clause_positions:
                self._controls((*at, "id"), f"{control_id!r} is also a clause id in {self.policy_label}; "
                                            "control and clause ids must differ")
            for position, clause_id in enumerate(item["clauses"]):
                if clause_id not in self._clause_positions:
                    self._controls((*at, "clauses", position),
                                   f"unknown clause {clause_id!r}{_suggest(clause_id, clause_ids)}")
            automation = Automation(item["automation"])
            if automation is Automation.AUTOMATED and not item["checks"]:
                self._controls((*at, "checks"), f"automated control {control_id!r} lists no checks; "
                                                "list the checks that prove it, or mark it planned or manual")
            if automation is not Automation.AUTOMATED and item["checks"]:
                self._controls((*at, "checks"), f"{automation} control {control_id!r} lists checks "
                                                f"{', '.join(item['checks'])}; mark it automated or list none")
            if automation is Automation.MANUAL and not item.get("evidence"):
                self._controls(at, f"manual control {control_id!r} has no 'evidence': say what an attestation "
                                   "must show")
            enforcement = None
            if item["enforced_by"] is not None:
                enforcement = Enforcement(role=item["enforced_by"]["role"], tags=tuple(item["enforced_by"]["tags"]))
                if control_tag(control_id) not in enforcement.tags:
                    self._controls((*at, "enforced_by", "tags"),
                                   f"must include {control_tag(control_id)!r}, the tag that re-applies "
                                   f"{control_id} alone")
            parameters = {}
            for name, spec in item["parameters"].items():
                schema = {key: value for key, value in spec.items() if key not in ("default", "description")}
                broken = spec_problems(schema)
                for problem in broken:
                    self._controls((*at, "parameters", name), problem)
                found = None if broken else value_problem(schema, spec["default"])
                if found is not None:
                    self._controls((*at, "parameters", name, "default"), f"{found[0]}{': ' if found[0] else ''}"
                                   f"default {spec['default']!r} is not allowed by its schema: {found[1]}")
                default = tuple(spec["default"]) if isinstance(spec["default"], list) else spec["default"]
                parameters[name] = Parameter(type=spec["type"], default=default, description=spec["description"],
                                             schema=MappingProxyType(schema))
            controls.append(Control(
                id=control_id,
                title=item["title"],
                severity=Severity(item["severity"]),
                rationale=item["rationale"],
                clauses=tuple(item["clauses"]),
                automation=automation,
                enforced_by=enforcement,
                checks=tuple(item["checks"]),
                references=MappingProxyType({key: tuple(values) for key, values in item["references"].items()}),
                parameters=MappingProxyType(parameters),
                evidence=item.get("evidence"),
            ))
        return controls

    def coverage(self, clauses: list[Clause], controls: list[Control]) -> None:
        served = {clause_id for control in controls for clause_id in control.clauses}
        for clause in clauses:
            if clause.id not in served:
                self._policy(("clauses", self._clause_positions[clause.id], "id"),
                             f"clause {clause.id!r} is served by no control in {self.controls_label}")

    def check_ownership(self, controls: list[Control], checks: list[CheckRef]) -> None:
        by_id: dict[str, CheckRef] = {}
        for check in checks:
            if check.id in by_id:
                self.problems.append(f"check registry: duplicate check id {check.id!r}")
            by_id.setdefault(check.id, check)
        for control in controls:
            at = ("controls", self._control_positions[control.id], "checks")
            for position, check_id in enumerate(control.checks):
                registered = by_id.get(check_id)
                if registered is None:
                    self._controls((*at, position), f"unknown check {check_id!r}{_suggest(check_id, by_id)}")
                elif registered.control_id != control.id:
                    self._controls((*at, position), f"check {check_id!r} belongs to control "
                                                    f"{registered.control_id!r} (its control_id), not {control.id!r}")
        known_controls = {control.id: control for control in controls}
        for check in by_id.values():
            owner = known_controls.get(check.control_id)
            if owner is None:
                self._controls(("controls",), f"no control {check.control_id!r} for check {check.id!r} "
                                              f"(its control_id){_suggest(check.control_id, known_controls)}")
            elif check.id not in owner.checks:
                self._controls(("controls", self._control_positions[owner.id], "checks"),
                               f"does not list check {check.id!r}, whose control_id is {owner.id!r}")
