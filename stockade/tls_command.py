"""`stockade tls TARGET... [--targets FILE] [-i INVENTORY] [--sni NAME] [--ca-file FILE] [-o DIR]`: TLS checks.

TARGET is HOST:PORT, [IPv6]:PORT or HOST (port 443), optionally `=SNI` (the server name sent and matched
against the certificate; default --sni, else HOST). `--targets FILE` adds one target per line (`#` starts a
comment). `-i INVENTORY` (repeatable, merged as ansible-playbook merges them) adds the endpoints of the
inventory's hosts (`--limit` selects them), exactly those the audit's TLS probe scans. Every target is scanned
at once in ONE sslyze Scanner (checks/probes/tls.scan_endpoints, at most --concurrency servers at a time) and
becomes one "host" of the report. The same probe, evaluators (checks/tls.py),
results model and report writer as `stockade audit`, for endpoints in no inventory. Exit codes are the audit's.
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


def parse_target(text: str, default_sni: str | None = None) -> tuple[str, int, str]:
    """HOST:PORT[=SNI] -> (host, port, server name)."""
    where, _, sni = text.strip().partition("=")
    host, port = parse_endpoint(where)
    if _ and not sni.strip():
        raise UsageError(f"{text!r}: empty server name after '='")
    return host, port, sni.strip() or default_sni or host


def read_targets(path: Path, default_sni: str | None = None) -> list[tuple[str, int, str]]:
    """One target per line (`HOST:PORT[=SNI]`, or `HOST:PORT SNI`); blank lines and `#` comments skipped."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise UsageError(f"--targets {path}: {exc.strerror or exc}") from exc
    targets = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = text.split()
        if len(fields) > 2:
            raise UsageError(f"{path}:{number}: expected HOST:PORT[=SNI] or HOST:PORT SNI")
        try:
            targets.append(parse_target(f"{fields[0]}={fields[1]}" if len(fields) == 2 else fields[0], default_sni))
        except UsageError as exc:
            raise UsageError(f"{path}:{number}: {exc}") from exc
    return targets


def inventory_endpoints(inventories: list[Path], limit: str, controls: dict[str, Any]) -> list[tuple[str, int, str]]:
    """The TLS endpoints of the inventory's hosts, as the audit's TLS probe finds them: each host's
    `tls_endpoints`, else TLS-01 `ports` on its address, with the inventory host name as server name."""
    from checks.probes.tls import endpoints_for
    from stockade.engine.params import resolve_params
    from stockade.engine.targets import load_targets

    found = []
    for target in load_targets(inventories, limit, controls):
        ports = resolve_params(controls, target.variables, f"host {target.name}")["TLS-01"]["ports"]
        for endpoint in endpoints_for(target.probe_target(), {"ports": ports}):
            found.append((endpoint.address, endpoint.port, endpoint.server_name))
    return found


def add_parser(commands: Any) -> None:
    tls = commands.add_parser("tls", help="scan TLS endpoints against the policy (TLS-01..04), all in one scan, "
                              "and write reports")
    tls.add_argument("endpoints", metavar="HOST:PORT[=SNI]", nargs="*")
    tls.add_argument("--targets", type=Path, help="file with one HOST:PORT[=SNI] (or HOST:PORT SNI) per line")
    tls.add_argument("-i", "--inventory", type=Path, action="append", default=[],
                     help="also scan the TLS endpoints of an Ansible inventory's hosts (tls_endpoints, else TLS-01 "
                          "ports); repeatable: later sources override, as with ansible-playbook")
    tls.add_argument("--limit", default="all", help="inventory host or group pattern for -i (default all)")
    tls.add_argument("--sni", help="server name for targets without their own =SNI (default each HOST)")
    tls.add_argument("--concurrency", type=int, default=16,
                     help="servers scanned at the same time (default 16; each with up to 5 connections)")
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

    targets = [parse_target(text, args.sni) for text in args.endpoints]
    if args.targets is not None:
        targets += read_targets(args.targets, args.sni)
    if not targets and not args.inventory:
        raise UsageError("no target: give HOST:PORT arguments, --targets FILE or -i INVENTORY")
    formats = [name.strip() for name in args.format.split(",") if name.strip()]
    if not formats or set(formats) - set(FORMATS):
        raise UsageError(f"--format: choose from {', '.join(FORMATS)}")
    if args.ca_file is not None and not args.ca_file.is_file():
        raise UsageError(f"--ca-file {args.ca_file}: no such file")
    if args.timeout < 1:
        raise UsageError("--timeout must be at least 1 second")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    catalogue = load_catalogue()
    if args.inventory:
        targets += inventory_endpoints(args.inventory, args.limit, {control.id: control
                                                                   for control in catalogue.controls})
    controls = {control.id: control for control in catalogue.controls if control.id in TLS_CONTROLS}
    params = resolve_params({control.id: control for control in catalogue.controls}, {}, "stockade tls")
    if args.ca_file is not None:
        params["TLS-03"]["ca_file"] = str(args.ca_file.resolve())
    checks = tuple(check for check in ALL_CHECKS if check.control_id in controls and check.probes == ("tls_scan",))

    started = datetime.now(UTC)
    endpoints = list(dict.fromkeys(Endpoint(host, port, sni) for host, port, sni in targets))
    try:
        scanned = scan_endpoints(endpoints, str(params["TLS-03"]["ca_file"]), timeout=args.timeout,
                                 max_concurrent_servers=args.concurrency)
        probes: list[dict[str, Any]] = [{"endpoints": [result]} for result in scanned]
    except Exception as exc:  # noqa: BLE001 - e.g. a name does not resolve: every check is ERROR
        probes = [{"error": f"{type(exc).__name__}: {exc}"} for _ in endpoints]
    plan = host_plan(checks, params, {}, "stockade tls")
    findings = []
    labels = []
    for endpoint, probe in zip(endpoints, probes, strict=True):
        host = f"[{endpoint.address}]" if ":" in endpoint.address else endpoint.address
        label = f"{host}:{endpoint.port}" + (f" ({endpoint.server_name})" if len(endpoints) > 1
                                              and endpoint.server_name != endpoint.address else "")
        labels.append(label)
        collection = Collection(target=label, source=f"sslyze from the controller to {endpoint.label}",
                                collected_at=started.isoformat(timespec="seconds"), facts={},
                                probe_results={"tls_scan": probe})
        findings += evaluate(collection, checks, controls, plan)
    selected = tuple(sorted(controls))
    metadata = RunMetadata(
        run_id=new_run_id(started), started_at=started.isoformat(timespec="seconds"),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"), tool_version=__version__,
        inventory="stockade tls " + " ".join(args.endpoints) + (f" --targets {args.targets}" if args.targets else "")
        + (f" --sni {args.sni}" if args.sni else "") + "".join(f" -i {path}" for path in args.inventory),
        hosts=tuple(labels), policy_id=catalogue.policy_id, catalogue_digest=catalogue.digest,
        selected_controls=selected)
    result = RunResult(metadata, tuple(findings),
                       clause_results(catalogue.clauses, catalogue.controls, findings, selected))
    written = write_reports(result, args.output / metadata.run_id, formats)
    print_summary(result, written)
    return exit_code(result)
