"""`stockade audit`: validate every input, collect from every host concurrently, evaluate, write reports."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from checks.catalogue import Catalogue, Control, load_catalogue
from checks.model import Check, Status
from checks.probes import COLLECTOR_MEETS, PROBES, run_probe
from checks.registry import ALL_CHECKS
from stockade import __version__
from stockade.engine.attestations import Attestation, attestation_findings, load_attestations
from stockade.engine.collect import DEFAULT_TIMEOUT_SECONDS, collect, empty_collection, unreachable_collection
from stockade.engine.declared import HostPlan, host_plan
from stockade.engine.evaluate import evaluate
from stockade.engine.fleet_tls import PROBE as fleet_tls_probe
from stockade.engine.fleet_tls import FleetTls
from stockade.engine.model import Finding, RunMetadata, RunResult
from stockade.engine.params import resolve_params
from stockade.engine.reachability import DEFAULT_CONNECT_TIMEOUT_SECONDS, ssh_silence
from stockade.engine.targets import Target
from stockade.engine.verdicts import clause_results
from stockade.engine.waivers import Waiver, apply_waivers, load_waivers
from stockade.errors import EXIT_ERROR, UsageError
from stockade.progress import Progress

# Hosts audited at once (--concurrency). A host's work is mostly waiting on the network: its collector and
# probes each hold a thread, not a core (so at most --concurrency x (1 + probes) threads, and the fleet's TLS
# scan at most --concurrency servers at once). 64 keeps a 50-host fleet in one wave, so every host's TLS
# endpoints join the fleet's first scan. A dead host holds its worker for the connect timeout only.
DEFAULT_CONCURRENCY = 64

# Documented in README.md.
EXIT_OK = 0
EXIT_FAIL = 1  # EXIT_ERROR (3) lives in stockade.errors: the CLI uses it for a crash too


@dataclass(frozen=True)
class AuditPlan:
    """Everything an audit needs, validated before any host is contacted."""

    catalogue: Catalogue
    controls: tuple[Control, ...]  # selected
    checks: tuple[Check, ...]  # proving the selected automated controls
    selected: tuple[str, ...] | None
    waivers: tuple[Waiver, ...] = ()
    attestations: tuple[Attestation, ...] = ()
    waivers_file: Path | None = None
    attestations_file: Path | None = None
    timeout: int = DEFAULT_TIMEOUT_SECONDS  # per host, enforced on the host
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS  # until a silent host's checks are all ERROR
    concurrency: int = DEFAULT_CONCURRENCY  # hosts at once


def plan_audit(control_ids: Sequence[str] | None = None, waivers_file: Path | None = None,
               attestations_file: Path | None = None, checks: Sequence[Check] = ALL_CHECKS,
               timeout: int = DEFAULT_TIMEOUT_SECONDS,
               connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
               concurrency: int = DEFAULT_CONCURRENCY) -> AuditPlan:
    if timeout < 1:
        raise UsageError(f"--timeout must be at least 1 second, got {timeout}")
    if not 0 < connect_timeout <= timeout:
        raise UsageError(f"--connect-timeout must be more than 0 and at most --timeout ({timeout}), "
                         f"got {connect_timeout:g}")
    if not 1 <= concurrency <= 1024:
        raise UsageError(f"--concurrency must be from 1 to 1024, got {concurrency}")
    catalogue = load_catalogue()
    known = {control.id for control in catalogue.controls}
    if control_ids is not None:
        unknown = sorted(set(control_ids) - known)
        if unknown:
            raise UsageError(f"--controls: unknown control(s) {', '.join(unknown)} (see `stockade controls`)")
    controls = tuple(c for c in catalogue.controls if control_ids is None or c.id in control_ids)
    selected_ids = {control.id for control in controls}
    manual_ids = {control.id for control in catalogue.controls if control.automation == "manual"}
    return AuditPlan(
        catalogue=catalogue, controls=controls,
        checks=tuple(check for check in checks if check.control_id in selected_ids),
        selected=tuple(sorted(selected_ids)) if control_ids is not None else None,
        waivers=load_waivers(waivers_file, known, {check.id for check in checks}) if waivers_file else (),
        attestations=load_attestations(attestations_file, manual_ids) if attestations_file else (),
        waivers_file=waivers_file, attestations_file=attestations_file, timeout=timeout,
        connect_timeout=connect_timeout, concurrency=concurrency)


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def host_plan_for(plan: AuditPlan, target: Target, origin: str) -> HostPlan:
    """Parameters validated against every control (an inventory tuned for all of them works with --controls
    too), then exactly what each selected check and probe declared."""
    where = f"{origin}: host {target.name}"
    controls = {control.id: control for control in plan.catalogue.controls}
    return host_plan(plan.checks, resolve_params(controls, target.variables, where), target.variables, where)


COLLECTOR = "(collector)"  # the collector's session, among a probe's predecessors


def _prerequisites(host: HostPlan) -> dict[str, tuple[str, ...]]:
    """Each probe's declared predecessors: a probe that trips a limiter waits for the collector (if the
    collector's session meets that limiter) and for every probe that meets it; the others wait for nothing."""
    names = sorted(host.probe_params)
    waits: dict[str, tuple[str, ...]] = {}
    for name in names:
        trips = PROBES[name].trips if name in PROBES else None
        if trips is None:
            waits[name] = ()
            continue
        meeting = [other for other in names if other in PROBES and trips in PROBES[other].meets]
        waits[name] = (*((COLLECTOR,) if trips in COLLECTOR_MEETS and host.fact_keys else ()), *meeting)
    return waits


