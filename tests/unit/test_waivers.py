"""Waivers: strict loading, and how they turn a FAIL into WAIVED (or say that they expired)."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from checks.model import Severity, Status
from stockade.engine.model import Evidence, Finding
from stockade.engine.waivers import Waiver, WaiverError, apply_waivers, load_waivers
from stockade.errors import UsageError

TODAY = date(2026, 11, 29)

VALID = """\
waivers:
  - id: W-001
    control: TLS-01
    hosts: "db*"
    justification: legacy client until Q3
    approver: ciso@example.org
    expires: 2027-01-31
  - id: W-002
    check: ssh_ciphers
    justification: |
      vendor appliance
    approver: "  security board  "
    expires: "2026-10-01"
"""

ENTRY = {
    "id": "W-001",
    "control": "TLS-01",
    "hosts": "db*",
    "justification": "legacy client",
    "approver": "ciso@example.org",
    "expires": "2027-01-31",
}


def write(tmp_path: Path, text: str, name: str = "waivers.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def entry_yaml(**changes: object) -> str:
    """One-waiver file from ENTRY; a value of None removes the key."""
    fields = {**ENTRY, **changes}
    lines = ["waivers:"]
    prefix = "  - "
    for key, value in fields.items():
        if value is None:
            continue
        lines.append(f"{prefix}{key}: {value}")
        prefix = "    "
    return "\n".join(lines) + "\n"


def load_error(path: Path, **kwargs: object) -> str:
    with pytest.raises(WaiverError) as info:
        load_waivers(path, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def waiver(**changes: object) -> Waiver:
    fields: dict[str, object] = {
        "id": "W-001",
        "control_id": "TLS-01",
        "check_id": None,
        "hosts": "*",
        "justification": "legacy client",
        "approver": "ciso@example.org",
        "expires": date(2027, 1, 31),
    }
    fields.update(changes)
    return Waiver(**fields)  # type: ignore[arg-type]


EVIDENCE = Evidence(
    source="sslyze via ssh://stockade@198.18.0.12",
    observed={"tls_versions": ["TLSv1.0", "TLSv1.2"], "nested": {"a": [1, 2]}},
    collected_at="2026-11-29T08:00:00+00:00",
)


def finding(status: Status = Status.FAIL, **changes: object) -> Finding:
    base = Finding(
        host="db01",
        control_id="TLS-01",
        check_id="tls_min_version",
        clause_ids=("DH-5.1",),
        status=status,
        severity=Severity.HIGH,
        message="TLS 1.0 is accepted",
        evidence=EVIDENCE,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- loading -----------------------------------------------------------------------------------------------------


def test_load_valid_file(tmp_path: Path) -> None:
    waivers = load_waivers(write(tmp_path, VALID))
    assert waivers == (
        Waiver("W-001", "TLS-01", None, "db*", "legacy client until Q3", "ciso@example.org", date(2027, 1, 31)),
        Waiver("W-002", None, "ssh_ciphers", "*", "vendor appliance", "security board", date(2026, 10, 1)),
    )


def test_to_dict_uses_file_keys_and_iso_date(tmp_path: Path) -> None:
    first, second = load_waivers(write(tmp_path, VALID))
    assert first.to_dict() == {
        "id": "W-001",
        "control": "TLS-01",
        "check": None,
        "hosts": "db*",
        "justification": "legacy client until Q3",
        "approver": "ciso@example.org",
        "expires": "2027-01-31",
    }
    assert second.to_dict()["check"] == "ssh_ciphers"
    assert second.to_dict()["control"] is None


def test_empty_list_means_no_waivers(tmp_path: Path) -> None:
    assert load_waivers(write(tmp_path, "waivers: []\n")) == ()


def test_known_ids_are_accepted(tmp_path: Path) -> None:
    waivers = load_waivers(write(tmp_path, VALID), known_controls={"TLS-01"}, known_checks={"ssh_ciphers"})
    assert [w.id for w in waivers] == ["W-001", "W-002"]


def test_waiver_error_is_a_usage_error() -> None:
    assert issubclass(WaiverError, UsageError)
    assert WaiverError("x").exit_code == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(entry_yaml(expires="'2026-13-01'"),
                     "waivers.yml: waivers[0].expires: '2026-13-01' is not a date (YYYY-MM-DD)", id="bad-date-quoted"),
        pytest.param(entry_yaml(expires="2026-13-01"),
                     "waivers.yml: waivers[0].expires: '2026-13-01' is not a date (YYYY-MM-DD)", id="bad-date-plain"),
        pytest.param(entry_yaml(expires="2026-1-5"),
                     "waivers[0].expires: '2026-1-5' is not a date (YYYY-MM-DD)", id="date-not-padded"),
        pytest.param(entry_yaml(expires="2026-01-05 10:00:00"),
                     "waivers[0].expires: '2026-01-05 10:00:00' is not a date (YYYY-MM-DD)", id="timestamp"),
        pytest.param(entry_yaml(expires="20260105"),
                     "waivers[0].expires: expected a date (YYYY-MM-DD), got an integer", id="date-int"),
        pytest.param(entry_yaml(expiry="2027-01-01"), "waivers[0].expiry: unknown key", id="unknown-key"),
        pytest.param(entry_yaml(id=None), "waivers[0].id: required key is missing", id="missing-id"),
        pytest.param(entry_yaml(justification=None), "waivers[0].justification: required key is missing",
                     id="missing-justification"),
        pytest.param(entry_yaml(approver=None), "waivers[0].approver: required key is missing", id="missing-approver"),
        pytest.param(entry_yaml(expires=None), "waivers[0].expires: required key is missing", id="missing-expires"),
        pytest.param(entry_yaml(approver="''"), "waivers[0].approver: must not be empty", id="empty-approver"),
        pytest.param(entry_yaml(justification="'   '"), "waivers[0].justification: must not be empty",
                     id="blank-justification"),
        pytest.param(entry_yaml(id="''"), "waivers[0].id: must not be empty", id="empty-id"),
        pytest.param(entry_yaml(hosts="''"), "waivers[0].hosts: must not be empty", id="empty-hosts"),
        pytest.param(entry_yaml(control="''"), "waivers[0].control: must not be empty", id="empty-control"),
        pytest.param(entry_yaml(approver="[a, b]"), "waivers[0].approver: expected a string, got a list",
                     id="list-not-string"),
        pytest.param(entry_yaml(id="1"), "waivers[0].id: expected a string, got an integer", id="int-id"),
        pytest.param(entry_yaml(hosts=""), "waivers[0].hosts: expected a string, got null", id="null-hosts"),
        pytest.param(entry_yaml(check="tls_min_version"),
                     "waivers[0]: exactly one of 'control' or 'check' is required, got both", id="both"),
        pytest.param(entry_yaml(control=None),
                     "waivers[0]: exactly one of 'control' or 'check' is required, got neither", id="neither"),
        pytest.param(entry_yaml() + entry_yaml(expires="2027-02-01").replace("waivers:\n", ""),
                     "waivers[1].id: duplicate id 'W-001' (already used by waivers[0])", id="duplicate-id"),
        pytest.param("waivers:\n  - just a string\n", "waivers[0]: expected a mapping, got a string",
                     id="entry-not-mapping"),
        pytest.param("waivers: {id: W-001}\n", "waivers.yml: waivers: expected a list, got a mapping",
                     id="not-a-list"),
        pytest.param("waivers:\n", "waivers.yml: waivers: expected a list, got null", id="null-list"),
        pytest.param("- id: W-001\n", "expected a mapping with the key 'waivers' at the top level, got a list",
                     id="top-level-list"),
        pytest.param("waiver: []\n", "waivers.yml: waiver: unknown key (expected only 'waivers')",
                     id="unknown-top-key"),
        pytest.param("waivers: []\nextra: 1\n", "waivers.yml: extra: unknown key", id="extra-top-key"),
        pytest.param("{}\n", "waivers.yml: waivers: required key is missing", id="missing-top-key"),
        pytest.param("", "waivers.yml: the file is empty", id="empty-file"),
        pytest.param(entry_yaml() + "    approver: someone\n",
                     "waivers.yml: line 8, column 5: invalid YAML: found duplicate key 'approver'",
                     id="duplicate-key"),
    ],
)
def test_invalid_file_is_refused_naming_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    message = load_error(path)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_error_names_the_failing_entry_index(tmp_path: Path) -> None:
    text = VALID + "  - id: W-003\n    check: x\n    justification: j\n    approver: a\n    expires: 2026-02-30\n"
    assert load_error(write(tmp_path, text)).endswith("waivers[2].expires: '2026-02-30' is not a date (YYYY-MM-DD)")


def test_unknown_control_is_an_error(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, VALID), known_controls={"SSH-01"}, known_checks={"ssh_ciphers"})
    assert message.endswith("waivers.yml: waivers[0].control: unknown control 'TLS-01'")


def test_unknown_check_is_an_error(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, VALID), known_controls={"TLS-01"}, known_checks={"ssh_root_login"})
    assert message.endswith("waivers.yml: waivers[1].check: unknown check 'ssh_ciphers'")


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yml"
    assert load_error(path) == f"{path}: file not found"


def test_directory_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path)
    assert message.startswith(f"{tmp_path}: cannot read")


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yml"
    path.write_bytes(b"waivers: []\n# \xff\n")
    assert load_error(path).startswith(f"{path}: not UTF-8 text")


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "waivers:\n  - id: W-001\n    hosts: [db01\n    approver: x\n")
    message = load_error(path)
    # The parser notices the unclosed flow sequence at the next key, on line 4.
    assert message.startswith(f"{path}: line 4, column ")
    assert "invalid YAML" in message


# --- matching ----------------------------------------------------------------------------------------------------


def test_matches_by_control_and_host_pattern() -> None:
    w = waiver(hosts="db*")
    assert w.matches(finding(host="db01"))
    assert not w.matches(finding(host="web01"))
    assert not w.matches(finding(control_id="SSH-01"))


def test_matches_by_check() -> None:
    w = waiver(control_id=None, check_id="tls_min_version")
    assert w.matches(finding())
    assert not w.matches(finding(check_id="tls_ciphers"))


def test_host_pattern_is_case_sensitive_and_whole_name() -> None:
    assert not waiver(hosts="DB01").matches(finding(host="db01"))
    assert not waiver(hosts="db0").matches(finding(host="db01"))
    assert waiver(hosts="db0?").matches(finding(host="db01"))


# --- applying ----------------------------------------------------------------------------------------------------


def test_waived_fail_shows_waived_with_the_waiver() -> None:
    original = finding()
    [result] = apply_waivers([original], [waiver()], TODAY)
    assert result.status is Status.WAIVED
    assert result.waiver == {
        "id": "W-001",
        "control": "TLS-01",
        "check": None,
        "hosts": "*",
        "justification": "legacy client",
        "approver": "ciso@example.org",
        "expires": "2027-01-31",
        "waived_status": "fail",
        "state": "active",
    }
    assert result.message == "waived (W-001, expires 2027-01-31): TLS 1.0 is accepted"
    assert result.evidence is EVIDENCE
    assert replace(result, status=original.status, message=original.message, waiver=None) == original


def test_waiver_expiring_today_still_applies() -> None:
    [result] = apply_waivers([finding()], [waiver(expires=TODAY)], TODAY)
    assert result.status is Status.WAIVED


def test_expired_waiver_leaves_fail_and_says_so() -> None:
    original = finding()
    older = waiver(id="W-000", expires=date(2026, 6, 30))
    newer = waiver(id="W-001", expires=date(2026, 10, 1))
    [result] = apply_waivers([original], [older, newer], TODAY)
    assert result.status is Status.FAIL
    assert result.waiver == {**newer.to_dict(), "state": "expired"}
    assert result.message == "waiver W-001 expired on 2026-10-01: TLS 1.0 is accepted"
    assert result.evidence is EVIDENCE


def test_waiver_expired_yesterday_no_longer_applies() -> None:
    [result] = apply_waivers([finding()], [waiver(expires=date(2026, 11, 28))], TODAY)
    assert result.status is Status.FAIL
    assert result.waiver is not None
    assert result.waiver["state"] == "expired"


def test_active_waiver_wins_over_expired_one() -> None:
    expired = waiver(id="W-OLD", expires=date(2026, 1, 1))
    active = waiver(id="W-NEW", check_id=None, expires=date(2027, 3, 1))
    [result] = apply_waivers([finding()], [expired, active], TODAY)
    assert result.status is Status.WAIVED
    assert result.waiver is not None
    assert result.waiver["id"] == "W-NEW"


def test_of_several_active_waivers_the_one_expiring_last_is_shown() -> None:
    soon = waiver(id="W-SOON", expires=date(2026, 12, 31))
    later = waiver(id="W-LATER", control_id=None, check_id="tls_min_version", expires=date(2027, 6, 30))
    [result] = apply_waivers([finding()], [soon, later], TODAY)
    assert result.waiver is not None
    assert result.waiver["id"] == "W-LATER"


def test_host_pattern_non_match_leaves_fail_untouched() -> None:
    original = finding(host="web01")
    assert apply_waivers([original], [waiver(hosts="db*")], TODAY) == [original]


def test_other_control_is_not_waived() -> None:
    original = finding(control_id="SSH-01", check_id="ssh_root_login")
    assert apply_waivers([original], [waiver()], TODAY) == [original]


def test_error_is_never_waived() -> None:
    original = finding(Status.ERROR, message="could not run sslyze: timeout", evidence=None)
    assert apply_waivers([original], [waiver()], TODAY) == [original]


def test_error_with_expired_waiver_records_nothing() -> None:
    original = finding(Status.ERROR, message="could not collect facts")
    assert apply_waivers([original], [waiver(expires=date(2020, 1, 1))], TODAY) == [original]


@pytest.mark.parametrize("status", [Status.PASS, Status.SKIPPED, Status.MANUAL])
def test_other_statuses_are_untouched(status: Status) -> None:
    original = finding(status)
    assert apply_waivers([original], [waiver(), waiver(id="W-X", expires=date(2020, 1, 1))], TODAY) == [original]


def test_order_kept_inputs_unchanged_and_applying_twice_changes_nothing() -> None:
    findings = [
        finding(Status.PASS, host="db02"),
        finding(host="db01"),
        finding(host="web01"),
        finding(host="db03", check_id="tls_ciphers", control_id="TLS-02"),
    ]
    snapshot = list(findings)
    waivers = [waiver(hosts="db*"), waiver(id="W-OLD", control_id="TLS-02", expires=date(2026, 1, 1))]
    once = apply_waivers(findings, waivers, TODAY)
    assert findings == snapshot
    assert [(f.host, f.status) for f in once] == [
        ("db02", Status.PASS),
        ("db01", Status.WAIVED),
        ("web01", Status.FAIL),
        ("db03", Status.FAIL),
    ]
    assert once[3].message.startswith("waiver W-OLD expired on 2026-01-01: ")
    assert apply_waivers(once, waivers, TODAY) == once


def test_no_waivers_returns_the_same_findings() -> None:
    findings = [finding(), finding(Status.PASS)]
    assert apply_waivers(findings, [], TODAY) == findings
