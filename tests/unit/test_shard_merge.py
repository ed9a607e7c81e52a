"""Shard runs merged into one reviewer report: the union of hosts and findings, the organisation's findings
once, clause verdicts recomputed over the whole fleet, and every way shards can fail to fit refused."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from report_factory import make_finding

from checks.catalogue import Catalogue, load_catalogue
from checks.model import Severity, Status
from stockade.cli import main
from stockade.engine.attestations import ORGANISATION_HOST
from stockade.engine.model import RunMetadata, RunResult
from stockade.engine.verdicts import clause_results
from stockade.errors import UsageError
from stockade.history.merge import Shard, merge_runs
from stockade.report.json_report import render_json, validate_results
from stockade.report.results_loader import load_results


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def attested() -> list:  # type: ignore[type-arg]
    return [make_finding(Status.PASS, host=ORGANISATION_HOST, control_id="GOV-01", check_id="attestation",
                         severity=Severity.LOW, message="attested by the CISO", evidence=False)]


def shard(catalogue: Catalogue, run_id: str, hosts: tuple[str, ...], statuses: dict[str, Status],
          started: str = "2026-12-07T10:00:00+00:00") -> RunResult:
    findings = [make_finding(statuses.get(host, Status.PASS), host=host) for host in hosts] + attested()
    return RunResult(
        RunMetadata(run_id=run_id, started_at=started, finished_at=started.replace(":00:00", ":00:09"),
                    tool_version="0.1.0", inventory="inventory/prod.yml", hosts=hosts,
                    policy_id=catalogue.policy_id, catalogue_digest=catalogue.digest),
        tuple(findings),
        clause_results(catalogue.clauses, catalogue.controls, findings, None))


def test_two_shards_make_the_run_one_audit_of_all_hosts_would(catalogue: Catalogue) -> None:
    a = shard(catalogue, "20261207T100000Z-aaaaaa", ("web01", "web02"), {})
    b = shard(catalogue, "20261207T100500Z-bbbbbb", ("db01",), {"db01": Status.FAIL},
              started="2026-12-07T10:05:00+00:00")
    merged = merge_runs([Shard("shard-a", a), Shard("shard-b", b)], catalogue)
    assert merged.metadata.hosts == ("web01", "web02", "db01")
    assert [(f.host, f.status) for f in merged.findings] == [
        ("web01", Status.PASS), ("web02", Status.PASS), ("db01", Status.FAIL), (ORGANISATION_HOST, Status.PASS)]
    assert merged.metadata.started_at == a.metadata.started_at
    assert merged.metadata.finished_at == b.metadata.finished_at
    assert a.metadata.run_id in merged.metadata.inventory and b.metadata.run_id in merged.metadata.inventory
    assert merged.metadata.run_id not in (a.metadata.run_id, b.metadata.run_id)
    # The clause verdicts are the whole fleet's: shard a alone passes SSH-01, the merge fails it as b does.
    def ssh_01(result: RunResult) -> set[str]:
        return {control.verdict.value for clause in result.clauses for control in clause.controls
                if control.control_id == "SSH-01"}

    assert ssh_01(merged) == ssh_01(b) != ssh_01(a)
    assert merged.clauses == clause_results(catalogue.clauses, catalogue.controls, merged.findings, None)
    validate_results(json.loads(render_json(merged)))


@pytest.mark.parametrize(("change", "message"), [
    ({"catalogue_digest": "0" * 64}, "another catalogue"),
    ({"selected_controls": ("SSH-01",)}, "another selected controls"),
    ({"tool_version": "0.0.9"}, "another tool version"),
    ({"waivers_file": "waivers.yml"}, "another waivers file"),
])
def test_shards_judged_differently_are_refused(catalogue: Catalogue, change: dict, message: str) -> None:  # type: ignore[type-arg]
    a = shard(catalogue, "r-a", ("web01",), {})
    b = shard(catalogue, "r-b", ("db01",), {})
    b = dataclasses.replace(b, metadata=dataclasses.replace(b.metadata, **change))
    with pytest.raises(UsageError, match=message):
        merge_runs([Shard("a", a), Shard("b", b)], catalogue)


def test_overlapping_shards_the_same_run_twice_and_other_attestations_are_refused(catalogue: Catalogue) -> None:
    a = shard(catalogue, "r-a", ("web01", "db01"), {})
    with pytest.raises(UsageError, match="host db01 is in a and in b"):
        merge_runs([Shard("a", a), Shard("b", shard(catalogue, "r-b", ("db01",), {}))], catalogue)
    with pytest.raises(UsageError, match="the same run given twice"):
        merge_runs([Shard("a", a), Shard("again", a)], catalogue)
    other = shard(catalogue, "r-c", ("mail01",), {})
    other = dataclasses.replace(other, findings=other.findings[:-1])  # no attestation finding
    with pytest.raises(UsageError, match="attests the manual controls differently"):
        merge_runs([Shard("a", a), Shard("c", other)], catalogue)
    with pytest.raises(UsageError, match="at least two"):
        merge_runs([Shard("a", a)], catalogue)


def test_stockade_merge_writes_signs_and_records_one_run(catalogue: Catalogue, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    runs = []
    for result in (shard(catalogue, "20261207T100000Z-aaaaaa", ("web01",), {}),
                   shard(catalogue, "20261207T100500Z-bbbbbb", ("db01",), {"db01": Status.FAIL})):
        directory = tmp_path / "shards" / result.metadata.run_id
        directory.mkdir(parents=True)
        (directory / "results.json").write_text(render_json(result))
        runs.append(str(directory))
    out = tmp_path / "reports"
    code = main(["merge", *runs, "-o", str(out), "--format", "json,html", "--key-dir", str(tmp_path / "keys")])
    assert code == 1  # a FAIL, as `stockade audit` would exit
    (run_dir,) = [path for path in out.iterdir() if path.is_dir()]
    merged = load_results(run_dir)
    assert merged.metadata.hosts == ("web01", "db01")
    assert "db01" in (run_dir / "report.html").read_text() and "web01" in (run_dir / "report.html").read_text()
    assert (run_dir / "manifest.sig").exists()
    assert main(["history", "-o", str(out)]) == 0
    assert merged.metadata.run_id in capsys.readouterr().out
    assert main(["verify", str(run_dir)]) == 0