def audit_target(plan: AuditPlan, target: Target, host: HostPlan, fleet_tls: FleetTls | None = None,
                 ) -> list[Finding]:
    """The collector's one SSH session and every probe start together; a probe that trips a limiter starts
    when the connections that would meet it are done (declared: Probe.trips and Probe.meets). With
    `fleet_tls`, the host's TLS endpoints are scanned in the fleet's one Scanner instead of by its own probe."""
    if not plan.checks:
        return []
    controls = {control.id: control for control in plan.controls}
    silent = ssh_silence(target, plan.connect_timeout)
    shared_tls = fleet_tls is not None and target.name in fleet_tls
    if silent:
        if fleet_tls is not None and shared_tls:
            fleet_tls.withdraw(target.name)
        return evaluate(unreachable_collection(target, silent), plan.checks, controls, host)
    probe_target = target.probe_target()
    waits = _prerequisites(host)
    with ThreadPoolExecutor(max_workers=1 + max(len(waits), 1)) as pool:
        running: dict[str, Future[Any]] = {}
        if host.fact_keys:
            running[COLLECTOR] = pool.submit(collect, target, host.fact_keys, plan.timeout)
        if fleet_tls is not None and shared_tls:
            running[fleet_tls_probe] = fleet_tls.ready(target.name)

        def after(name: str) -> Any:
            wait([running[before] for before in waits[name]])  # done, whatever their outcome
            return run_probe(probe_target, name, host.probe_params[name])

        # Those without predecessors first, so a waiting probe never waits on one not yet submitted.
        for name in sorted(waits, key=lambda name: bool(waits[name])):
            if name not in running:
                running[name] = pool.submit(after, name)
        results = {name: future.result() for name, future in running.items() if name != COLLECTOR}
        collection = running[COLLECTOR].result() if COLLECTOR in running else empty_collection(target)
    return evaluate(replace(collection, probe_results=results), plan.checks, controls, host)


def fleet_tls_for(plan: AuditPlan, targets: Sequence[Target], hosts: dict[str, HostPlan]) -> FleetTls | None:
    """One TLS scan for the fleet: every host whose plan has the tls_scan probe."""
    wanted = {target.name: (target.probe_target(), hosts[target.name].probe_params[fleet_tls_probe])
              for target in targets if fleet_tls_probe in hosts[target.name].probe_params}
    if not wanted:
        return None
    return FleetTls(wanted, max_concurrent_servers=plan.concurrency)


def run_audit(plan: AuditPlan, targets: Sequence[Target], origin: str, today: date | None = None) -> RunResult:
    started = datetime.now(UTC)
    today = today or started.date()
    hosts = {target.name: host_plan_for(plan, target, origin) for target in targets}  # bad input first
    progress = Progress(len(targets), "audited")

    fleet_tls = fleet_tls_for(plan, targets, hosts) if len(targets) > 1 else None

    def one(target: Target) -> list[Finding]:
        findings = audit_target(plan, target, hosts[target.name], fleet_tls)
        progress.advance(target.name)
        return findings

    with ThreadPoolExecutor(max_workers=max(1, min(plan.concurrency, len(targets)))) as pool:
        per_host = list(pool.map(one, targets))
    progress.close()
    manual = [control for control in plan.controls if control.automation == "manual"]
    findings = apply_waivers([f for host in per_host for f in host], plan.waivers, today)
    findings += attestation_findings(manual, plan.attestations, today)
    metadata = RunMetadata(
        run_id=new_run_id(started), started_at=started.isoformat(timespec="seconds"),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"), tool_version=__version__,
        inventory=origin, hosts=tuple(target.name for target in targets),
        policy_id=plan.catalogue.policy_id, catalogue_digest=plan.catalogue.digest,
        selected_controls=plan.selected,
        waivers_file=str(plan.waivers_file) if plan.waivers_file else None,
        attestations_file=str(plan.attestations_file) if plan.attestations_file else None)
    clauses = clause_results(plan.catalogue.clauses, plan.catalogue.controls, findings, plan.selected)
    return RunResult(metadata, tuple(findings), clauses)


def exit_code(result: RunResult) -> int:
    statuses = {finding.status for finding in result.findings}
    if Status.ERROR in statuses:
        return EXIT_ERROR
    if Status.FAIL in statuses:
        return EXIT_FAIL
    return EXIT_OK


def print_summary(result: RunResult, written: Sequence[Path]) -> None:
    for finding in result.findings:
        if finding.status is not Status.MANUAL:
            print(f"{finding.status.value.upper():7} {finding.host:20} {finding.control_id:8} {finding.message}")
    counts = ", ".join(f"{count} {status}" for status, count in result.counts().items() if count)
    print(f"{len(result.metadata.hosts)} host(s): {counts}", file=sys.stderr)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
