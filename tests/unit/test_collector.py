"""The collector bundle runs on the audited host with the standard library only; here it runs locally."""

from __future__ import annotations

import ast
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from checks.collect import bundle, core
from checks.model import request_key
from checks.registry import ALL_CHECKS


def run_bundle(*facts: str) -> dict[str, Any]:
    # -I: isolated, as on a host where nothing of Stockade is installed.
    out = subprocess.run([sys.executable, "-I", "-c", bundle.script().decode(), *facts], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    document = json.loads(out)
    assert document["collector_version"] == 1
    facts_out: dict[str, Any] = document["facts"]
    return facts_out


def test_bundle_reads_files_and_reports_unknown_facts_as_errors() -> None:
    facts = run_bundle("os_release", "no_such_fact")
    assert "ID=" in facts["os_release"]["content"]
    assert facts["no_such_fact"] == {"error": "unknown fact 'no_such_fact'"}


def test_bundle_has_no_internal_imports_and_knows_every_fact_a_check_needs() -> None:
    script = bundle.script().decode()
    assert "from checks" not in script and "import checks" not in script
    needed = {name for check in ALL_CHECKS for name in check.fact_names}
    # Only whether each name is known matters here: a short deadline keeps slow facts (INT-01 hashes every
    # packaged file of this machine) from costing the test their full run.
    known = run_bundle("--deadline=10", *sorted(needed))
    assert not [name for name, value in known.items() if value == {"error": f"unknown fact {name!r}"}]


def test_missing_command_is_an_error_not_empty_output() -> None:
    assert core.run_command(["/nonexistent/sshd", "-T"]) == {"command": ["/nonexistent/sshd", "-T"],
                                                            "error": "command not found"}
    assert core.run_command([sys.executable, "-c", "import sys; sys.exit(3)"])["rc"] == 3


def test_a_fact_that_raises_is_an_error_for_that_fact_only() -> None:
    @core.fact("test_broken_fact")
    def broken() -> None:
        raise OSError("disk on fire")

    try:
        facts = core.collect(["test_broken_fact", "os_release"])
    finally:
        del core.REGISTRY["test_broken_fact"]
    assert facts["test_broken_fact"] == {"error": "OSError: disk on fire"}
    assert "content" in facts["os_release"]


def test_the_exact_remote_command_sees_only_the_fact_names() -> None:
    """What goes over SSH, run here: the encoded script must not show up as a fact name."""
    from stockade.engine.collect import remote_command

    out = subprocess.run(remote_command(["os_release", "nope"], 10), capture_output=True, text=True, check=True,
                         timeout=60).stdout
    assert sorted(json.loads(out)["facts"]) == ["nope", "os_release"]


def test_a_fact_with_arguments_gets_them_and_comes_back_under_its_request_key() -> None:
    @core.fact("test_echo_arguments")
    def echo(paths: list[str], account: str) -> dict[str, Any]:
        return {"paths": paths, "account": account}

    key = request_key("test_echo_arguments", {"paths": ["/srv/a b", "/srv/'c'"], "account": "nobody"})
    try:
        facts = core.collect([key, "test_echo_arguments:{\"wrong\": 1}", "test_echo_arguments:[1]"])
    finally:
        del core.REGISTRY["test_echo_arguments"]
    assert facts[key] == {"paths": ["/srv/a b", "/srv/'c'"], "account": "nobody"}
    assert facts["test_echo_arguments:{\"wrong\": 1}"]["error"].startswith("TypeError")
    assert facts["test_echo_arguments:[1]"] == {"error": "arguments must be a JSON object"}


def test_a_fact_past_its_deadline_is_an_error_of_its_own() -> None:
    @core.fact("test_hangs")
    def hangs() -> None:
        time.sleep(30)

    started = time.monotonic()
    try:
        facts = core.collect(["test_hangs", "os_release"], deadline=1)
    finally:
        del core.REGISTRY["test_hangs"]
    assert time.monotonic() - started < 5
    assert facts["test_hangs"] == {"error": "timed out after 1s"}
    assert "content" in facts["os_release"]


def test_arguments_survive_the_remote_command_quoting() -> None:
    from stockade.engine.collect import remote_command

    key = request_key("data_access", {"directories": [{"path": "/srv/it's here"}], "groups": {},
                                      "unauthorized_account": "nobody", "audit_key": "k"})
    argv = remote_command([key], 10)
    out = subprocess.run(shlex.join(argv), shell=True, capture_output=True, text=True, check=True,
                         timeout=60).stdout
    [(returned, value)] = json.loads(out)["facts"].items()
    assert returned == key and value["directories"] == [{"path": "/srv/it's here", "exists": False,
                                                          "lstat_error": "No such file or directory"}]


def test_area_modules_share_no_top_level_name() -> None:
    """On the host the modules are one namespace: a second definition would silently replace the first."""
    seen: dict[str, str] = {}
    clashes = []
    for module in bundle.area_modules():
        tree = ast.parse((Path(core.__file__).parent / module).read_text())
        for node in tree.body:
            names = [node.name] if isinstance(node, ast.FunctionDef | ast.ClassDef) else [
                target.id for target in getattr(node, "targets", []) if isinstance(target, ast.Name)]
            for name in names:
                if name in seen and seen[name] != module:
                    clashes.append(f"{name}: {seen[name]} and {module}")
                seen.setdefault(name, module)
    assert not clashes
