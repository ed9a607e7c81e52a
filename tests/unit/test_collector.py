"""The collector bundle runs on the audited host with the standard library only; here it runs locally."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from checks.collect import bundle, core
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
    needed = {fact for check in ALL_CHECKS for fact in check.facts}
    known = run_bundle(*sorted(needed))
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
