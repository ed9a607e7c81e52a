"""Fuzzing the files people hand to `stockade audit`: inventories (and their parameter overrides), waivers and
attestations, as YAML documents of any shape, near-valid documents with one field gone wrong, hostile YAML
and raw bytes, all through the real CLI entry (`stockade.cli.main`, in-process).

The property: exit 0, 1 or 2, with a one-line `stockade: ...` message on exit 2, never a traceback and never
exit 3 (an internal error); each example within a generous time bound (a hang guard, not a benchmark:
bench/hostile_input.py measures) and 200 MB of Python allocations (tracemalloc's peak).
No host is ever contacted: the audit selects one manual control (HOST-01), so there is no check to run.
Derandomized, with a modest number of examples, so CI pays well under a minute. (stockade.engine.audit is
imported here, at collection, so that its progress display binds pytest's session stream, not a capsys one.)
"""

from __future__ import annotations

import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import stockade.engine.audit
from checks.catalogue import load_catalogue
from stockade.cli import main

MEMORY_BOUND = 200 * 1024 * 1024
CONTROL = "HOST-01"  # manual: the audit contacts no host
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
HOSTILE = [BOMB, "[" * 5000 + "]" * 5000, "- " * 300 + "x", "a: &x [1, *x]", "a: 1\x00", "\ufeff\ufffe\udcff",
           "a: !!python/object/apply:os.system ['true']", "{{ lookup('pipe', 'id') }}", "%YAML 9.9\n---\n", "*x"]

CATALOGUE = load_catalogue()
CONTROL_IDS = [control.id for control in CATALOGUE.controls]
PARAMETERS = [(control.id, name) for control in CATALOGUE.controls for name in control.parameters]

FAST = settings(max_examples=40, derandomize=True, database=None, deadline=timedelta(seconds=20),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SLOW = settings(FAST, max_examples=10)  # each inventory that passes our checks costs one ansible-inventory run

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(allow_nan=True),
                    st.text(max_size=30), st.sampled_from(["22", "443", "2027-01-31", "2026-13-01", "*", "", "~",
                                                           "yes", "0x1F", "1e9", "[::1", "127.0.0.1"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.one_of(st.text(max_size=12), scalars),
                                                                       inner, max_size=4)),
                      max_leaves=25)


def dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, default_flow_style=False)


def document(near_valid: st.SearchStrategy[Any], weight: int = 1) -> st.SearchStrategy[bytes]:
    """Any YAML value, a near-valid document (`weight` times as often), a hostile one, or raw bytes."""
    return st.one_of(values.map(dump).map(str.encode), *[near_valid.map(dump).map(str.encode)] * weight,
                     st.sampled_from(HOSTILE).map(lambda text: text.encode("utf-8", "surrogatepass")),
                     st.binary(max_size=2048))


def entries(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping with each field either its plausible value or any value, some fields dropped."""
    return st.fixed_dictionaries({}, optional={key: st.one_of(strategy, values) for key, strategy in fields.items()})


WAIVERS = st.fixed_dictionaries({"waivers": st.lists(entries({
    "id": st.text(min_size=1, max_size=8), "control": st.sampled_from(CONTROL_IDS),
    "check": st.text(max_size=10), "hosts": st.sampled_from(["*", "web-*", "[", ""]),
    "justification": st.text(max_size=20), "approver": st.text(max_size=20),
    "expires": st.sampled_from(["2030-01-01", "2020-02-30", "tomorrow"]) | st.dates().map(str),
}), max_size=4)})
ATTESTATIONS = st.fixed_dictionaries({"attestations": st.lists(entries({
    "control": st.sampled_from([*CONTROL_IDS, "NOPE-1"]), "attested_by": st.text(max_size=20),
    "date": st.dates().map(str), "expires": st.dates().map(str), "evidence": st.text(max_size=20),
    "statement": st.text(max_size=20),
}), max_size=4)})
hosts = st.one_of(*[st.sampled_from(["web-1", "db_2.example.org", "198.18.56.40", "::1", "localhost"])] * 3,
                  st.sampled_from(["[::1", "a b", "-x", "é", "1.2.3.999"]), st.text(min_size=1, max_size=12))
overrides = st.lists(st.tuples(st.sampled_from(PARAMETERS), values), max_size=3).map(
    lambda items: {control: {name: value} for (control, name), value in items})
host_vars = entries({
    "ansible_host": st.sampled_from(["127.0.0.1", "127.0.0.2", "[::1", "http://[::1", "x..y"]),
    "ansible_port": st.sampled_from([22, "22", 0, 70000, "x"]),
    "tls_endpoints": st.lists(entries({"port": st.integers(-1, 70000), "sni": hosts, "address": hosts}), max_size=2),
    "accounts_ops_users": st.lists(entries({"name": hosts, "totp": st.booleans()}), max_size=2),
    "stockade_params": overrides,
})
INVENTORIES = st.fixed_dictionaries({"all": st.fixed_dictionaries({"hosts": st.dictionaries(hosts, host_vars,
                                                                                            min_size=1, max_size=2)})})
INI = st.lists(st.one_of(hosts, st.sampled_from(["[web]", "[web:vars]", "x=1", "[all:children]", "web", "# c"]),
                         st.text(max_size=30)), max_size=6).map(lambda lines: "\n".join(lines).encode())


@pytest.fixture(autouse=True)
def catalogue_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogue is ours, not fuzzed input: load it once (it costs half a second) rather than per example."""
    monkeypatch.setattr(stockade.engine.audit, "load_catalogue", lambda: CATALOGUE)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    tracemalloc.start()
    try:
        code = main(args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err, err
    assert code in (0, 1, 2), (code, err)
    event(f"exit {code}: " + (err.split(":")[-1].strip()[:40] if code == 2 else "ran"))  # --hypothesis-show-statistics
    if code == 2:
        assert err.startswith("stockade: ") and err.strip(), err
    assert peak < MEMORY_BOUND, peak


def audit(tmp_path: Path, *extra: str) -> list[str]:
    return ["audit", *extra, "--controls", CONTROL, "-o", str(tmp_path / "out"), "--format", "json"]


@FAST
@given(content=document(WAIVERS))
def test_any_waivers_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    path = tmp_path / "waivers.yml"
    path.write_bytes(content)
    run(audit(tmp_path, "--target", "local://", "--waivers", str(path)), capsys)


@FAST
@given(content=document(ATTESTATIONS))
def test_any_attestations_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    path = tmp_path / "attestations.yml"
    path.write_bytes(content)
    run(audit(tmp_path, "--target", "local://", "--attestations", str(path)), capsys)


@SLOW
@given(content=document(INVENTORIES, weight=4), group_vars=st.none() | document(st.fixed_dictionaries({
    "stockade_params": overrides}), weight=4))
def test_any_inventory_and_parameter_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes,
                                               group_vars: bytes | None) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_bytes(content)
    (tmp_path / "group_vars").mkdir(exist_ok=True)
    (tmp_path / "group_vars" / "all.yml").write_bytes(group_vars or b"")  # examples share tmp_path
    run(audit(tmp_path, "-i", str(inventory)), capsys)


@SLOW
@given(content=INI | st.binary(max_size=1024))
def test_any_ini_inventory(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    inventory = tmp_path / "hosts"
    inventory.write_bytes(content)
    run(audit(tmp_path, "-i", str(inventory)), capsys)
