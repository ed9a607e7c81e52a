"""The policy's clauses and the controls that serve them: data files, validated when they are loaded.

`policy.yml` quotes every clause of the data-handling policy under a stable id; `controls.yml` says, for each
control, which clauses it serves, how it is enforced (role and tags), how it is proven (checks, an attestation,
or checks still to be built), its severity, framework references and parameters. `load_catalogue()` refuses a
catalogue with any inconsistency, naming the file and the key path of each problem.
"""

from __future__ import annotations

import difflib
import enum
import hashlib
import json
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import jsonschema
import jsonschema.exceptions
import yaml
import yaml.constructor
import yaml.nodes

from stockade.engine.model import Severity
from stockade.errors import StockadeError

CATALOGUE_DIR = Path(__file__).parent
POLICY_FILE = "policy.yml"
CONTROLS_FILE = "controls.yml"
SCHEMA_FILE = "schema.json"

REFERENCE_FRAMEWORKS: Mapping[str, str] = MappingProxyType({
    "cis_debian_12": "CIS Debian Linux 12 Benchmark v1.x",
    "nist_800_53_r5": "NIST SP 800-53 Rev. 5",
    "iso_27001_2022": "ISO/IEC 27001:2022 Annex A",
    "gdpr": "GDPR",
})

_MAX_PROBLEMS = 20


class CatalogueError(StockadeError):
    """The catalogue is inconsistent; every problem names its file and key path, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        shown = list(self.problems[:_MAX_PROBLEMS])
        if len(self.problems) > _MAX_PROBLEMS:
            shown.append(f"... and {len(self.problems) - _MAX_PROBLEMS} more problems")
        super().__init__("\n".join(shown))


class Automation(enum.StrEnum):
    AUTOMATED = "automated"  # proven by checks
    MANUAL = "manual"  # answered by an attestation: who, when, evidence, expiry
    PLANNED = "planned"  # machine-provable, checks not built yet: reported as not assessed, never a pass


class CheckRef(Protocol):
    """All the catalogue needs to know about a check."""

    @property
    def id(self) -> str: ...

    @property
    def control_id(self) -> str: ...


@dataclass(frozen=True)
class Clause:
    id: str
    section: str
    summary: str  # which promise of the quoted text this clause is about
    text: str  # the policy's own words


@dataclass(frozen=True)
class Parameter:
    type: str  # int | str | bool | list
    default: Any  # of that type; a list default is held as a tuple
    description: str


@dataclass(frozen=True)
class Enforcement:
    role: str
    tags: tuple[str, ...]

    @property
    def harden_command(self) -> str:
        return f"stockade harden -i INVENTORY --tags {','.join(self.tags)}"


@dataclass(frozen=True)
class Control:
    id: str
    title: str  # the state that holds when the control is met
    severity: Severity
    rationale: str
    clauses: tuple[str, ...]  # clause ids, as in controls.yml
    automation: Automation
    enforced_by: Enforcement | None
    checks: tuple[str, ...]  # check ids; non-empty exactly when automated
    references: Mapping[str, tuple[str, ...]]  # framework key (REFERENCE_FRAMEWORKS) -> identifiers
    parameters: Mapping[str, Parameter]
    evidence: str | None = None  # manual controls: what an attestation must show

    def parameter_defaults(self) -> dict[str, Any]:
        return {name: parameter.default for name, parameter in self.parameters.items()}


@dataclass(frozen=True)
class Catalogue:
    policy_id: str
    policy_title: str
    clauses: tuple[Clause, ...]
    controls: tuple[Control, ...]
    digest: str  # sha256 of policy.yml's bytes followed by controls.yml's (`cat policy.yml controls.yml | sha256sum`)
    policy_version: str = ""
    _clause_index: dict[str, Clause] = field(init=False, repr=False, compare=False, default_factory=dict)
    _control_index: dict[str, Control] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._clause_index.update((clause.id, clause) for clause in self.clauses)
        self._control_index.update((control.id, control) for control in self.controls)

    def clause(self, clause_id: str) -> Clause:
        try:
            return self._clause_index[clause_id]
        except KeyError:
            raise KeyError(f"unknown clause {clause_id!r}") from None

    def control(self, control_id: str) -> Control:
        try:
            return self._control_index[control_id]
        except KeyError:
            raise KeyError(f"unknown control {control_id!r}") from None

    def controls_for_clause(self, clause_id: str) -> tuple[Control, ...]:
        self.clause(clause_id)
        return tuple(control for control in self.controls if clause_id in control.clauses)

    def control_for_check(self, check_id: str) -> Control:
        for control in self.controls:
            if check_id in control.checks:
                return control
        raise KeyError(f"unknown check {check_id!r}")

    @property
    def check_ids(self) -> tuple[str, ...]:
        return tuple(check_id for control in self.controls for check_id in control.checks)


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
        return path.read_bytes()
    except OSError as exc:
        raise CatalogueError([f"{_label(path)}: cannot read: {exc.strerror or exc}"]) from exc


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (safe_load keeps the last silently)."""

    def construct_mapping(self, node: yaml.nodes.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:  # unhashable: SafeLoader reports it
                continue
            if first is not key_node.start_mark:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (first on line {first.line + 1})", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(path: Path, data: bytes) -> Any:
    try:
        return yaml.load(data, Loader=_UniqueKeyLoader)  # noqa: S506 - a yaml.SafeLoader subclass
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


def key_path(parts: Iterable[str | int]) -> str:
    """`controls[3].clauses[1]` from ("controls", 3, "clauses", 1); "top level" for no parts."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "top level"


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

_PARAMETER_TYPES: Mapping[str, Any] = MappingProxyType({
    "int": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "str": lambda value: isinstance(value, str),
    "bool": lambda value: isinstance(value, bool),
    "list": lambda value: isinstance(value, list),
})


def _suggest(word: str, choices: Iterable[str]) -> str:
    matches = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(match) for match in matches)}?)" if matches else ""


def control_tag(control_id: str) -> str:
    """The Ansible tag that re-applies one control: SSH-01 -> ssh_01."""
    return control_id.lower().replace("-", "_")


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
                if not _PARAMETER_TYPES[spec["type"]](spec["default"]):
                    self._controls((*at, "parameters", name, "default"),
                                   f"default {spec['default']!r} is not of the declared type {spec['type']}")
                default = tuple(spec["default"]) if isinstance(spec["default"], list) else spec["default"]
                parameters[name] = Parameter(type=spec["type"], default=default, description=spec["description"])
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
