"""results.json read back: the one typed loader behind `diff RUN_DIR`, `verify` and the shard merge.

The document is validated against results.schema.json first, so every field the model needs is there with
its type; what comes back is the same frozen ``RunResult`` the engine wrote (``render_json`` then
``load_results`` is the identity, tested field by field).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checks.model import Severity, Status
from stockade.engine.model import (
    ClauseResult,
    ControlResult,
    Evidence,
    Finding,
    RunMetadata,
    RunResult,
    Verdict,
)
from stockade.errors import UsageError
from stockade.report.json_report import ResultsValidationError, validate_results

RESULTS_FILE = "results.json"


def results_path(path: Path) -> Path:
    """A run directory's results.json, or the file itself."""
    return path / RESULTS_FILE if path.is_dir() else path


def load_results(path: Path) -> RunResult:
    """The run stored at `path` (a run directory or its results.json); UsageError naming the file otherwise."""
    source = results_path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{source}: not a readable results document ({exc})") from exc
    if not isinstance(document, dict):
        raise UsageError(f"{source}: not a results document (a JSON object is expected)")
    try:
        validate_results(document)
    except ResultsValidationError as exc:
        raise UsageError(f"{source}: {exc}") from exc
    return result_from_document(document)


def result_from_document(document: dict[str, Any]) -> RunResult:
    """A validated results document as the typed model."""
    meta = document["metadata"]
    selected = meta["selected_controls"]
    metadata = RunMetadata(
        run_id=meta["run_id"], started_at=meta["started_at"], finished_at=meta["finished_at"],
        tool_version=meta["tool_version"], inventory=meta["inventory"], hosts=tuple(meta["hosts"]),
        policy_id=meta["policy_id"], catalogue_digest=meta["catalogue_digest"],
        selected_controls=None if selected is None else tuple(selected),
        waivers_file=meta["waivers_file"], attestations_file=meta["attestations_file"])
    findings = tuple(_finding(item) for item in document["findings"])
    clauses = tuple(ClauseResult(
        clause_id=item["clause_id"], section=item["section"], text=item["text"], verdict=Verdict(item["verdict"]),
        controls=tuple(ControlResult(control["control_id"], control["title"], control["automation"],
                                     Verdict(control["verdict"]), control["reason"])
                       for control in item["controls"]))
        for item in document["clauses"])
    return RunResult(metadata, findings, clauses)


def _finding(item: dict[str, Any]) -> Finding:
    evidence = item["evidence"]
    return Finding(
        host=item["host"], control_id=item["control_id"], check_id=item["check_id"],
        clause_ids=tuple(item["clause_ids"]), status=Status(item["status"]), severity=Severity(item["severity"]),
        message=item["message"],
        evidence=None if evidence is None else Evidence(evidence["source"], evidence["observed"],
                                                        evidence["collected_at"]),
        waiver=item["waiver"])
