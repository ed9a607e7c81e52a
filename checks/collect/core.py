"""Runs ON the audited host (standard library only): the fact registry, its helpers, and the entry point.

The engine sends this module and every area module of this package as ONE script in a single SSH command
(`checks.collect.bundle`), so a host audit costs one round trip however many checks there are. Facts are
observations; judgement happens on the controller. A fact never carries a secret (no password hash, no
TOTP seed, no private key): reduce it on the host (e.g. hash scheme ids, not hashes).
"""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COMMAND_TIMEOUT = 30
FACT_DEADLINE_SECONDS = 60.0
WORKERS = 8  # facts at once on the host

FactFunction = Callable[..., Any]  # keyword arguments: those of its request
REGISTRY: dict[str, FactFunction] = {}


def fact(name: str) -> Callable[[FactFunction], FactFunction]:
    """Register a function as the fact `name`; its return value must be JSON-serialisable. A fact with
    arguments takes them as keyword arguments (the JSON object of its request)."""

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


def run_command(argv: list[str], timeout: float = COMMAND_TIMEOUT) -> dict[str, Any]:
    """One command's exit code, stdout and stderr, or {"error": ...} when it is missing or takes longer than
    `timeout` (COMMAND_TIMEOUT unless a fact needs more, within its FACT_DEADLINE_SECONDS)."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return {"command": argv, "error": "command not found"}
    except subprocess.TimeoutExpired:
        return {"command": argv, "error": f"timed out after {timeout:g}s"}
    return {"command": argv, "rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def read_file(path: str) -> dict[str, Any]:
    try:
        return {"path": path, "content": Path(path).read_text(encoding="utf-8", errors="replace")}
    except OSError as exc:
        return {"path": path, "error": str(exc)}


def _run_one(request: str) -> Any:
    """A request is a fact name, or name:{json} for a fact with keyword arguments."""
    name, _, raw = request.partition(":")
    function = REGISTRY.get(name)
    if function is None:
        return {"error": f"unknown fact {name!r}"}
    try:
        arguments = json.loads(raw) if raw else {}
        if not isinstance(arguments, dict):
            return {"error": "arguments must be a JSON object"}
        return function(**arguments)
    except Exception as exc:  # noqa: BLE001 - one broken fact must not cost the others
        return {"error": f"{type(exc).__name__}: {exc}"}


def collect(requests: list[str], deadline: float = FACT_DEADLINE_SECONDS) -> dict[str, Any]:
    """Every requested fact at once (they are mostly commands waiting on I/O), each bounded by `deadline`:
    a fact still running then is an error of its own, and the others are returned."""
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures = {request: pool.submit(_run_one, request) for request in dict.fromkeys(requests)}
    wait(futures.values(), timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)
    return {request: future.result() if future.done() else {"error": f"timed out after {deadline:g}s"}
            for request, future in futures.items()}


def main(requests: list[str], deadline: float = FACT_DEADLINE_SECONDS) -> None:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    facts = collect(requests, deadline)
    sys.stdout.write(json.dumps({"collector_version": 1, "collected_at": started, "facts": facts}) + "\n")
    sys.stdout.flush()
    os._exit(0)  # a fact past its deadline may still hold a thread: do not wait for it


def main_from_argv() -> None:
    """Fact requests are the script's arguments (sys.argv[0] is the script, or `-c`); an optional first
    argument --deadline=SECONDS bounds each fact."""
    arguments = sys.argv[1:]
    deadline = FACT_DEADLINE_SECONDS
    if arguments and arguments[0].startswith("--deadline="):
        deadline = float(arguments.pop(0).split("=", 1)[1])
    main(arguments, deadline)


file_fact("os_release", "/etc/os-release")
