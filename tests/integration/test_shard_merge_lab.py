"""Past one machine (issue 16): a fleet audited in two `--limit` shards, each its own run in its own history,
merged by `stockade merge` into one signed run whose report holds every host, as one audit would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Lab, boot_lab, stockade

from stockade.report.json_report import validate_results

CONTROLS = "SSH-01,FW-01,BASE-03"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from boot_lab(tmp_path_factory, "13", hosts=2)


def run_dir(out: Path) -> Path:
    (directory,) = [path for path in out.iterdir() if path.is_dir()]
    return directory


def test_two_limit_shards_merge_into_the_report_of_the_whole_fleet(lab: Lab, tmp_path: Path) -> None:
    shards = []
    for index, limit in enumerate(("lab-01", "lab-02")):
        out = tmp_path / f"shard-{index}"
        result = stockade("audit", "-i", str(lab.inventory), "--limit", limit, "--controls", CONTROLS,
                          "-o", str(out), "--format", "json", "--key-dir", str(tmp_path / "keys"))
        assert result.returncode in (0, 1, 3), result.stderr
        shards.append(run_dir(out))
    whole = stockade("audit", "-i", str(lab.inventory), "--controls", CONTROLS, "-o", str(tmp_path / "whole"),
                     "--format", "json", "--key-dir", str(tmp_path / "keys"))
    merged_out = tmp_path / "merged"
    merge = stockade("merge", *map(str, shards), "-o", str(merged_out), "--format", "json,html",
                     "--key-dir", str(tmp_path / "keys"))
    assert merge.returncode == whole.returncode, merge.stderr
    merged_dir = run_dir(merged_out)
    document = json.loads((merged_dir / "results.json").read_text())
    validate_results(document)
    parts = [json.loads((shard / "results.json").read_text()) for shard in shards]
    assert document["metadata"]["hosts"] == ["lab-01", "lab-02"]
    assert all(part["metadata"]["run_id"] in document["metadata"]["inventory"] for part in parts)

    def verdicts(doc: dict) -> dict[tuple[str, str], str]:  # type: ignore[type-arg]
        return {(f["host"], f["check_id"]): f["status"] for f in doc["findings"]}

    assert verdicts(document) == {key: value for part in parts for key, value in verdicts(part).items()}
    # The same hosts audited in one run are judged the same way (the controls chosen are stable on a fresh host).
    assert verdicts(document) == verdicts(json.loads((run_dir(tmp_path / "whole") / "results.json").read_text()))
    whole_clauses = json.loads((run_dir(tmp_path / "whole") / "results.json").read_text())["clauses"]
    assert [(c["clause_id"], c["verdict"]) for c in document["clauses"]] == \
        [(c["clause_id"], c["verdict"]) for c in whole_clauses]
    html = (merged_dir / "report.html").read_text()
    assert "lab-01" in html and "lab-02" in html
    assert stockade("verify", str(merged_dir)).returncode == 0
