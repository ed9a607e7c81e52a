"""--limit read as Ansible reads it: several patterns, exclusions, and no silent typo."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from stockade.cli import main
from stockade.engine.targets import select_hosts
from stockade.errors import UsageError

GROUPS = {"web": ["web-1", "web-2"], "db": ["db-1"]}
INVENTORY = Path("hosts.yml")


def match(pattern: str) -> list[str]:
    """testinfra's matching: one glob against group names and host names."""
    hosts = {host for group, members in GROUPS.items() if fnmatch.fnmatch(group, pattern) for host in members}
    hosts |= {host for members in GROUPS.values() for host in members if fnmatch.fnmatch(host, pattern)}
    if pattern == "all":
        hosts = {host for members in GROUPS.values() for host in members}
    return sorted(hosts)


@pytest.mark.parametrize(("limit", "expected"), [
    ("all", ["db-1", "web-1", "web-2"]),
    ("web-1,db-1", ["db-1", "web-1"]),
    ("web:db", ["db-1", "web-1", "web-2"]),
    ("web,!web-2", ["web-1"]),
    ("!db", ["web-1", "web-2"]),
    (" web-2 , ", ["web-2"]),
])
def test_patterns_are_unions_minus_exclusions(limit: str, expected: list[str]) -> None:
    assert select_hosts(match, limit, INVENTORY) == expected


def test_a_pattern_that_matches_nothing_is_named() -> None:
    with pytest.raises(UsageError, match=r"hosts.yml: no host or group matches 'wbe-1' of --limit 'web-2,wbe-1'"):
        select_hosts(match, "web-2,wbe-1", INVENTORY)


def test_an_empty_limit_is_refused() -> None:
    with pytest.raises(UsageError, match="names no host or group"):
        select_hosts(match, " , ", INVENTORY)


def test_a_crash_exits_3_not_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                               tmp_path: Path) -> None:
    """Exit 1 means "findings fail": an unexpected exception must never look like a completed audit."""
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("stockade.engine.audit.plan_audit", explode)
    inventory = tmp_path / "hosts.yml"  # its files are checked, then planning explodes
    inventory.write_text("all:\n  hosts:\n    web-1:\n")
    assert main(["audit", "-i", str(inventory), "-o", "/nonexistent/out"]) == 3
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err
    assert "internal error; nothing was proven (exit 3)" in err
