"""Runs ON the audited host (standard library only): gathers the named facts and prints them as JSON.

The engine sends this file's source in a single SSH command, so a host audit costs one round trip
however many checks there are. Facts are raw observations; all judgement happens on the controller.
"""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COMMAND_TIMEOUT = 30

# Connection spec for sshd's effective settings as a root login would get them (Match blocks applied).
_ROOT_CONNECTION = "user=root,host=localhost,addr=127.0.0.1"

COMMANDS = {
    "sshd_effective": ["/usr/sbin/sshd", "-T"],
    "sshd_effective_root": ["/usr/sbin/sshd", "-T", "-C", _ROOT_CONNECTION],
}

FILES = {
    "os_release": "/etc/os-release",
}


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
    facts = {}
    for name in names:
        if name in COMMANDS:
            facts[name] = run_command(COMMANDS[name])
        elif name in FILES:
            facts[name] = read_file(FILES[name])
        else:
            facts[name] = {"error": f"unknown fact {name!r}"}
    return facts


def main(names: list[str]) -> None:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    print(json.dumps({"collector_version": 1, "collected_at": started, "facts": collect(names)}))


if __name__ == "__main__":
    main(sys.argv[1:])
