# ruff: noqa: E501 - real `nft -j` output is kept verbatim, one object per line
"""FW-01 and SSH-02 evaluators, from `nft -j list ruleset`, `ss -Htlnup` and probe results as lab hosts
(Debian 12 and 13) and the controller produce them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from checks import firewall
from checks.model import MissingFact, Status
from checks.probes.network import port_number

# `nft -j list ruleset` on a Debian 13 lab host after `stockade harden --tags firewall` (nftables 1.1.3);
# the controller 198.18.1.1 is exempt and already has an element in the SSH meter.
TRIXIE_HARDENED = """{"nftables": [
 {"metainfo": {"version": "1.1.3", "release_name": "Commodore Bullmoose #4", "json_schema_version": 1}},
 {"table": {"family": "inet", "name": "stockade", "handle": 11}},
 {"chain": {"family": "inet", "table": "stockade", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
 {"chain": {"family": "inet", "table": "stockade", "name": "ssh_rate_limit", "handle": 2}},
 {"chain": {"family": "inet", "table": "stockade", "name": "output", "handle": 3, "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}},
 {"set": {"family": "inet", "name": "ssh_rate_exempt_v4", "table": "stockade", "type": "ipv4_addr", "handle": 4, "flags": ["interval"], "elem": ["198.18.1.1"]}},
 {"set": {"family": "inet", "name": "ssh_rate_exempt_v6", "table": "stockade", "type": "ipv6_addr", "handle": 5, "flags": ["interval"]}},
 {"set": {"family": "inet", "name": "ssh_meter_v4", "table": "stockade", "type": "ipv4_addr", "handle": 6, "size": 65535, "flags": ["timeout", "dynamic"], "timeout": 300}},
 {"set": {"family": "inet", "name": "ssh_meter_v6", "table": "stockade", "type": "ipv6_addr", "handle": 7, "size": 65535, "flags": ["timeout", "dynamic"], "timeout": 300}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "input", "handle": 8, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iif"}}, "right": "lo"}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "input", "handle": 9, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "invalid"}}, {"drop": null}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "input", "handle": 10, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "input", "handle": 12, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "icmp", "field": "type"}}, "right": {"set": ["destination-unreachable", "echo-request", "time-exceeded", "parameter-problem"]}}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "input", "handle": 14, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "icmpv6", "field": "type"}}, "right": {"set": ["destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem", "echo-request", "mld-listener-query", "nd-router-advert", "nd-neighbor-solicit", "nd-neighbor-advert"]}}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "input", "handle": 15, "comment": "SSH-02", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}}, {"jump": {"target": "ssh_rate_limit"}}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "input", "handle": 16, "comment": "FW-01: sshd: SSH", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "input", "handle": 17, "expr": [{"limit": {"rate": 5, "burst": 10, "per": "minute"}}, {"log": {"prefix": "stockade-fw-drop: ", "level": "info"}}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "ssh_rate_limit", "handle": 18, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@ssh_rate_exempt_v4"}}, {"return": null}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "ssh_rate_limit", "handle": 19, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": "@ssh_rate_exempt_v6"}}, {"return": null}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "ssh_rate_limit", "handle": 20, "comment": "SSH-02", "expr": [{"set": {"op": "update", "elem": {"payload": {"protocol": "ip", "field": "saddr"}}, "set": "@ssh_meter_v4", "stmt": [{"limit": {"rate": 10, "burst": 5, "per": "minute", "inv": true}}]}}, {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}},
 {"rule": {"family": "inet", "table": "stockade", "chain": "ssh_rate_limit", "handle": 21, "comment": "SSH-02", "expr": [{"set": {"op": "update", "elem": {"payload": {"protocol": "ip6", "field": "saddr"}}, "set": "@ssh_meter_v6", "stmt": [{"limit": {"rate": 10, "burst": 5, "per": "minute", "inv": true}}]}}, {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}
]}"""

EMPTY = '{"nftables": [{"metainfo": {"version": "1.1.3", "release_name": "Commodore Bullmoose #4", "json_schema_version": 1}}]}'

# Debian's shipped /etc/nftables.conf, loaded: an inet filter table whose chains accept everything.
DEBIAN_DEFAULT = """{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
 {"table": {"family": "inet", "name": "filter", "handle": 1}},
 {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
 {"chain": {"family": "inet", "table": "filter", "name": "forward", "handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}},
 {"chain": {"family": "inet", "table": "filter", "name": "output", "handle": 3, "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}}]}"""

SS_FRESH = """\
tcp LISTEN 0      128    0.0.0.0:22   0.0.0.0:* users:(("sshd",pid=63,fd=6))
tcp LISTEN 0      128       [::]:22      [::]:* users:(("sshd",pid=63,fd=7))
"""
SS_PLANTED = SS_FRESH + """\
tcp LISTEN 0      5      0.0.0.0:8081 0.0.0.0:* users:(("python3",pid=1225,fd=3))
udp UNCONN 0      0      127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=80,fd=13))
tcp LISTEN 0      4096   [::1]:631    [::]:* users:(("cupsd",pid=90,fd=7))
"""

FW = {"allowed_tcp_ports": [22], "allowed_udp_ports": [], "allowed_listeners": [],
      "probe_closed_tcp_ports": [8081, 3306]}
SSH = {"new_connections_per_minute": 10, "exempt_sources": [], "burst": 5, "port": 22, "probe_burst": True}
CONTROLLER = "198.18.1.1"


def ok(stdout: str, name: str = "nft") -> dict[str, Any]:
    return {"command": [name], "rc": 0, "stdout": stdout, "stderr": ""}


def scan(ports: dict[str, str], declared: tuple[int, ...] = (22,), source: str | None = CONTROLLER) -> dict[str, Any]:
    return {"address": "198.18.1.11", "ports": ports, "declared": list(declared),
            "candidates": sorted(int(p) for p in ports if int(p) not in declared), "source": source,
            "timeout_seconds": 2.0}


def facts(ruleset: str = TRIXIE_HARDENED, **extra: Any) -> dict[str, Any]:
    return {"nft_ruleset": ok(ruleset),
            "fw_port_scan": scan({"22": "open", "3306": "filtered", "8081": "filtered"}), **extra}


def edited(mutate: Any, base: str = TRIXIE_HARDENED) -> str:
    document = json.loads(base)
    mutate(document["nftables"])
    return json.dumps(document)


def rule(chain: str, *expr: dict[str, Any], comment: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"family": "inet", "table": "stockade", "chain": chain, "handle": 99, "expr": list(expr)}
    if comment:
        body["comment"] = comment
    return {"rule": body}


def dport(proto: str, right: Any) -> dict[str, Any]:
    return {"match": {"op": "==", "left": {"payload": {"protocol": proto, "field": "dport"}}, "right": right}}


def saddr(right: Any, proto: str = "ip") -> dict[str, Any]:
    return {"match": {"op": "==", "left": {"payload": {"protocol": proto, "field": "saddr"}}, "right": right}}


ACCEPT = {"accept": None}


def insert_before_log(items: list[dict[str, Any]], new: dict[str, Any]) -> None:
    """Add an input rule where the role's openings go: before the rate-limited log rule."""
    index = next(i for i, item in enumerate(items) if "rule" in item and item["rule"]["chain"] == "input"
                 and any("log" in expr for expr in item["rule"]["expr"]))
    items.insert(index, new)


# --- FW-01: default drop ------------------------------------------------------------------------------------

def test_hardened_ruleset_drops_by_default() -> None:
    outcome = firewall.evaluate_default_drop(facts(), FW)
    assert outcome.status is Status.PASS
    assert outcome.observed["input_chains"] == {"inet stockade input": "drop"}


@pytest.mark.parametrize("ruleset", [EMPTY, DEBIAN_DEFAULT])
def test_no_ruleset_or_accepting_chains_fail(ruleset: str) -> None:
    outcome = firewall.evaluate_default_drop(facts(ruleset), FW)
    assert outcome.status is Status.FAIL
    assert "accepted by default" in outcome.message


def test_missing_or_failed_nft_is_an_error_never_a_pass() -> None:
    with pytest.raises(MissingFact):
        firewall.evaluate_default_drop({"nft_ruleset": {"command": ["nft"], "error": "command not found"}}, FW)
    with pytest.raises(MissingFact, match="exit 1"):
        firewall.evaluate_default_drop({"nft_ruleset": {"rc": 1, "stdout": "", "stderr": "Operation not permitted"}},
                                       FW)
    with pytest.raises(MissingFact, match="unreadable JSON"):
        firewall.evaluate_default_drop({"nft_ruleset": ok("{not json")}, FW)


# --- FW-01: openings ----------------------------------------------------------------------------------------

def test_openings_equal_to_declared_pass() -> None:
    outcome = firewall.evaluate_openings(facts(), FW)
    assert outcome.status is Status.PASS, outcome.message
    assert outcome.observed["open"] == {"tcp/22": ["tcp/22"]}


def test_declared_but_not_open_fails() -> None:
    outcome = firewall.evaluate_openings(facts(), {**FW, "allowed_tcp_ports": [22, 443]})
    assert outcome.status is Status.FAIL
    assert outcome.message == "declared but not open: tcp/443"


def test_undeclared_opening_with_sources_fails_and_names_them() -> None:
    ruleset = edited(lambda items: insert_before_log(items, rule(
        "input", saddr({"set": [{"prefix": {"addr": "10.0.0.0", "len": 8}}]}), dport("tcp", {"set": [8081, {"range": [9000, 9010]}]}),
        ACCEPT)))
    outcome = firewall.evaluate_openings(facts(ruleset), FW)
    assert outcome.status is Status.FAIL
    assert "tcp/8081 from 10.0.0.0/8" in outcome.message and "tcp/9000-9010 from 10.0.0.0/8" in outcome.message
    assert firewall.evaluate_openings(facts(ruleset), {**FW, "allowed_tcp_ports": [22, 8081, "9000-9010"]}).status \
        is Status.PASS


def test_accepting_a_whole_network_is_an_undeclared_opening() -> None:
    ruleset = edited(lambda items: insert_before_log(items, rule("input", saddr("@trusted"), ACCEPT)))
    ruleset = edited(lambda items: items.append({"set": {"family": "inet", "name": "trusted", "table": "stockade",
                                                         "type": "ipv4_addr", "handle": 40, "elem": ["192.0.2.7"]}}),
                     ruleset)
    outcome = firewall.evaluate_openings(facts(ruleset), FW)
    assert outcome.status is Status.FAIL
    assert "any/any from 192.0.2.7" in outcome.message


def test_an_opening_is_effective_only_if_every_drop_chain_accepts_it() -> None:
    second_table = [
        {"chain": {"family": "ip", "table": "other", "name": "in", "handle": 1, "type": "filter", "hook": "input",
                   "prio": 10, "policy": "drop"}},
        {"rule": {"family": "ip", "table": "other", "chain": "in", "handle": 2, "expr": [dport("tcp", 443), ACCEPT]}},
    ]
    ruleset = edited(lambda items: items.extend(second_table))
    # inet stockade accepts only 22, ip other only 443: nothing gets through both.
    outcome = firewall.evaluate_openings(facts(ruleset), FW)
    assert outcome.status is Status.FAIL
    assert outcome.message == "declared but not open: tcp/22"


def test_no_drop_chain_means_every_port_is_open() -> None:
    assert firewall.evaluate_openings(facts(EMPTY), FW).status is Status.FAIL


# --- FW-01: persistence, listeners ------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "status"), [("enabled", Status.PASS), ("disabled", Status.FAIL),
                                                ("enabled-runtime", Status.FAIL), ("masked", Status.FAIL),
                                                ("not-found", Status.FAIL)])
def test_persistence(state: str, status: Status) -> None:
    outcome = firewall.evaluate_persistence({"nftables_service_enabled": ok(state + "\n", "systemctl")}, FW)
    assert outcome.status is status
    assert outcome.observed == {"nftables.service": state}


def test_listeners_declared_pass_and_loopback_is_ignored() -> None:
    outcome = firewall.evaluate_listeners({"listening_sockets": ok(SS_FRESH, "ss")}, FW)
    assert outcome.status is Status.PASS
    planted = firewall.evaluate_listeners({"listening_sockets": ok(SS_PLANTED, "ss")}, FW)
    assert planted.status is Status.FAIL
    assert planted.message == "listening but not declared: tcp/8081 on 0.0.0.0 (python3)"
    assert "udp/53 (systemd-resolve)" in planted.observed["loopback_only"]
    assert "tcp/631 (cupsd)" in planted.observed["loopback_only"]
    assert firewall.evaluate_listeners({"listening_sockets": ok(SS_PLANTED, "ss")},
                                       {**FW, "allowed_listeners": ["tcp/8081"]}).status is Status.PASS


def test_parse_ss_reads_ipv6_and_process_names() -> None:
    [v4, v6] = firewall.parse_ss(SS_FRESH)
    assert (v4.proto, v4.address, v4.port, v4.process) == ("tcp", "0.0.0.0", 22, "sshd")
    assert (v6.address, v6.port, v6.loopback_only) == ("[::]", 22, False)


# --- FW-01: behaviour from the controller -------------------------------------------------------------------

def test_planted_listener_answering_the_controller_fails() -> None:
    outcome = firewall.evaluate_undeclared_closed(
        {"fw_port_scan": scan({"22": "open", "3306": "refused", "8081": "open"})}, FW)
    assert outcome.status is Status.FAIL
    assert outcome.message.endswith("tcp/8081")
    closed = firewall.evaluate_undeclared_closed(facts(), FW)
    assert closed.status is Status.PASS and "(2 filtered)" in closed.message


def test_a_host_that_answers_nothing_is_an_error_never_closed() -> None:
    """A dead host, or an unused address of the lab network: every port filtered, SSH included."""
    silent = {"fw_port_scan": scan({"22": "filtered", "80": "filtered", "3306": "filtered", "8081": "filtered"})}
    with pytest.raises(MissingFact, match="accepted no connection at all"):
        firewall.evaluate_undeclared_closed(silent, FW)


def test_declared_port_dropped_by_the_firewall_fails() -> None:
    bad = facts(fw_port_scan=scan({"22": "filtered", "8081": "filtered"}))
    assert firewall.evaluate_declared_reachable(bad, FW).status is Status.FAIL
    assert firewall.evaluate_declared_reachable(facts(), FW).status is Status.PASS


def test_declared_port_open_only_to_other_sources_is_not_tested_from_here() -> None:
    ruleset = edited(lambda items: insert_before_log(items, rule("input", saddr("10.9.9.0/24"), dport("tcp", 8443),
                                                                  ACCEPT)))
    result = facts(ruleset, fw_port_scan=scan({"22": "open", "8443": "filtered"}, declared=(22, 8443)))
    outcome = firewall.evaluate_declared_reachable(result, {**FW, "allowed_tcp_ports": [22, 8443]})
    assert outcome.status is Status.PASS
    assert outcome.observed["not_tested"] == ["tcp/8443 (open only to 10.9.9.0/24)"]


def test_failed_probe_is_an_error() -> None:
    with pytest.raises(MissingFact):
        firewall.evaluate_undeclared_closed({"fw_port_scan": {"error": "OSError: no route"}}, FW)


def test_port_number() -> None:
    assert [port_number(v) for v in (22, "8000-8010", "x", 0, 70000)] == [22, 8000, None, None, None]


# --- SSH-02 ---------------------------------------------------------------------------------------------------

def test_rate_limit_present_with_the_controller_exempt() -> None:
    outcome = firewall.evaluate_rate_limit(facts(), SSH)
    assert outcome.status is Status.PASS, outcome.message
    assert outcome.observed["limits"][0] == {"chain": "inet stockade ssh_rate_limit", "key": "ip saddr",
                                             "rate": "10/minute", "burst": 5, "new_only": True,
                                             "exempt": [CONTROLLER]}


def test_exemption_of_another_address_must_be_declared() -> None:
    elsewhere = facts(fw_port_scan=scan({"22": "open"}, source="198.18.7.1"))
    outcome = firewall.evaluate_rate_limit(elsewhere, SSH)
    assert outcome.status is Status.FAIL
    assert "exempt but not declared (nor the auditing controller): 198.18.1.1" in outcome.message
    assert firewall.evaluate_rate_limit(elsewhere, {**SSH, "exempt_sources": ["198.18.1.1"]}).status \
        is Status.PASS


def test_declared_exemption_missing_from_the_ruleset_fails() -> None:
    outcome = firewall.evaluate_rate_limit(facts(), {**SSH, "exempt_sources": ["203.0.113.5"]})
    assert outcome.status is Status.FAIL
    assert "declared exempt but throttled: 203.0.113.5" in outcome.message


def test_rate_or_burst_above_the_parameters_fails() -> None:
    outcome = firewall.evaluate_rate_limit(facts(), {**SSH, "new_connections_per_minute": 5, "burst": 2})
    assert outcome.status is Status.FAIL
    assert "ip saddr: 10/minute exceeds 5/minute" in outcome.message and "burst 5 exceeds 2" in outcome.message


def without_rate_limit(items: list[dict[str, Any]]) -> None:
    items[:] = [item for item in items if not ("rule" in item and any("jump" in e for e in item["rule"]["expr"]))]


def test_no_limit_fails() -> None:
    outcome = firewall.evaluate_rate_limit(facts(edited(without_rate_limit)), SSH)
    assert outcome.status is Status.FAIL
    assert outcome.message == "no per-source limit on new connections to tcp/22 before it is accepted"
    assert firewall.evaluate_rate_limit(facts(EMPTY), SSH).status is Status.FAIL


def test_limit_placed_after_the_ssh_accept_does_not_count() -> None:
    def move_jump_last(items: list[dict[str, Any]]) -> None:
        jump = next(item for item in items if "rule" in item and any("jump" in e for e in item["rule"]["expr"]))
        items.remove(jump)
        items.append(jump)

    assert firewall.evaluate_rate_limit(facts(edited(move_jump_last)), SSH).status is Status.FAIL


def test_meter_syntax_is_recognised() -> None:
    meter = rule("input", dport("tcp", 22), {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}},
                 {"meter": {"name": "flood", "key": {"payload": {"protocol": "ip", "field": "saddr"}},
                            "stmt": {"limit": {"rate": 6, "burst": 3, "per": "minute", "inv": True}}}},
                 {"drop": None})

    def use_meter(items: list[dict[str, Any]]) -> None:
        without_rate_limit(items)
        index = next(i for i, item in enumerate(items) if "rule" in item and item["rule"].get("comment") == "FW-01: sshd: SSH")
        items.insert(index, meter)

    outcome = firewall.evaluate_rate_limit(facts(edited(use_meter)), SSH)
    assert outcome.status is Status.PASS, outcome.message
    assert outcome.observed["limits"][0]["rate"] == "6/minute"


def burst(outcomes: list[str], source: str = "198.18.1.12") -> dict[str, Any]:
    return {"address": "198.18.1.11", "port": 22, "source": source, "attempts": len(outcomes), "max_attempts": 7,
            "outcomes": outcomes, "accepted": outcomes.count("open"), "seconds": 0.4}


def test_burst_from_the_exempt_controller_is_skipped_never_passed() -> None:
    outcome = firewall.evaluate_burst(facts(ssh_new_connection_burst=burst(["open"] * 7, CONTROLLER)), SSH)
    assert outcome.status is Status.SKIPPED
    assert "exempt" in outcome.message


def test_burst_cut_off_passes_and_unlimited_burst_fails() -> None:
    limited = firewall.evaluate_burst(facts(ssh_new_connection_burst=burst(["open"] * 5 + ["filtered"])), SSH)
    assert limited.status is Status.PASS
    assert limited.message == "5 new connection(s) from 198.18.1.12 accepted, then filtered"
    unlimited = firewall.evaluate_burst(facts(EMPTY, ssh_new_connection_burst=burst(["open"] * 7, CONTROLLER)), SSH)
    assert unlimited.status is Status.FAIL
    with pytest.raises(MissingFact):
        firewall.evaluate_burst(facts(ssh_new_connection_burst=burst(["filtered"])), SSH)
    assert firewall.evaluate_burst(facts(ssh_new_connection_burst={"skipped": "probe_burst is false"}), SSH).status \
        is Status.SKIPPED


def test_checks_are_registered_for_their_controls() -> None:
    from checks.registry import ALL_CHECKS

    ids = {check.id: check.control_id for check in ALL_CHECKS}
    assert {name: ids.get(name) for name in ("fw_input_default_drop", "ssh_rate_limit_in_ruleset")} == {
        "fw_input_default_drop": "FW-01", "ssh_rate_limit_in_ruleset": "SSH-02"}
    assert copy.deepcopy(FW) == FW
