"""Reading Ansible inventories for Stockade, refusing hostile or careless ones before anything is contacted.

1. `preflight(sources)`: every file Ansible would read for the `-i` sources (each inventory file, every file of
   an inventory directory, and the group_vars/ and host_vars/ beside them) is held to the limits of
   checks/limits.py before Ansible's parser runs: not over its size (or the total), text (no NUL byte, UTF-8),
   YAML neither nested too deep nor alias-bombed, a .yml/.yaml/.json inventory and every vars file valid YAML,
   and every host written in an inventory file a valid DNS name or IP address (with its port and ranges). The
   message names the file (and line, group or host).
2. `read_inventory(sources)`: one `ansible-inventory --list` over every source, in order, so later sources
   override earlier ones exactly as ansible-playbook merges several `-i`. Any source Ansible cannot parse fails
   the read (never a smaller inventory).
3. `host_problems` / `audit_variable_problems`: the merged inventory's host names, `ansible_host` and
   `ansible_port`, and the variables our checks and probes read, validated before any connection, each
   message naming the file that sets the value (found by its text) and the key.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import stat
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from checks.limits import MAX_DEPTH, MAX_INVENTORY_BYTES, MAX_INVENTORY_FILE_BYTES, MAX_INVENTORY_FILES
from checks.strict_yaml import InputFileError, YamlShapeError, check_shape, kind, read_text
from stockade.errors import UsageError
from stockade.project import ansible_environment

# Files Ansible skips in an inventory directory (INVENTORY_IGNORE_EXTS) and the extensions of vars files.
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry")
YAML_SUFFIXES = (".yml", ".yaml", ".json")
VARS_SUFFIXES = ("", *YAML_SUFFIXES)
VARS_DIRS = ("group_vars", "host_vars")
_SHOWN = 60
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_RANGE = re.compile(r"\[(?:[0-9]+:[0-9]+|[a-z]:[a-z]|[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]")
_BRACKETED = re.compile(r"\[([^\[\]]+)\](?::([0-9]+))?")
_INI_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$")  # Ansible's ini plugin's
_TEMPLATE = re.compile(r"\{\{|\{%")


@dataclass(frozen=True)
class InventoryFile:
    path: Path
    role: str  # "inventory" (parsed by an inventory plugin), "vars" (group_vars/host_vars), "script"
    text: str = ""


def value_problem(spec: Mapping[str, Any], value: object) -> tuple[str, str] | None:
    from checks.catalogue.param_schema import value_problem as problem_of

    return problem_of(spec, value)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"


# --- names and addresses ---------------------------------------------------------------------------------

def address_problem(value: object) -> str | None:
    """None for an IP address or a valid DNS name (labels of letters, digits, `_` and inner `-`, at most 63
    characters, 253 in all, the last not all digits); else why not."""
    if not isinstance(value, str):
        return f"expected a host name or IP address, got {kind(value)}"
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if (not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels)
            or labels[-1].isdigit()):
        return f"{_shown(value)} is not a valid DNS name or IP address"
    return None


def pattern_problem(pattern: str) -> str | None:
    """A host as an inventory file writes it: a name or address, optionally with `:PORT` (`[IPv6]:PORT`) and
    Ansible's ranges (`web[01:20]`, `[a:f]`)."""
    bracketed = _BRACKETED.fullmatch(pattern)
    if bracketed and ":" in bracketed.group(1) and not _RANGE.fullmatch(pattern.split("]")[0] + "]"):
        host, port = bracketed.group(1), bracketed.group(2)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"{_shown(pattern)} is not a valid IPv6 address in brackets"
        return _port_text_problem(pattern, port)
    try:
        ipaddress.ip_address(pattern)
        return None
    except ValueError:
        pass
    expanded = _RANGE.sub("0", pattern)
    host, port = expanded, None
    if expanded.count(":") == 1:
        host, port = expanded.split(":")
    problem = address_problem(host)
    if problem is not None:
        return f"{_shown(pattern)} is not a valid DNS name or IP address"
    return _port_text_problem(pattern, port)


def _port_text_problem(pattern: str, port: str | None) -> str | None:
    if port is None:
        return None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"{_shown(pattern)}: port {port!r} is not a port number (1-65535)"
    return None


# --- 1. the files, before Ansible parses them ---------------------------------------------------------------

def _refuse(path: Path, problem: str) -> UsageError:
    return UsageError(f"{path}: {problem}")


