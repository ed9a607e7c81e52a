"""`stockade tls HOST:PORT [--sni NAME] [--ca-file FILE] [-o DIR]`: one endpoint, the TLS checks, a report.

The same probe (checks/probes/tls.py), evaluators (checks/tls.py), results model and report writer as
`stockade audit`, for an endpoint that is in no inventory. Exit codes are the audit's.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stockade.errors import UsageError

TLS_CONTROLS = ("TLS-01", "TLS-02", "TLS-03", "TLS-04")
FORMATS = ("json", "html", "junit")


def parse_endpoint(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, or HOST (port 443)."""
    match = re.fullmatch(r"\[(?P<v6>[0-9A-Fa-f:.]+)\](?::(?P<v6port>\d+))?|(?P<host>[^:\[\]\s]+)(?::(?P<port>\d+))?",
                         text.strip())
    if not match:
        raise UsageError(f"{text!r}: expected HOST:PORT (or [IPv6]:PORT)")
    host = match.group("v6") or match.group("host")
    port = int(match.group("v6port") or match.group("port") or 443)
    if not 0 < port < 65536:
        raise UsageError(f"{text!r}: port {port} is out of range")
    return host, port


def add_parser(commands: Any) -> None:
    tls = commands.add_parser("tls", help="scan one TLS endpoint against the policy (TLS-01..04) and write reports")
    tls.add_argument("endpoint", metavar="HOST:PORT")
    tls.add_argument("--sni", help="server name sent and matched against the certificate (default HOST)")
    tls.add_argument("--ca-file", type=Path, help="PEM bundle the chain must lead to "
                     "(default TLS-03's ca_file, the system bundle)")
    tls.add_argument("-o", "--output", type=Path, default=Path("reports"),
                     help="reports go to OUTPUT/<run-id>/ (default reports)")
    tls.add_argument("--format", default="json,html,junit", help="comma-separated: json, html, junit")
    tls.add_argument("--timeout", type=int, default=5, help="network timeout in seconds (default 5)")
    tls.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from checks.catalogue import load_catalogue
    from checks.probes.tls import Endpoint, scan_endpoints
    from checks.registry import ALL_CHECKS
    from stockade import __version__
    from stockade.engine.audit import exit_code, new_run_id, print_summary
    from stockade.engine.collect import Collection
    from stockade.engine.declared import host_plan
    from stockade.engine.evaluate import evaluate
    from stockade.engine.model import RunMetadata, RunResult
    from stockade.engine.params import resolve_params
    from stockade.engine.verdicts import clause_results
    from stockade.report.writer import write_reports

    host, port = parse_endpoint(args.endpoint)
    formats = [name.strip() for name in args.format.split(",") if name.strip()]
    if not formats or set(formats) - set(FORMATS):
        raise UsageError(f"--format: choose from {', '.join(FORMATS)}")
    if args.ca_file is not None and not args.ca_file.is_file():
        raise UsageError(f"--ca-file {args.ca_file}: no such file")
    if args.timeout < 1:
        raise UsageError("--timeout must be at least 1 second")
    catalogue = load_catalogue()
    controls = {control.id: control for control in catalogue.controls if control.id in TLS_CONTROLS}
    params = resolve_params({control.id: control for control in catalogue.controls}, {}, "stockade tls")
    if args.ca_file is not None:
        params["TLS-03"]["ca_file"] = str(args.ca_file.resolve())
    checks = tuple(check for check in ALL_CHECKS if check.control_id in controls and check.probes == ("tls_scan",))

    started = datetime.now(UTC)
    endpoint = Endpoint(host, port, args.sni or host)
    try:
        scanned = scan_endpoints([endpoint], str(params["TLS-03"]["ca_file"]), timeout=args.timeout)
        probe: dict[str, Any] = {"endpoints": scanned}
    except Exception as exc:  # noqa: BLE001 - e.g. the name does not resolve: every check is ERROR
        probe = {"error": f"{type(exc).__name__}: {exc}"}
    label = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    collection = Collection(target=label, source=f"sslyze from the controller to {endpoint.label}",
                            collected_at=started.isoformat(timespec="seconds"), facts={},
                            probe_results={"tls_scan": probe})
    findings = evaluate(collection, checks, controls, host_plan(checks, params, {}, "stockade tls"))
    selected = tuple(sorted(controls))
    metadata = RunMetadata(
        run_id=new_run_id(started), started_at=started.isoformat(timespec="seconds"),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"), tool_version=__version__,
        inventory=f"stockade tls {args.endpoint}" + (f" --sni {args.sni}" if args.sni else ""),
        hosts=(label,), policy_id=catalogue.policy_id, catalogue_digest=catalogue.digest,
        selected_controls=selected)
    result = RunResult(metadata, tuple(findings),
                       clause_results(catalogue.clauses, catalogue.controls, findings, selected))
    written = write_reports(result, args.output / metadata.run_id, formats)
    print_summary(result, written)
    return exit_code(result)
