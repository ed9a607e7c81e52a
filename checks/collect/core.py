"""Runs ON the audited host (standard library only): the fact registry, its helpers, and the entry point.

The engine sends this module and every area module of this package as ONE script in a single SSH command
(`checks.collect.bundle`), so a host audit costs one round trip however many checks there are. Facts are
observations; judgement happens on the controller. A fact never carries a secret (no password hash, no
TOTP seed, no private key): reduce it on the host (e.g. hash scheme ids, not hashes).
"""

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COMMAND_TIMEOUT = 30

FactFunction = Callable[[], Any]
REGISTRY: dict[str, FactFunction] = {}


def fact(name: str) -> Callable[[FactFunction], FactFunction]:
    """Register a function as the fact `name`; its return value must be JSON-serialisable."""

    def register(function: FactFunction) -> FactFunction:
        if name in REGISTRY:
            raise ValueError(f"fact {name!r} registered twice")
        REGISTRY[name] = function
        return function

    return register


def command_fact(name: str, argv: list[str]) -> None:
    """A fact that is one command's exit code, stdout and stderr."""
    REGISTRY[name] = lambda: run_command(argv)


def file_fact(name: str, path: str) -> None:
    REGISTRY[name] = lambda: read_file(path)


def run_command(argv: list[str]) -> dict[str, Any]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
    except FileNotFoundError:
        return {"command": argv, "error": "command not found"}
    except subprocess.TimeoutExpired:
        return {"command": argv, "error": f"timed out after {COMMAND_TIMEOUT}s"}
    return {"command": argv, "rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def read_file(path: str) -> dict[str, Any]:
    try:
        return {"path": path, "content": Path(path).read_text(encoding="utf-8", errors="replace")}
    except OSError as exc:
        return {"path": path, "error": str(exc)}


def collect(names: list[str]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for name in names:
        function = REGISTRY.get(name)
        if function is None:
            facts[name] = {"error": f"unknown fact {name!r}"}
            continue
        try:
            facts[name] = function()
        except Exception as exc:  # noqa: BLE001 - one broken fact must not cost the others
            facts[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return facts


def main(names: list[str]) -> None:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    print(json.dumps({"collector_version": 1, "collected_at": started, "facts": collect(names)}))


def main_from_argv() -> None:
    """Fact names are the script's arguments (sys.argv[0] is the script, or `-c`)."""
    main(sys.argv[1:])


file_fact("os_release", "/etc/os-release")
