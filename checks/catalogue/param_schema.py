"""The schema of one catalogue parameter, and the check of a value against it.

Every parameter in controls.yml declares, beside its `type` (int, str, bool, list), what values it takes:

    int    `min` (required) and `max`, or `format: port` (1-65535)
    str    at least one of `enum`, `pattern` (the whole value must match), `format`, `max_length`; `min_length`
    list   `items` (required: the schema of each element, the same keys with `type` optional when `format`
           gives it), `unique`
    any    `enum` (the allowed values)

Formats are the values a regular expression says badly: `port` (an int 1-65535), `port_or_range` (a port, or
"a-b" with a <= b), `address_or_network` (an IP address, a network in CIDR form, or an "a-b" address range),
`listener` ("tcp/22", "udp/68") and `operator` (a login name, or an `accounts_ops_users` entry
{name, ssh_keys, ...}).

`value_problem(spec, value)` is the one check: the catalogue loader runs it on every default, and
`stockade.engine.params.resolve_params` on every inventory override, so a bad value is exit 2 before any host
is contacted rather than an ERROR finding at run time. `spec_problems(spec)` says what is wrong with a schema.
Pure: no stockade imports.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from checks.strict_yaml import kind

TYPES = ("int", "str", "bool", "list")
_KEYS: Mapping[str, tuple[str, ...]] = {
    "int": ("min", "max", "enum", "format"),
    "str": ("enum", "pattern", "format", "min_length", "max_length"),
    "bool": ("enum",),
    "list": ("items", "unique", "enum"),
}
_MAX_SHOWN = 60  # characters of a bad value quoted in a message

LOGIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?")
_OPERATOR_KEYS: Mapping[str, str] = {  # roles/accounts/meta/argument_specs.yml, accounts_ops_users options
    "name": "str", "ssh_keys": "list", "groups": "list", "totp": "bool", "shell": "str", "comment": "str",
    "password_hash": "str",
}


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN - 1] + "…"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # true/false are not numbers here


def _port(value: object) -> str | None:
    if not _is_int(value) or not 1 <= value <= 65535:  # type: ignore[operator]
        return f"expected a port number (1-65535), got {kind(value)} {_shown(value)}"
    return None


def _port_or_range(value: object) -> str | None:
    if _is_int(value):
        return _port(value)
    if isinstance(value, str):
        match = re.fullmatch(r"([0-9]{1,5})-([0-9]{1,5})", value.strip())
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if 1 <= low <= high <= 65535:
                return None
    return f"expected a port number (1-65535) or a range \"a-b\" of them (a <= b), got {kind(value)} {_shown(value)}"


def _address_or_network(value: object) -> str | None:
    problem = f"expected an IP address, a network (CIDR) or an \"a-b\" address range, got {kind(value)} {_shown(value)}"
    if not isinstance(value, str):
        return problem
    try:
        if "-" in value:
            low, high = (ipaddress.ip_address(part.strip()) for part in value.split("-", 1))
            return None if low.version == high.version and low <= high else problem  # type: ignore[operator]
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return problem
    return None


def _listener(value: object) -> str | None:
    if isinstance(value, str):
        match = re.fullmatch(r"(tcp|udp)/([0-9]{1,5})", value)
        if match and 1 <= int(match.group(2)) <= 65535:
            return None
    return f"expected \"tcp/PORT\" or \"udp/PORT\" (PORT 1-65535), got {kind(value)} {_shown(value)}"


def _login_name(value: object) -> str | None:
    if isinstance(value, str) and LOGIN_NAME.fullmatch(value):
        return None
    return f"expected a login name (letters, digits, _ . -; at most 32), got {kind(value)} {_shown(value)}"


def _operator(value: object) -> str | None:
    if isinstance(value, str):
        return _login_name(value)
    if not isinstance(value, Mapping):
        return f"expected a login name or a mapping {{name, ssh_keys, ...}}, got {kind(value)} {_shown(value)}"
    if "name" not in value:
        return "a mapping {name, ssh_keys, ...} needs 'name'"
    for key, item in value.items():
        expected = _OPERATOR_KEYS.get(key) if isinstance(key, str) else None
        if expected is None:
            return f"unknown key {_shown(key)} (allowed: {', '.join(sorted(_OPERATOR_KEYS))})"
        if key == "name":
            problem = _login_name(item)
            if problem:
                return f"name: {problem}"
        elif expected == "list":
            if not isinstance(item, list | tuple) or not all(isinstance(element, str) for element in item):
                return f"{key}: expected a list of strings, got {_shown(item)}"
        elif expected == "bool" and not isinstance(item, bool):
            return f"{key}: expected a boolean, got {kind(item)} {_shown(item)}"
        elif expected == "str" and not isinstance(item, str):
            return f"{key}: expected a string, got {kind(item)}"
    return None


FORMATS: Mapping[str, tuple[str, Callable[[object], str | None]]] = {  # name -> (its type, its check)
    "port": ("int", _port),
    "port_or_range": ("", _port_or_range),  # an int or a string
    "address_or_network": ("str", _address_or_network),
    "listener": ("str", _listener),
    "login_name": ("str", _login_name),
    "operator": ("", _operator),  # a string or a mapping
}


def _type_problem(type_name: str, value: object) -> str | None:
    ok = {"int": _is_int(value), "str": isinstance(value, str), "bool": isinstance(value, bool),
          "list": isinstance(value, list | tuple)}[type_name]
    return None if ok else f"expected {type_name}, got {kind(value)} {_shown(value)}"


def value_problem(spec: Mapping[str, Any], value: object) -> tuple[str, str] | None:
    """Whether `value` is one of the values `spec` allows: None, or (where, problem) where `where` is the path
    inside the value ("" for the value itself, "[2]" for a list's third element)."""
    type_name = spec.get("type")
    format_name = spec.get("format")
    if type_name is not None:
        problem = _type_problem(type_name, value)
        if problem:
            return "", problem
    if format_name is not None:
        problem = FORMATS[format_name][1](value)
        if problem:
            return "", problem
    if "enum" in spec and value not in spec["enum"]:
        return "", f"expected one of {', '.join(repr(choice) for choice in spec['enum'])}, got {_shown(value)}"
    if _is_int(value):
        if "min" in spec and value < spec["min"]:
            return "", f"{value} is less than the minimum {spec['min']}"
        if "max" in spec and value > spec["max"]:
            return "", f"{value} is more than the maximum {spec['max']}"
    if isinstance(value, str):
        if "min_length" in spec and len(value) < spec["min_length"]:
            return "", ("must not be empty" if spec["min_length"] == 1
                        else f"shorter than {spec['min_length']} characters")
        if "max_length" in spec and len(value) > spec["max_length"]:
            return "", f"longer than {spec['max_length']} characters ({len(value)})"
        if "pattern" in spec and not re.fullmatch(spec["pattern"], value):
            return "", f"{_shown(value)} does not match {spec['pattern']!r}"
    if isinstance(value, list | tuple) and "items" in spec:
        seen: list[object] = []
        for index, element in enumerate(value):
            found = value_problem(spec["items"], element)
            if found is not None:
                return f"[{index}]{found[0]}", found[1]
            if spec.get("unique"):
                if element in seen:
                    return f"[{index}]", f"{_shown(element)} is listed twice"
                seen.append(element)
    return None


def spec_problems(spec: Mapping[str, Any], is_items: bool = False) -> list[str]:
    """What is wrong with a parameter's schema (beyond what schema.json says): each problem names its key."""
    problems: list[str] = []
    type_name = spec.get("type")
    format_name = spec.get("format")
    if format_name is not None and format_name not in FORMATS:
        return [f"format: unknown format {format_name!r} (known: {', '.join(sorted(FORMATS))})"]
    format_type = FORMATS[format_name][0] if format_name is not None else ""
    if type_name is None:
        if not is_items or format_name is None:
            return ["type: required (or, for list items, a format)"]
        allowed = {key for keys in _KEYS.values() for key in keys}
    else:
        if format_type and format_type != type_name:
            problems.append(f"format: {format_name} is a format of {format_type}, not of {type_name}")
        allowed = set(_KEYS[type_name])
    for key in spec:
        if key not in allowed and key not in ("type", "default", "description"):
            problems.append(f"{key}: does not apply to {type_name or format_name}")
    if type_name == "int" and "min" not in spec and format_name is None:
        problems.append("min: required for an int (say what the smallest sensible value is)")
    if type_name == "str" and not {"enum", "pattern", "format", "max_length"} & set(spec):
        problems.append("a str needs enum, pattern, format or max_length")
    if type_name == "list":
        if "items" not in spec:
            problems.append("items: required for a list (the schema of each element)")
        else:
            problems += [f"items.{problem}" for problem in spec_problems(spec["items"], is_items=True)]
    if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
        problems.append(f"min {spec['min']} is more than max {spec['max']}")
    if "pattern" in spec:
        try:
            re.compile(spec["pattern"])
        except re.error as exc:
            problems.append(f"pattern: not a regular expression ({exc})")
    return problems



def parameter_problem(parameter: Any, value: object) -> str | None:
    """`value_problem` for a catalogue Parameter (its `schema`, else its bare `type`), as a message suffix that
    follows the parameter's key: "[1]: expected a port number (1-65535), got a string 'x'" or ": 70000 is more
    than the maximum 65535"; None when the value is allowed."""
    schema = getattr(parameter, "schema", None) or {"type": parameter.type}
    found = value_problem(schema, value)
    return None if found is None else f"{found[0]}: {found[1]}"
