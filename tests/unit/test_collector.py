"""The collector runs on the audited host with the standard library only; here it runs locally."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

COLLECTOR = Path(__file__).resolve().parents[2] / "checks" / "collector.py"


def run_collector(*facts: str) -> dict[str, object]:
    # -I: isolated, as on a host where nothing of Stockade is installed.
    out = subprocess.run([sys.executable, "-I", str(COLLECTOR), *facts], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    document = json.loads(out)
    assert document["collector_version"] == 1
    facts_out = document["facts"]
    assert isinstance(facts_out, dict)
    return facts_out


def test_reads_files_and_reports_unknown_facts_as_errors() -> None:
    facts = run_collector("os_release", "no_such_fact")
    assert "ID=" in facts["os_release"]["content"]  # type: ignore[index]
    assert facts["no_such_fact"] == {"error": "unknown fact 'no_such_fact'"}


def test_missing_command_is_an_error_not_empty_output(monkeypatch: object) -> None:
    sys.path.insert(0, str(COLLECTOR.parent))
    try:
        import collector  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    result = collector.run_command(["/nonexistent/sshd", "-T"])
    assert result == {"command": ["/nonexistent/sshd", "-T"], "error": "command not found"}
    failed = collector.run_command([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert failed["rc"] == 3
