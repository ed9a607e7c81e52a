"""Probes: the controller's view of a host, joined to its facts; fail-closed per probe."""

from __future__ import annotations

from typing import Any

import testinfra

from checks.model import Check, Facts, Outcome, Params, Status
from checks.probes import PROBES, ProbeTarget, probe, run_probe
from stockade.engine.collect import Collection
from stockade.engine.declared import HostPlan
from stockade.engine.evaluate import evaluate
from stockade.engine.targets import Target


def test_probe_results_and_errors_are_per_probe() -> None:
    @probe("test_echo")
    def echo(target: ProbeTarget, params: Params) -> dict[str, Any]:
        return {"address": target.address, "params": dict(params)}

    @probe("test_broken")
    def broken(target: ProbeTarget, params: Params) -> None:
        raise ConnectionRefusedError("port 443")

    target = ProbeTarget("web-1", "198.18.0.11")
    try:
        results = {name: run_probe(target, name, {"x": 1}) for name in ("test_echo", "test_broken", "nope")}
    finally:
        del PROBES["test_echo"], PROBES["test_broken"]
    assert results["test_echo"] == {"address": "198.18.0.11", "params": {"x": 1}}
    assert results["test_broken"] == {"error": "ConnectionRefusedError: port 443"}
    assert results["nope"] == {"error": "unknown probe 'nope'"}


def test_probe_target_follows_the_inventory_variables() -> None:
    variables = {"ansible_host": "198.18.0.12", "ansible_port": 2222, "ansible_user": "stockade",
                 "ansible_ssh_private_key_file": "/lab/id_ed25519",
                 "ansible_ssh_common_args": "-o UserKnownHostsFile=/lab/known_hosts -o StrictHostKeyChecking=yes"}
    host = testinfra.get_host("ssh://stockade@198.18.0.12:2222")
    target = Target("lab-02", host, variables).probe_target()
    assert (target.address, target.ssh_port, target.ssh_user) == ("198.18.0.12", 2222, "stockade")
    command = target.ssh_command("true")
    assert command[:5] == ["ssh", "-p", "2222", "-l", "stockade"]
    assert "UserKnownHostsFile=/lab/known_hosts" in command and "ControlPath=none" in command
    assert command[-2:] == ["198.18.0.12", "true"]


def test_probe_only_check_is_judged_even_when_the_collector_could_not_run() -> None:
    def judge(facts: Facts, params: Params) -> Outcome:
        return Outcome(Status.PASS if facts["ports"]["open"] == [22] else Status.FAIL, "ports", {})

    class Control:
        severity = "high"
        clauses = ("SYS-FIREWALL",)

    check = Check("ports_closed", "FW-01", "only SSH answers", facts=(), evaluate=judge, probes=("ports",))
    collection = Collection("web-1", "ssh://198.18.0.11", "2026-11-29T00:00:00+00:00", None, "unreachable",
                            probe_results={"ports": {"open": [22]}})
    [finding] = evaluate(collection, [check], {"FW-01": Control()}, HostPlan({}, {}, {}))
    assert finding.status is Status.PASS
    assert finding.evidence is not None and "ports (from the controller)" in finding.evidence.source
