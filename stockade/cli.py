"""The `stockade` command line."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from stockade import __version__, history_commands, tls_command
from stockade.errors import EXIT_ERROR, StockadeError, UsageError

if TYPE_CHECKING:
    from stockade.engine.inventory import InventoryFile


def _lab_up(args: argparse.Namespace) -> int:
    from stockade.lab import lab
    from stockade.lab.config import LabPaths

    paths = LabPaths.from_env(args.inventory_dir)
    report = lab.up(paths, args.hosts, args.release, "vm" if args.vm else "container")
    for host in report.hosts:
        print(f"{host.name}\t{host.address}")
    kind = f" VM ({report.accelerator})" if report.kind == "vm" else ""
    print(f"lab up: {len(report.hosts)} Debian {report.release}{kind} host(s) in {report.seconds:.1f}s "
          f"(image {report.image_seconds:.1f}s); inventory {report.inventory}; "
          f"ssh -F {paths.ssh_config} {report.hosts[0].name}", file=sys.stderr)
    return 0


def _lab_status(args: argparse.Namespace) -> int:
    from stockade.lab import lab
    from stockade.lab.config import LabPaths

    release, statuses = lab.status(LabPaths.from_env(args.inventory_dir))
    print(f"Debian {release} lab, {len(statuses)} host(s)")
    for entry in statuses:
        line = f"{entry.host.name}\t{entry.host.address}\tssh {'up' if entry.ssh_answers else 'DOWN'}"
        if entry.kind == "vm":
            rss = f"\tqemu rss {entry.rss_mib:.0f} MiB" if entry.rss_mib is not None else "\tqemu not running"
            line += f"\tvm accelerator {entry.accelerator}{rss}"
        print(line)
    return 0 if all(entry.ssh_answers for entry in statuses) else 1


def _lab_down(args: argparse.Namespace) -> int:
    from stockade.lab import lab
    from stockade.lab.config import LabPaths

    lab.down(LabPaths.from_env(args.inventory_dir))
    return 0


def _harden(args: argparse.Namespace) -> int:
    from stockade.harden import run_playbook

    return run_playbook(args.inventory, limit=args.limit, tags=args.tags, check=args.check, diff=args.diff)


FORMATS = ("json", "html", "junit", "sarif", "oscal")


def _refuse_hostile_files(args: argparse.Namespace) -> list[InventoryFile] | None:
    """The input files' size, encoding and YAML shape, checked before the engine loads (its imports cost about
    a second of CPU), so a hostile file is refused cheaply; the inventory's checked files are returned."""
    from checks.limits import MAX_ATTESTATIONS_BYTES
    from stockade.engine.datafile import DataFile
    from stockade.engine.inventory import preflight

    if args.waivers is not None:
        DataFile(args.waivers, "waivers", UsageError).document()
    if args.attestations is not None:
        DataFile(args.attestations, "attestations", UsageError, MAX_ATTESTATIONS_BYTES).document()
    return preflight(args.inventory) if args.inventory else None