def _walk(directory: Path, role: str) -> Iterator[tuple[Path, str]]:
    for root, dirs, files in os.walk(directory):
        here = Path(root)
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.endswith(IGNORED_SUFFIXES):
                continue
            path = here / name
            if role == "vars" and path.suffix not in VARS_SUFFIXES:
                continue
            inner = role
            if role == "inventory" and any(part in VARS_DIRS for part in path.relative_to(directory).parts[:-1]):
                inner = "vars"
                if path.suffix not in VARS_SUFFIXES:
                    continue
            yield path, inner


def source_files(sources: Sequence[Path]) -> list[tuple[Path, str]]:
    """The files Ansible reads for these `-i` sources, each with its role ("inventory" or "vars")."""
    found: dict[Path, str] = {}
    for source in sources:
        if not source.exists():
            raise _refuse(source, "inventory not found")
        if source.is_dir():
            entries = list(_walk(source, "inventory"))
        else:
            entries = [(source, "inventory")]
            for name in VARS_DIRS:
                if (source.parent / name).is_dir():
                    entries += [(path, "vars") for path, _ in _walk(source.parent / name, "vars")]
        for path, role in entries:
            found.setdefault(path, role)
            if len(found) > MAX_INVENTORY_FILES:
                raise _refuse(source, f"more than {MAX_INVENTORY_FILES} files to read (refused)")
    return list(found.items())


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that builds Ansible's own tags (!vault, !unsafe...) as null: only the shape is wanted."""


_TolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _yaml_error(path: Path, exc: yaml.YAMLError) -> UsageError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "invalid YAML"
    if not isinstance(exc, YamlShapeError):
        problem = f"invalid YAML: {problem}"
    if mark is None:
        return _refuse(path, problem)
    return _refuse(path, f"line {mark.line + 1}, column {mark.column + 1}: {problem}")


def _json_depth(value: object) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        level = [item for node in level if isinstance(node, dict | list)
                 for item in (node.values() if isinstance(node, dict) else node)]
    return depth - 1


def _check_json(path: Path, text: str) -> bool:
    """True when `text` is JSON Ansible would take (it tries JSON before YAML), not too deep."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _refuse(path, f"nested deeper than {MAX_DEPTH} levels (refused)") from None
    except ValueError:
        return False
    if _json_depth(value) > MAX_DEPTH:
        raise _refuse(path, f"nested deeper than {MAX_DEPTH} levels (refused)")
    return True


def _yaml_hosts(document: Mapping[Any, Any]) -> Iterator[tuple[str, object]]:
    """(group, host key) for every host of an Ansible YAML inventory: {group: {hosts: {...}, children: {...}}}."""
    pending = [(str(group), body) for group, body in document.items()]
    while pending:
        group, body = pending.pop()
        if not isinstance(body, Mapping):
            continue
        hosts = body.get("hosts")
        if isinstance(hosts, Mapping):
            yield from ((group, host) for host in hosts)
        children = body.get("children")
        if isinstance(children, Mapping):
            pending += [(str(name), child) for name, child in children.items()]


def _check_yaml_inventory(path: Path, text: str) -> None:
    try:
        document = yaml.load(text, Loader=_TolerantLoader)  # noqa: S506 - a SafeLoader; shape checked first
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    if document is None:
        return
    if not isinstance(document, Mapping):
        raise _refuse(path, f"expected a mapping of groups at the top level, got {kind(document)}")
    if "plugin" in document:  # an inventory plugin's configuration (auto plugin): no hosts written here
        return
    for group, host in _yaml_hosts(document):
        problem = pattern_problem(host) if isinstance(host, str) else f"expected a host name, got {kind(host)}"
        if problem is not None:
            raise _refuse(path, f"group {group}: host {problem} (refused before any connection)")


def _check_ini_inventory(path: Path, text: str) -> None:
    section = "hosts"  # lines before any [section] are ungrouped hosts
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        header = _INI_SECTION.match(line)
        if header:
            section = header.group(2) or "hosts"
            continue
        if section != "hosts":
            continue
        host = line.split()[0]
        problem = pattern_problem(host)
        if problem is not None:
            raise _refuse(path, f"line {number}: host {problem} (refused before any connection)")


def _check_file(path: Path, role: str) -> InventoryFile:
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(path, "not a regular file")
        if role == "inventory" and mode & 0o111:
            return InventoryFile(path, "script")  # Ansible runs an executable source (script plugin)
        text = read_text(path, MAX_INVENTORY_FILE_BYTES)
    except InputFileError as exc:
        raise _refuse(path, exc.problem) from None
    except OSError as exc:
        raise _refuse(path, f"cannot read: {exc.strerror or exc}") from None
    if text.startswith("$ANSIBLE_VAULT;"):
        return InventoryFile(path, role, text)  # a vault-encrypted file: Ansible decrypts it
    is_yaml = role == "vars" or path.suffix in YAML_SUFFIXES
    if path.suffix == ".json" and _check_json(path, text):
        return InventoryFile(path, role, text)
    try:
        check_shape(text)
    except YamlShapeError as exc:
        raise _yaml_error(path, exc) from None
    except yaml.YAMLError as exc:
        if is_yaml:
            raise _yaml_error(path, exc) from None
    if role == "inventory":
        if is_yaml:
            _check_yaml_inventory(path, text)
        elif path.suffix != ".toml":
            _check_ini_inventory(path, text)
    return InventoryFile(path, role, text)


def preflight(sources: Sequence[Path]) -> list[InventoryFile]:
    """Every file of the sources checked (see the module's docstring); UsageError naming the file otherwise."""
    files = source_files(sources)
    total = 0
    for path, _ in files:
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:
            continue
    if total > MAX_INVENTORY_BYTES:
        raise UsageError(f"{', '.join(map(str, sources))}: the inventory's files total {total} bytes, more than "
                         f"the {MAX_INVENTORY_BYTES // (1024 * 1024)} MiB accepted (refused)")
    return [_check_file(path, role) for path, role in files]


# --- 2. one ansible-inventory over every source -------------------------------------------------------------

def _ansible_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("[ERROR]", "ERROR!"))]
    detail = [line for line in lines if not line.startswith(("[WARNING]", "<<<", "Origin:"))]
    text = errors[-1] if errors else (detail[-1] if detail else "")
    return text[:300]


