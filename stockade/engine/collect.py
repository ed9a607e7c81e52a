"""One round trip per host: send the collector, get every fact back as JSON."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checks.collect import bundle
from checks.collect.core import FACT_DEADLINE_SECONDS
from stockade.engine.targets import Target

# The remote side enforces its own deadline, so a hung command cannot hold the audit.
DEFAULT_TIMEOUT_SECONDS = 120
# Decodes the script from its first argument and drops it from argv, so the script sees only its requests.
_BOOTSTRAP = ("import base64,sys;s=base64.b64decode(sys.argv.pop(1));"
              "exec(compile(s,'stockade-collector','exec'))")


@dataclass(frozen=True)
class Collection:
    """A host's facts, or why there are none."""

    target: str
    source: str
    collected_at: str
    facts: dict[str, Any] | None  # from the collector on the host; None when it could not run
    error: str | None = None
    probe_results: dict[str, Any] = field(default_factory=dict)  # from the controller (checks/probes)
    unreachable: bool = False  # SSH did not answer: every check is ERROR, probes included


def empty_collection(target: Target) -> Collection:
    """For a run whose checks need nothing from the host itself (probes only)."""
    return Collection(target.name, target.address, datetime.now(UTC).isoformat(timespec="seconds"), {})


def unreachable_collection(target: Target, reason: str) -> Collection:
    """For a host whose SSH did not answer: no facts, no probes, every check ERROR with `reason`."""
    return Collection(target.name, target.address, datetime.now(UTC).isoformat(timespec="seconds"), None, reason,
                      unreachable=True)


def fact_deadline(timeout: int) -> int:
    """Each fact's own deadline on the host, inside the whole collector's `timeout`, so a hung fact costs
    only itself and the others still come back."""
    return max(1, min(int(FACT_DEADLINE_SECONDS), timeout - max(1, timeout // 10)))


def remote_command(requests: Iterable[str], timeout: int) -> list[str]:
    """The collector's argv: fact names, or name:{json} for a fact with arguments (checks/model.request_key)."""
    encoded = base64.b64encode(bundle.script()).decode()
    return ["timeout", str(timeout), "python3", "-c", _BOOTSTRAP, encoded, f"--deadline={fact_deadline(timeout)}",
            *sorted(requests)]


def collect(target: Target, requests: Iterable[str], timeout: int = DEFAULT_TIMEOUT_SECONDS) -> Collection:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    argv = remote_command(requests, timeout)
    try:
        result = target.host.run(" ".join(["%s"] * len(argv)), *argv)
    except RuntimeError as exc:  # testinfra's ssh backend: exit 255, the connection itself failed
        return Collection(target.name, target.address, now, None, f"unreachable: {_last_line(exc)}")
    except Exception as exc:  # noqa: BLE001 - any transport failure is an ERROR verdict, never a crash
        return Collection(target.name, target.address, now, None, f"{type(exc).__name__}: {exc}")
    if result.rc == 124:
        return Collection(target.name, target.address, now, None,
                          f"collector timed out after {timeout}s")
    if result.rc != 0:
        return Collection(target.name, target.address, now, None,
                          f"collector exit {result.rc}: {result.stderr.strip()[-500:]}")
    try:
        document = json.loads(result.stdout)
        facts = document["facts"]
        collected_at = document["collected_at"]
    except (ValueError, KeyError) as exc:
        return Collection(target.name, target.address, now, None, f"collector output unreadable: {exc}")
    return Collection(target.name, target.address, collected_at, facts)


def _last_line(exc: BaseException) -> str:
    result = exc.args[0] if exc.args else exc
    stderr = getattr(result, "stderr", None)
    text = stderr if isinstance(stderr, str) and stderr.strip() else str(result)
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no detail"