def _audit(args: argparse.Namespace) -> int:
    formats = [name.strip() for name in args.format.split(",") if name.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise UsageError(f"--format: unknown format(s) {', '.join(unknown) or '(none)'} "
                         f"(choose from {', '.join(FORMATS)})")
    if (not args.inventory) == (not args.target):
        raise UsageError("give either -i INVENTORY or --target URL (not both); -i and --target are repeatable")
    checked = _refuse_hostile_files(args)

    from stockade.engine.audit import exit_code, plan_audit, print_summary, run_audit
    from stockade.engine.targets import load_targets, url_targets
    from stockade.engine.waivers import print_waiver_coverage
    from stockade.history_commands import Recorder
    from stockade.project import use_ansible_environment
    from stockade.report.headline import headline

    controls = [c.strip() for c in args.controls.split(",") if c.strip()] if args.controls else None
    plan = plan_audit(controls, args.waivers, args.attestations, timeout=args.timeout,
                      connect_timeout=args.connect_timeout, concurrency=args.concurrency)
    use_ansible_environment()
    if args.inventory:
        catalogue = {control.id: control for control in plan.catalogue.controls}
        targets = load_targets(args.inventory, args.limit, catalogue, checked)
        origin = ",".join(map(str, args.inventory))
    else:
        targets, origin = url_targets(args.target), ",".join(args.target)
    recorder = Recorder.open(args)  # history and signing key: bad input before any host is contacted
    try:
        result = run_audit(plan, targets, origin)
        written = recorder.write(result, args.output / result.metadata.run_id, formats)
    finally:
        recorder.close()
    print_summary(result, written)
    print_waiver_coverage(plan.waivers, result.findings, plan.waivers_file)
    print(headline(result).text(), file=sys.stderr)
    return exit_code(result)


def _controls(args: argparse.Namespace) -> int:
    from checks.catalogue import load_catalogue
    from stockade.explain import controls_table

    print(controls_table(load_catalogue()))
    return 0


def _explain(args: argparse.Namespace) -> int:
    from checks.catalogue import load_catalogue
    from stockade.explain import explain

    print(explain(load_catalogue(), args.id))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stockade", description=__doc__)
    parser.add_argument("--version", action="version", version=f"stockade {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    lab_parser = commands.add_parser("lab", help="disposable Debian hosts to harden and audit")
    lab_commands = lab_parser.add_subparsers(dest="lab_command", required=True)
    up = lab_commands.add_parser("up", help="boot lab hosts (replacing any running lab)")
    up.add_argument("--hosts", type=int, default=3, help="number of hosts (default 3)")
    up.add_argument("--release", default="13", help="Debian release: 12 or 13 (default 13)")
    up.add_argument("--vm", action="store_true",
                    help="QEMU virtual machines with their own kernel instead of containers (KVM when a real boot "
                         "proves it works, TCG otherwise; STOCKADE_LAB_ACCEL=kvm|tcg forces one)")
    up.set_defaults(handler=_lab_up)
    lab_commands.add_parser("status", help="list the lab's hosts").set_defaults(handler=_lab_status)
    lab_commands.add_parser("down", help="remove every trace of the lab").set_defaults(handler=_lab_down)
    for sub in lab_commands.choices.values():
        sub.add_argument("--inventory-dir", type=Path,
                         help="where `up` writes the inventory (default inventory/lab, or inventory/lab-N "
                              "for STOCKADE_LAB_ID=N)")

    harden = commands.add_parser("harden", help="apply the roles (playbooks/site.yml)")
    harden.add_argument("-i", "--inventory", required=True, type=Path, action="append",
                        help="Ansible inventory (repeatable: later sources override, as with ansible-playbook)")
    harden.add_argument("--limit")
    harden.add_argument("--tags")
    harden.add_argument("--check", action="store_true", help="report what would change, change nothing")
    harden.add_argument("--diff", action="store_true")
    harden.set_defaults(handler=_harden)

    audit = commands.add_parser("audit", help="prove the controls on every host and write reports")
    audit.add_argument("-i", "--inventory", type=Path, action="append", default=[],
                       help="Ansible inventory of the hosts to audit (repeatable: later sources override, "
                            "as with ansible-playbook)")
    audit.add_argument("--target", action="append", default=[], metavar="URL",
                       help="a testinfra host URL instead of an inventory, e.g. local:// (repeatable)")
    audit.add_argument("--limit", default="all", help="inventory host or group pattern (default all)")
    audit.add_argument("--controls", help="comma-separated control ids (default: every control)")
    audit.add_argument("--waivers", type=Path, help="YAML file of waivers")
    audit.add_argument("--attestations", type=Path, help="YAML file of attestations for manual controls")
    audit.add_argument("-o", "--output", type=Path, default=Path("reports"),
                       help="reports go to OUTPUT/<run-id>/ (default reports)")
    audit.add_argument("--format", default="json,html,junit,sarif",
                       help="comma-separated: json, html, junit, sarif, oscal (default json,html,junit,sarif)")
    audit.add_argument("--timeout", type=int, default=120, help="seconds a host may take to report (default 120)")
    audit.add_argument("--connect-timeout", type=float, default=10.0,
                       help="seconds until a host whose SSH does not answer has every check ERROR (default 10)")
    audit.add_argument("--concurrency", type=int, default=64,
                       help="hosts audited at once; each host's collector and probes run together, and the "
                            "fleet's one TLS scan holds at most this many servers at once (default 64)")
    history_commands.add_audit_options(audit)
    audit.set_defaults(handler=_audit)
    history_commands.register(commands)

    commands.add_parser("controls", help="list the policy's controls").set_defaults(handler=_controls)
    explain = commands.add_parser("explain", help="everything about a control, clause or check")
    explain.add_argument("id")
    explain.set_defaults(handler=_explain)
    tls_command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except StockadeError as exc:
        print(f"stockade: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stockade: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - a crash must not exit 1, which means "findings fail"
        traceback.print_exc()
        print(f"stockade: internal error; nothing was proven (exit {EXIT_ERROR})", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