def read_inventory(sources: Sequence[Path]) -> dict[str, Any]:
    """`ansible-inventory --list -i A -i B ...`: the merged inventory (later sources override)."""
    command = ["ansible-inventory", "--list"]
    for source in sources:
        command += ["-i", str(source)]
    env = {**ansible_environment(), "ANSIBLE_VERBOSITY": "0", "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "True", "ANSIBLE_NOCOLOR": "True"}
    where = ", ".join(map(str, sources))
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=300)
    except FileNotFoundError:
        raise UsageError("ansible-inventory not found: install ansible-core (scripts/setup.sh)") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"{where}: ansible-inventory took more than 300 s (refused)") from None
    if result.returncode != 0:
        detail = _ansible_error(result.stderr)
        raise UsageError(f"{where}: ansible-inventory could not read it (exit {result.returncode})"
                         + (f": {detail}" if detail else ""))
    try:
        data = json.loads(result.stdout)
    except ValueError:
        raise UsageError(f"{where}: ansible-inventory printed no inventory") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: ansible-inventory printed no inventory")
    return data


def inventory_hosts(data: Mapping[str, Any]) -> list[str]:
    names: set[str] = set(data.get("_meta", {}).get("hostvars", {}))
    for group, body in data.items():
        if group != "_meta" and isinstance(body, Mapping):
            names.update(str(host) for host in body.get("hosts") or [])
    return sorted(names)


# --- 3. names, addresses and the variables our checks read ----------------------------------------------------

def origin(files: Sequence[InventoryFile], host: str, key: str | None, sources: Sequence[Path]) -> str:
    """The file that sets `key` for `host` (or, key None, that defines `host`), found by its text: the most
    specific in Ansible's precedence (host_vars/HOST*, then an inventory file naming the host, then group_vars,
    then any inventory file), the last of a kind; else the sources."""
    def holds(file: InventoryFile, *words: str) -> bool:
        return all(word in file.text for word in words)

    inventories = [file for file in files if file.role == "inventory"]
    if key is None:
        candidates = [[file for file in inventories if holds(file, host)][:1]]
    else:
        host_vars = [file for file in files if file.role == "vars" and "host_vars" in file.path.parts]
        group_vars = [file for file in files if file.role == "vars" and file not in host_vars]
        candidates = [[file for file in host_vars if file.path.name.startswith(host) and holds(file, key)],
                      [file for file in inventories if holds(file, host, key)],
                      [file for file in group_vars if holds(file, key)],
                      [file for file in inventories if holds(file, key)]]
    for found in candidates:
        if found:
            return str(found[-1].path)
    return ", ".join(map(str, sources))


def _templated(value: object) -> bool:
    return isinstance(value, str) and bool(_TEMPLATE.search(value))


def _port_problem(value: object) -> str | None:
    number = int(value) if isinstance(value, str) and value.isdigit() else value
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
        return f"expected a port number (1-65535), got {kind(value)} {_shown(value)}"
    return None


