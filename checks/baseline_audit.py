"""Audit rules as data: parse rules.d files and `auditctl -l`, and test them against required rules.

Shared by the baseline audit checks (BASE-09) and the data-access audit checks (AUD-01). A file watch
(`-w PATH -p PERMS -k KEY`) and its syscall form (`-a always,exit -F path=PATH -F perm=PERMS -F key=KEY`,
which `auditctl -l` may print) are the same rule here. `auditctl -l` prints rules in the kernel's normalised
form, which the parser brings back to one shape: `-S all` (what a path rule without -S becomes) is no syscall
restriction, the syscall order is free, and a symmetric comparison is the same either way round
(`-C euid!=uid` is printed `-C uid!=euid`).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AuditRule:
    text: str
    action: str = ""  # e.g. "always,exit" (normalised: list and action in that order)
    path: str | None = None  # -w PATH, -F path=, -F dir=
    perms: frozenset[str] = frozenset()  # r w x a
    syscalls: frozenset[str] = frozenset()  # empty: every syscall (no -S, or `-S all`)
    arch: str | None = None
    key: str | None = None
    fields: tuple[str, ...] = field(default_factory=tuple)  # other -F conditions, e.g. "auid>=1000"


def _normalise_action(value: str) -> str:
    parts = value.split(",")
    lists = {"exit", "task", "user", "exclude", "filesystem", "io_uring"}
    return ",".join(sorted(parts, key=lambda part: part in lists))


def parse_rule(line: str) -> AuditRule | None:
    """One rule line; None for comments, blank lines and control lines (-D, -b, -e, -f...)."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    try:
        tokens = shlex.split(text)
    except ValueError:
        return None
    if not tokens or tokens[0] not in ("-w", "-a", "-A"):
        return None
    action, path, arch, key = "", None, None, None
    perms: set[str] = set()
    syscalls: set[str] = set()
    fields: list[str] = []
    position = 0
    while position < len(tokens):
        option = tokens[position]
        value = tokens[position + 1] if position + 1 < len(tokens) else ""
        position += 2
        if option == "-w":
            action, path = "always,exit", value.rstrip("/") or "/"
        elif option in ("-a", "-A"):
            action = _normalise_action(value)
        elif option == "-p":
            perms |= set(value)
        elif option == "-k":
            key = value
        elif option == "-S":
            syscalls |= {name for name in value.split(",") if name and name != "all"}
        elif option == "-C":
            fields.append(normalise_comparison(value))
        elif option == "-F":
            name, operator, operand = _split_field(value)
            if name in ("path", "dir") and operator == "=":
                path = operand.rstrip("/") or "/"
            elif name == "perm" and operator == "=":
                perms |= set(operand)
            elif name == "key" and operator == "=":
                key = operand
            elif name == "arch" and operator == "=":
                arch = operand
            else:
                fields.append(f"{name}{operator}{'unset' if operand in ('-1', '4294967295') else operand}")
        else:
            position -= 1  # an option without a value
    return AuditRule(text=text, action=action, path=path, perms=frozenset(perms), syscalls=frozenset(syscalls),
                     arch=arch, key=key, fields=tuple(fields))


def normalise_comparison(value: str) -> str:
    """One spelling of a -C comparison: `uid!=euid` and `euid!=uid` are the same condition."""
    name, operator, operand = _split_field(value)
    if operator in ("=", "!="):
        name, operand = sorted((name, operand))
    return f"{name}{operator}{operand}"


def _split_field(value: str) -> tuple[str, str, str]:
    for operator in ("!=", ">=", "<=", "&=", "=", ">", "<", "&"):
        name, found, operand = value.partition(operator)
        if found:
            return name, operator, operand
    return value, "", ""


def parse_rules(text: str) -> list[AuditRule]:
    return [rule for rule in (parse_rule(line) for line in text.splitlines()) if rule is not None]


def watches(rules: Iterable[AuditRule], path: str, perms: str, key: str | None = None) -> bool:
    """Some rule audits `perms` (every one of them) on `path`, with `key` if given."""
    wanted = path.rstrip("/") or "/"
    return any(rule.action == "always,exit" and rule.path == wanted and not rule.syscalls
               and set(perms) <= rule.perms and (key is None or rule.key == key) for rule in rules)


def audits_syscalls(rules: Iterable[AuditRule], syscalls: Iterable[str], arch: str = "b64",
                    required_fields: Iterable[str] = ()) -> bool:
    """Rules for `arch` (with the required -F conditions) together audit every one of `syscalls`."""
    needed = set(required_fields)  # a -C comparison in its normalised spelling (normalise_comparison)
    covered: set[str] = set()
    for rule in rules:
        if rule.action == "always,exit" and rule.arch == arch and needed <= set(rule.fields):
            if not rule.syscalls and rule.path is None:
                return True  # a rule for every syscall of this arch
            covered |= rule.syscalls
    return set(syscalls) <= covered


def audits_execution(rules: Iterable[AuditRule], program: str) -> bool:
    """Some rule records every execution of `program` (-F path=PROGRAM -F perm=x)."""
    return any(rule.action == "always,exit" and rule.path == program and "x" in rule.perms and not rule.syscalls
               for rule in rules)
