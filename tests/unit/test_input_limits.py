"""Hostile or careless input is refused early: parameter schemas, file sizes, binary, depth and alias bombs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.catalogue import load_catalogue
from checks.catalogue.param_schema import parameter_problem, spec_problems, value_problem
from checks.strict_yaml import InputFileError, YamlShapeError, check_shape, read_text
from stockade.engine.params import resolve_params
from stockade.engine.waivers import WaiverError, load_waivers
from stockade.errors import UsageError

BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))


@pytest.fixture(scope="module")
def controls() -> dict[str, Any]:
    return {control.id: control for control in load_catalogue().controls}


@pytest.mark.parametrize(("control", "name", "value", "problem"), [
    ("TLS-01", "ports", ["22", "x", {"a": 1}], "[0]: expected a port number (1-65535), got a string '22'"),
    ("TLS-01", "ports", "abc", ": expected list, got a string 'abc'"),
    ("TLS-01", "ports", [70000], "[0]: expected a port number (1-65535), got an integer 70000"),
    ("TLS-01", "ports", [-1], "[0]: expected a port number (1-65535), got an integer -1"),
    ("TLS-01", "ports", [443, 443], "[1]: 443 is listed twice"),
    ("SSH-04", "max_auth_tries", -1, ": -1 is less than the minimum 1"),
    ("TLS-03", "expiry_days", -1, ": -1 is less than the minimum 0"),
    ("TLS-03", "expiry_days", True, ": expected int, got a boolean True"),
    ("WEB-01", "port", 70000, ": expected a port number (1-65535), got an integer 70000"),
    ("WEB-01", "scheme", "ftp", ": expected one of 'https', 'http', got 'ftp'"),
    ("FW-01", "allowed_tcp_ports", ["9000-8000"], "[0]: expected a port number (1-65535) or a range"),
    ("SSH-02", "exempt_sources", ["10.0.0.0/33"], "[0]: expected an IP address, a network (CIDR)"),
    ("ACCT-01", "operators", [{"name": "a b"}], "[0]: name: expected a login name"),
    ("ACCT-01", "operators", [{"ssh_keys": []}], "[0]: a mapping {name, ssh_keys, ...} needs 'name'"),
])
def test_bad_parameter_values_are_named(controls: dict[str, Any], control: str, name: str, value: Any,
                                        problem: str) -> None:
    found = parameter_problem(controls[control].parameters[name], value)
    assert found is not None and found.startswith(problem), found


@pytest.mark.parametrize(("control", "name", "value"), [
    ("TLS-01", "ports", [443, 8443]), ("FW-01", "allowed_tcp_ports", [22, "8000-8010"]),
    ("SSH-02", "exempt_sources", ["198.18.0.1", "10.0.0.0/8", "10.0.0.1-10.0.0.9", "::1"]),
    ("ACCT-01", "operators", ["alice", {"name": "bob", "ssh_keys": ["ssh-ed25519 AAAA"], "totp": True}]),
    ("FW-01", "allowed_listeners", ["udp/68"]), ("PAM-02", "hash_algorithm", "sha512"),
])
def test_good_parameter_values_pass(controls: dict[str, Any], control: str, name: str, value: Any) -> None:
    assert parameter_problem(controls[control].parameters[name], value) is None


def test_every_catalogue_parameter_has_a_schema_its_default_satisfies(controls: dict[str, Any]) -> None:
    for control in controls.values():
        for name, parameter in control.parameters.items():
            assert spec_problems(parameter.schema) == [], (control.id, name)
            assert value_problem(parameter.schema, parameter.default) is None, (control.id, name)


def test_an_inventory_override_is_refused_naming_inventory_host_control_and_key(controls: dict[str, Any]) -> None:
    variables = {"stockade_params": {"TLS-01": {"ports": [443, "x"]}}}
    with pytest.raises(UsageError) as error:
        resolve_params(controls, variables, "inv.yml: host web-1")
    assert str(error.value) == ("inv.yml: host web-1: stockade_params.TLS-01.ports[1]: expected a port number "
                                "(1-65535), got a string 'x'")


@pytest.mark.parametrize(("spec", "problem"), [
    ({"type": "int"}, "min: required"), ({"type": "list"}, "items: required"),
    ({"type": "str"}, "a str needs enum"), ({"type": "int", "min": 3, "max": 1}, "min 3 is more than max 1"),
    ({"type": "str", "format": "port"}, "format: port is a format of int"),
    ({"type": "bool", "min": 1}, "min: does not apply to bool"),
])
def test_incomplete_schemas_are_refused(spec: dict[str, Any], problem: str) -> None:
    assert any(problem in found for found in spec_problems(spec)), spec_problems(spec)


def test_an_alias_bomb_is_refused_in_milliseconds() -> None:
    started = time.monotonic()
    with pytest.raises(YamlShapeError, match="aliases expand to more than"):
        check_shape(BOMB)
    assert time.monotonic() - started < 1  # a generous bound; bench/ measures


@pytest.mark.parametrize(("text", "problem"), [
    ("[" * 200 + "]" * 200, "nested deeper than"), ("- " * 150 + "x", "nested deeper than"),
    ("a: &x [1, *x]", "recursive alias"),
])
def test_deep_and_recursive_documents_are_refused(text: str, problem: str) -> None:
    with pytest.raises(YamlShapeError, match=problem):
        check_shape(text)


def test_a_document_nested_a_hundred_thousand_deep_is_a_yaml_error_not_a_crash() -> None:
    with pytest.raises(yaml.YAMLError, match="nest"):  # libyaml's own limit answers first at this depth
        check_shape("[" * 100000 + "]" * 100000)


def test_ordinary_anchors_pass() -> None:
    check_shape("ops: &ops [{name: alice}]\nx: {operators: *ops}\ny: {operators: *ops}\n")


def test_read_text_refuses_big_binary_and_non_utf8_files(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 101)
    with pytest.raises(InputFileError, match="larger than 100 bytes"):
        read_text(path, 100)
    path.write_bytes(b"waivers: []\x00")
    with pytest.raises(InputFileError, match="NUL byte at offset 11"):
        read_text(path, 100)
    path.write_bytes(b"waivers: \xff")
    with pytest.raises(InputFileError, match="not UTF-8 text"):
        read_text(path, 100)


@pytest.mark.parametrize(("content", "problem"), [
    (b"waivers:\n" + b"  - id: x\n" * 200000, "larger than 1 MiB"),
    (bytes(range(256)) * 4, "binary content"),
    (("waivers: " + "[" * 500 + "]" * 500).encode(), "nested deeper than 100 levels"),
    (("waivers:\n" + "".join("  " * i + "- \n" for i in range(1, 300))).encode(), "nested deeper than 100 levels"),
    (BOMB.replace("a:", "waivers: [] \nx:", 1).encode(), "aliases expand"),
])
def test_hostile_waiver_files_are_usage_errors(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "waivers.yml"
    path.write_bytes(content)
    with pytest.raises(WaiverError, match=problem):
        load_waivers(path)


def test_strict_loaders_still_load(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yml"
    path.write_text("waivers:\n  - {id: W1, control: SSH-01, justification: j, approver: a, expires: '2030-01-01'}\n")
    assert load_waivers(path)[0].id == "W1"
    assert yaml.safe_load("a: 1") == {"a": 1}