def host_problems(name: str, variables: Mapping[str, Any], *, templates_allowed: bool) -> list[tuple[str | None, str]]:
    """(key, problem) for the host's name, ansible_host and ansible_port; key None is the name itself."""
    problems: list[tuple[str | None, str]] = []
    problem = address_problem(name)
    if problem is not None and "ansible_host" not in variables:
        problems.append((None, problem))
    elif problem is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}", name):
        problems.append((None, f"{_shown(name)} is not a valid host name (letters, digits, _ . -)"))
    for key, check in (("ansible_host", address_problem), ("ansible_port", _port_problem)):
        if key not in variables:
            continue
        value = variables[key]
        if _templated(value):
            if not templates_allowed:
                problems.append((key, f"{_shown(value)} is a template: stockade audit connects to inventory "
                                      "values as written (give the value itself)"))
            continue
        problem = check(value)
        if problem is not None:
            problems.append((key, problem))
    return problems


_LIST_OF_LOGINS: Mapping[str, Any] = {"type": "list", "items": {"type": "str", "format": "login_name"}}
_OPERATORS: Mapping[str, Any] = {"type": "list", "items": {"format": "operator"}}


def _tls_endpoints(value: object) -> tuple[str, str] | None:
    if not isinstance(value, list):
        return "", f"expected a list of {{port, sni?, address?}}, got {kind(value)}"
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            return f"[{index}]", f"expected a mapping {{port, sni?, address?}}, got {kind(entry)}"
        unknown = sorted(str(key) for key in entry if key not in ("port", "sni", "address"))
        if unknown:
            return f"[{index}].{unknown[0]}", "unknown key (allowed: address, port, sni)"
        if "port" not in entry:
            return f"[{index}].port", "required key is missing"
        for key, check in (("port", _port_problem), ("sni", address_problem), ("address", address_problem)):
            if key in entry:
                problem = check(entry[key])
                if problem is not None:
                    return f"[{index}].{key}", problem
    return None


def _mapping_list(required: Mapping[str, str], optional: Mapping[str, str]) -> Any:
    types: dict[str, type | tuple[type, ...]] = {"str": str, "list": list, "mode": (str, int)}

    def check(value: object) -> tuple[str, str] | None:
        if not isinstance(value, list):
            return "", f"expected a list of mappings, got {kind(value)}"
        for index, entry in enumerate(value):
            if not isinstance(entry, Mapping):
                return f"[{index}]", f"expected a mapping, got {kind(entry)}"
            for key in required:
                if key not in entry:
                    return f"[{index}].{key}", "required key is missing"
            for key, item in entry.items():
                expected = {**required, **optional}.get(key) if isinstance(key, str) else None
                if expected is None:
                    continue  # the role's own argument spec owns its other options
                if isinstance(item, bool) or not isinstance(item, types[expected]):
                    return f"[{index}].{key}", f"expected {expected}, got {kind(item)} {_shown(item)}"
                if isinstance(item, list) and not all(isinstance(element, str) for element in item):
                    return f"[{index}].{key}", "expected a list of strings"
        return None
    return check


def _seeds(value: object) -> tuple[str, str] | None:
    if not isinstance(value, Mapping):
        return "", f"expected a mapping {{account: seed}}, got {kind(value)}"
    for account, seed in value.items():
        if not isinstance(seed, str) and not (isinstance(seed, Mapping) and "__ansible_vault" in seed):
            return f".{account}", f"expected a seed (a string or a vaulted value), got {kind(seed)}"  # never the value
    return None


def _schema(spec: Mapping[str, Any]) -> Any:
    return lambda value: value_problem(spec, value)


def _string(value: object) -> tuple[str, str] | None:
    return None if isinstance(value, str) else ("", f"expected a string, got {kind(value)}")


AUDIT_VARIABLES: Mapping[str, Any] = {  # inventory variables read by checks/ and the engine, and their shape
    "ansible_user": _schema({"type": "str", "format": "login_name"}),
    "ansible_ssh_private_key_file": _string,
    "ansible_ssh_common_args": _string,
    "tls_endpoints": _tls_endpoints,
    "totp_users": _schema(_LIST_OF_LOGINS),
    "totp_seeds": _seeds,
    "accounts_ops_users": _schema(_OPERATORS),
    "data_access_directories": _mapping_list({"path": "str"}, {"owner": "str", "group": "str", "mode": "mode",
                                                              "acls": "list"}),
    "data_access_groups": _mapping_list({"name": "str"}, {"members": "list"}),
}


def audit_variable_problems(variables: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key path, problem) for the variables an audit reads (AUDIT_VARIABLES); never quotes a seed."""
    problems = []
    for key, check in AUDIT_VARIABLES.items():
        value = variables.get(key)
        if value is None:
            continue
        if _templated(value):
            problems.append((key, "is a template: stockade audit reads inventory values as written "
                                  "(give the value itself, or a YAML anchor)"))
            continue
        found = check(value)
        if found is not None:
            problems.append((f"{key}{found[0]}", found[1]))
    return problems
