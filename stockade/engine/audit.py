"""`stockade audit`: validate every input, collect from every host concurrently, evaluate, write reports."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from checks.catalogue import Catalogue, Control, load_catalogue
from checks.model import Check
from checks.probes import run_probes
from checks.registry import ALL_CHECKS
from stockade import __version__
from stockade.engine.attestations import Attestation, attestation_findings, load_attestations
from stockade.engine.collect import DEFAULT_TIMEOUT_SECONDS, collect, empty_collection
from stockade.engine.evaluate import evaluate
from stockade.engine.model import Finding, RunMetadata, RunResult, Status
from stockade.engine.params import resolve_params
from stockade.engine.targets import Target
from stockade.engine.verdicts import clause_results
from stockade.engine.waivers import Waiver, apply_waivers, load_waivers
from stockade.errors import EXIT_ERROR, UsageError
from stockade.progress import Progress

# Bounded: a slow or dead host holds one worker until its SSH timeouts expire, never the others.
MAX_CONCURRENT_HOSTS = 16

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


def plan_audit(control_ids: Sequence[str] | None = None, waivers_file: Path | None = None,
               attestations_file: Path | None = None, checks: Sequence[Check] = ALL_CHECKS,
               timeout: int = DEFAULT_TIMEOUT_SECONDS) -> AuditPlan:
    if timeout < 1:
        raise UsageError(f"--timeout must be at least 1 second, got {timeout}")
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
        waivers_file=waivers_file, attestations_file=attestations_file, timeout=timeout)


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def host_params(plan: AuditPlan, target: Target, origin: str) -> dict[str, dict[str, Any]]:
    # Validated against every control, so an inventory tuned for all of them works with --controls too.
    controls = {control.id: control for control in plan.catalogue.controls}
    params = resolve_params(controls, target.variables, f"{origin}: host {target.name}")
    return {control.id: params[control.id] for control in plan.controls}


def audit_target(plan: AuditPlan, target: Target, params: dict[str, dict[str, Any]]) -> list[Finding]:
    if not plan.checks:
        return []
    facts_needed = {fact for check in plan.checks for fact in check.facts}
    probes_needed = {name for check in plan.checks for name in check.probes}
    collection = collect(target, facts_needed, plan.timeout) if facts_needed else empty_collection(target)
    if probes_needed:
        results = run_probes(target.probe_target(), probes_needed, params)
        collection = replace(collection, probe_results=results)
    controls = {control.id: control for control in plan.controls}
    return evaluate(collection, plan.checks, controls, params)


def run_audit(plan: AuditPlan, targets: Sequence[Target], origin: str, today: date | None = None) -> RunResult:
    started = datetime.now(UTC)
    today = today or started.date()
    params = {target.name: host_params(plan, target, origin) for target in targets}  # bad input first
    progress = Progress(len(targets), "audited")

    def one(target: Target) -> list[Finding]:
        findings = audit_target(plan, target, params[target.name])
        progress.advance(target.name)
        return findings

    with ThreadPoolExecutor(max_workers=max(1, min(MAX_CONCURRENT_HOSTS, len(targets)))) as pool:
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
