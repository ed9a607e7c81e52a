"""Signed manifests and the hash chain: verify passes untouched, fails naming the file or the removed run."""

from __future__ import annotations

import dataclasses
import json
import shutil
import stat
from pathlib import Path

import pytest
from report_factory import make_finding, make_result

from checks.model import Status
from stockade.cli import main
from stockade.engine.model import RunResult
from stockade.errors import UsageError
from stockade.integrity.keys import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, load_or_create_signer
from stockade.integrity.manifest import CHAIN_HEAD, MANIFEST, PUBLIC_KEY, SIGNATURE, sha256_file, write_manifest
from stockade.integrity.verify import verify_run
from stockade.report.writer import write_reports

FORMATS = ["json", "html", "junit", "sarif"]
RUN_FILES = ["junit.xml", "manifest.json", "manifest.pub", "manifest.sig", "report.html", "results.json",
             "results.sarif"]


def result_named(run_id: str, status: Status = Status.PASS) -> RunResult:
    result = make_result(make_finding(status, host="lab-01"), make_finding(Status.PASS, host="lab-02"))
    return dataclasses.replace(result, metadata=dataclasses.replace(result.metadata, run_id=run_id))


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def chain(tmp_path: Path, key_dir: Path) -> list[Path]:
    """Three signed runs in one reports directory."""
    signer = load_or_create_signer(key_dir)
    runs = []
    for run_id in ("run-a", "run-b", "run-c"):
        out = tmp_path / "reports" / run_id
        write_reports(result_named(run_id), out, FORMATS, signer=signer)
        runs.append(out)
    return runs


def problems(run_dir: Path) -> list[str]:
    return verify_run(run_dir).problems


def flip_one_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_key_is_generated_private_and_reused(key_dir: Path) -> None:
    first = load_or_create_signer(key_dir)
    assert stat.S_IMODE((key_dir / PRIVATE_KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert (key_dir / PUBLIC_KEY_FILE).read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    second = load_or_create_signer(key_dir)
    assert first.fingerprint == second.fingerprint


def test_private_key_is_never_shown(key_dir: Path) -> None:
    signer = load_or_create_signer(key_dir)
    secret = (key_dir / PRIVATE_KEY_FILE).read_text()
    body = "".join(secret.splitlines()[1:-1])
    assert body not in repr(signer)
    assert "PRIVATE" not in repr(signer)


def test_key_readable_by_others_is_refused(key_dir: Path) -> None:
    load_or_create_signer(key_dir)
    (key_dir / PRIVATE_KEY_FILE).chmod(0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        load_or_create_signer(key_dir)


def test_signed_run_lists_every_output_and_chains(chain: list[Path]) -> None:
    first, second, _ = chain
    assert sorted(p.name for p in second.iterdir()) == RUN_FILES
    manifest = json.loads((second / MANIFEST).read_text())
    assert [entry["name"] for entry in manifest["files"]] == ["junit.xml", "report.html", "results.json",
                                                             "results.sarif"]
    assert manifest["previous"] == {"run_id": "run-a", "directory": "run-a",
                                    "manifest_sha256": sha256_file(first / MANIFEST)}
    assert json.loads((first / MANIFEST).read_text())["previous"] is None
    head = json.loads((second.parent / CHAIN_HEAD).read_text())
    assert head["directory"] == "run-c"


@pytest.mark.parametrize("index", [0, 1, 2])
def test_untouched_runs_verify(chain: list[Path], index: int) -> None:
    report = verify_run(chain[index])
    assert report.problems == []
    assert sorted(report.runs_checked) == ["run-a", "run-b", "run-c"]
    assert report.files_checked == 12


@pytest.mark.parametrize("name", RUN_FILES)
def test_one_byte_change_in_any_file_is_named(chain: list[Path], name: str) -> None:
    flip_one_byte(chain[2] / name, offset=40)
    found = problems(chain[2])
    assert found, f"a changed {name} went unnoticed"
    assert any(f"run-c/{name}" in problem for problem in found), found


@pytest.mark.parametrize("name", ["results.json", "manifest.json", "report.html"])
def test_change_in_an_earlier_run_is_caught_from_the_latest(chain: list[Path], name: str) -> None:
    flip_one_byte(chain[0] / name, offset=40)
    assert any(f"run-a/{name}" in problem for problem in problems(chain[2]))


def test_removed_middle_run_is_named(chain: list[Path]) -> None:
    shutil.rmtree(chain[1])
    for run in (chain[2], chain[0]):
        found = problems(run)
        assert any("run run-b (run-b) was removed" in problem for problem in found), found


def test_removed_latest_run_is_named_by_the_chain_head(chain: list[Path]) -> None:
    shutil.rmtree(chain[2])
    found = problems(chain[1])
    assert any("run run-c (run-c) was removed" in problem for problem in found), found


def test_a_run_written_after_a_removal_keeps_pointing_at_the_removed_run(chain: list[Path], key_dir: Path) -> None:
    shutil.rmtree(chain[2])
    later = chain[0].parent / "run-d"
    write_reports(result_named("run-d"), later, FORMATS, signer=load_or_create_signer(key_dir))
    assert json.loads((later / MANIFEST).read_text())["previous"]["directory"] == "run-c"
    assert any("run run-c (run-c) was removed" in problem for problem in problems(later))


def test_added_file_is_named(chain: list[Path]) -> None:
    (chain[1] / "notes.txt").write_text("added later")
    assert any("run-b/notes.txt: not in the manifest" in problem for problem in problems(chain[2]))


def test_deleted_output_is_named(chain: list[Path]) -> None:
    (chain[2] / "junit.xml").unlink()
    assert any("run-c/junit.xml: listed in the manifest but missing" in p for p in problems(chain[2]))


def test_resigning_with_another_key_is_caught(chain: list[Path], tmp_path: Path, key_dir: Path) -> None:
    """An editor who re-signs a run with their own key breaks the key continuity and the pin."""
    target = chain[2]
    (target / "results.json").write_text("{}\n")
    forger = load_or_create_signer(tmp_path / "forger-keys")
    for name in (MANIFEST, SIGNATURE, PUBLIC_KEY):
        (target / name).unlink()
    write_manifest(target, "run-c", forger, {"run_id": "run-b", "directory": "run-b",
                                             "manifest_sha256": sha256_file(chain[1] / MANIFEST)})
    assert any("signed by key" in problem for problem in problems(target))
    pinned = verify_run(chain[0], (key_dir / PUBLIC_KEY_FILE).read_bytes())
    assert any("not the pinned key" in problem for problem in pinned.problems)


def test_verify_command_exit_codes(chain: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(chain[2])]) == 0
    flip_one_byte(chain[2] / "report.html")
    assert main(["verify", str(chain[2])]) == 1
    assert "run-c/report.html" in capsys.readouterr().out
    assert main(["verify", str(chain[2].parent / "no-such-run")]) == 2


def test_unsigned_writes_have_no_manifest(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_reports(result_named("run"), out, ["json"])
    assert sorted(p.name for p in out.iterdir()) == ["results.json"]
