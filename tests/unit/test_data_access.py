"""DAC-01 / AUD-01 evaluators over `data_access` facts shaped as seen on Debian 12 lab hosts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from checks import data_access
from checks.model import MissingFact, Status

DECLARED = {"directories": [{"path": "/srv/customer-data", "owner": "printos", "group": "data-access",
                             "mode": "2750"}],
            "groups": {"data-access": ["alice"]}}
DENIED = {"rc": 1, "stderr": "cat: /srv/customer-data/a.csv: Permission denied\n"}
OBSERVED: dict[str, Any] = {
    "container": "systemd-nspawn",
    "directories": [{"path": "/srv/customer-data", "exists": True, "is_dir": True, "owner": "printos",
                     "group": "data-access", "mode": "2750", "acl": [], "entries": 1, "stray": [],
                     "sample_file": "/srv/customer-data/a.csv", "unauthorized_read": DENIED,
                     "unauthorized_list": {"rc": 2, "stderr": "ls: cannot open directory: Permission denied\n"}}],
    "groups": {"data-access": {"exists": True, "members": ["alice"]}},
    "audit_rules_persisted": {"/etc/audit/rules.d/60-stockade-data.rules":
                              "-w /srv/customer-data -p rwxa -k stockade-data\n"},
    "unauthorized_account": {"account": "nobody", "groups": ["nogroup"]},
}
AUD = {"audit_key": "stockade-data"}


def facts(observed: dict[str, Any] | None = OBSERVED, declared: dict[str, Any] = DECLARED) -> dict[str, Any]:
    """The collector's `data_access` fact as the engine hands it over: the controller's request beside it."""
    request = {**declared, "unauthorized_account": "nobody", "audit_key": "stockade-data"}
    return {"data_access": {**(observed or {"directories": []}), "request": request}}


def changed(**updates: Any) -> dict[str, Any]:
    observed = copy.deepcopy(OBSERVED)
    observed["directories"][0].update(updates)
    return observed


def test_hardened_host_passes_and_the_live_audit_parts_are_skipped_in_a_container() -> None:
    assert data_access.evaluate_permissions(facts(), {}).status is Status.PASS
    assert data_access.evaluate_members(facts(), {}).status is Status.PASS
    assert data_access.evaluate_unauthorized_refused(facts(), {}).status is Status.PASS
    assert data_access.evaluate_watch_persisted(facts(), AUD).status is Status.PASS
    for evaluate in (data_access.evaluate_watch_live, data_access.evaluate_read_recorded):
        result = evaluate(facts(), AUD)
        assert result.status is Status.SKIPPED and "not observable in a container" in result.message


def test_nothing_declared_is_skipped_never_passed() -> None:
    for check in data_access.DATA_ACCESS_CHECKS:
        assert check.evaluate(facts(None, {"directories": [], "groups": {}}), AUD).status is Status.SKIPPED


def test_a_directory_opened_to_others_fails_permissions_only() -> None:
    opened = facts(changed(mode="2755"))
    result = data_access.evaluate_permissions(opened, {})
    assert result.status is Status.FAIL and "open to others" in result.message
    assert data_access.evaluate_members(opened, {}).status is Status.PASS


def test_stray_contents_and_acls() -> None:
    stray = [{"path": "/srv/customer-data/b.csv", "owner": "root", "group": "root", "mode": "0644"}]
    assert "b.csv" in data_access.evaluate_permissions(facts(changed(stray=stray)), {}).message
    declared = copy.deepcopy(DECLARED)
    declared["directories"][0]["acls"] = ["g:support:r-x"]
    assert data_access.evaluate_permissions(facts(OBSERVED, declared), {}).status is Status.FAIL
    with_acl = changed(acl=["group:support:r-x"])
    assert data_access.evaluate_permissions(facts(with_acl, declared), {}).status is Status.PASS


def test_fresh_host_fails_every_dac_check() -> None:
    fresh = copy.deepcopy(OBSERVED)
    fresh["directories"] = [{"path": "/srv/customer-data", "exists": False}]
    fresh["groups"] = {"data-access": {"exists": False}}
    fresh["audit_rules_persisted"] = {}
    for evaluate in (data_access.evaluate_permissions, data_access.evaluate_members,
                     data_access.evaluate_unauthorized_refused):
        assert evaluate(facts(fresh), {}).status is Status.FAIL
    assert data_access.evaluate_watch_persisted(facts(fresh), AUD).status is Status.FAIL


def test_an_extra_member_and_a_readable_file_fail() -> None:
    observed = copy.deepcopy(OBSERVED)
    observed["groups"]["data-access"]["members"] = ["alice", "mallory"]
    assert "not authorized: mallory" in data_access.evaluate_members(facts(observed), {}).message
    readable = facts(changed(unauthorized_read={"rc": 0, "stderr": ""}))
    result = data_access.evaluate_unauthorized_refused(readable, {})
    assert result.status is Status.FAIL and "can read /srv/customer-data/a.csv" in result.message


def test_a_removed_watch_fails_persisted_and_on_a_server_the_live_parts_are_checked() -> None:
    observed = copy.deepcopy(OBSERVED)
    observed["audit_rules_persisted"] = {"/etc/audit/rules.d/60-stockade-data.rules": "\n"}
    assert data_access.evaluate_watch_persisted(facts(observed), AUD).status is Status.FAIL
    server = copy.deepcopy(OBSERVED)
    server["container"] = None
    server["audit_rules_live"] = {"rc": 0, "stdout": "-w /srv/customer-data -p rwxa -k stockade-data\n"}
    server["directories"][0]["authorized_read"] = {"read": {"rc": 0, "stderr": ""}, "ausearch_rc": 0,
                                                   "error": None, "records_since_read": 2}
    assert data_access.evaluate_watch_live(facts(server), AUD).status is Status.PASS
    assert data_access.evaluate_read_recorded(facts(server), AUD).status is Status.PASS
    server["directories"][0]["authorized_read"]["records_since_read"] = 0
    assert data_access.evaluate_read_recorded(facts(server), AUD).status is Status.FAIL


def test_a_failed_probe_is_an_error() -> None:
    with pytest.raises(MissingFact):
        data_access.evaluate_permissions({"data_access": {"error": "exit 255: Connection refused"}}, {})
