"""The catalogue's data model: clauses, controls and the catalogue that indexes them (loaded by `loader`)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from checks.errors import StockadeError
from checks.model import Severity

REFERENCE_FRAMEWORKS: Mapping[str, str] = MappingProxyType({
    "cis_debian_12": "CIS Debian Linux 12 Benchmark v1.x",
    "nist_800_53_r5": "NIST SP 800-53 Rev. 5",
    "iso_27001_2022": "ISO/IEC 27001:2022 Annex A",
    "gdpr": "GDPR",
    "nist_sp_800_52_r2": "NIST SP 800-52 Rev. 2 (TLS implementations), sections",
    "mozilla_server_side_tls": "Mozilla Server Side TLS 5.7, intermediate profile",
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
    # The values it takes (checks/catalogue/param_schema.py): type, min, max, enum, pattern, format, items...
    schema: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


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


def key_path(parts: Iterable[str | int]) -> str:
    """`controls[3].clauses[1]` from ("controls", 3, "clauses", 1); "top level" for no parts."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "top level"


def control_tag(control_id: str) -> str:
    """The Ansible tag that re-applies one control: SSH-01 -> ssh_01."""
    return control_id.lower().replace("-", "_")
