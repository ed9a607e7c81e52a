"""Write a run's reports into a new directory, all or nothing."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from stockade.engine.model import RunResult
from stockade.history.context import ReportContext
from stockade.integrity.keys import Signer
from stockade.integrity.manifest import MANIFEST_FILES, chain_lock, previous_link, write_head, write_manifest
from stockade.report.html_report import render_html
from stockade.report.json_report import render_json, validate_results
from stockade.report.junit import render_junit
from stockade.report.oscal import render_oscal
from stockade.report.sarif import render_sarif

# format name -> (file name, renderer)
FORMATS: dict[str, tuple[str, Callable[[RunResult], str]]] = {
    "json": ("results.json", render_json),
    "html": ("report.html", render_html),
    "junit": ("junit.xml", render_junit),
    "sarif": ("results.sarif", render_sarif),
    "oscal": ("assessment-results.json", render_oscal),
}
# Views that also show the previous run and the history (ReportContext), when one is given.
_CONTEXT_RENDERERS: dict[str, Callable[..., str]] = {
    "html": render_html,
    "sarif": render_sarif,
}


def _render(name: str, result: RunResult, context: ReportContext | None) -> str:
    renderer = FORMATS[name][1]
    contextual = _CONTEXT_RENDERERS.get(name)
    # Only the stock renderer takes the context (a test may swap in another renderer).
    if context is not None and contextual is not None and renderer == contextual:
        return contextual(result, context)
    return renderer(result)


def _check_formats(formats: Sequence[str]) -> list[str]:
    if isinstance(formats, str):
        raise TypeError(f"formats must be a sequence of format names, not the string {formats!r}")
    requested = list(dict.fromkeys(formats))
    unknown = [name for name in requested if name not in FORMATS]
    if unknown:
        raise ValueError(
            f"unknown report format(s): {', '.join(map(repr, unknown))}; known: {', '.join(FORMATS)}"
        )
    if not requested:
        raise ValueError(f"no report format requested; known: {', '.join(FORMATS)}")
    return requested


def _refuse_existing(out_dir: Path) -> None:
    if os.path.lexists(out_dir):
        raise FileExistsError(
            errno.EEXIST, "report directory already exists; each run gets its own", str(out_dir)
        )


def _write_durably(path: Path, text: str) -> None:
    with path.open("x", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_reports(result: RunResult, out_dir: Path, formats: Sequence[str], *,
                  context: ReportContext | None = None, signer: Signer | None = None) -> list[Path]:
    """Render ``formats`` of ``result`` into the new directory ``out_dir``; return the files written.

    Before anything touches the disk: every format name is checked (``ValueError`` names an unknown
    one), ``out_dir`` must not exist (``FileExistsError``), and the canonical JSON document is
    validated against the schema (``ResultsValidationError``). All reports are rendered in memory,
    written to a temporary directory next to ``out_dir`` and renamed into place, so ``out_dir``
    appears complete or not at all. The directory is private to the user (mode 0700): reports
    describe the weaknesses of the audited hosts.

    ``context`` (the previous run, the diff, the history) feeds the HTML and SARIF views. With a
    ``signer``, the staging directory also gets ``manifest.json`` (SHA-256 of every report, the previous
    run's manifest digest), ``manifest.sig`` and ``manifest.pub`` before it is renamed into place, and the
    chain head of the reports directory moves to the new run, all under a lock so two runs never fork
    the chain.
    """
    requested = _check_formats(formats)
    out_dir = Path(out_dir)
    _refuse_existing(out_dir)

    json_text = render_json(result)
    validate_results(json.loads(json_text))
    rendered = {name: json_text if name == "json" else _render(name, result, context) for name in requested}

    parent = out_dir.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=parent))
    try:
        for name, text in rendered.items():
            _write_durably(staging / FORMATS[name][0], text)
        if signer is None:
            _publish(staging, out_dir)
        else:
            with chain_lock(parent):
                digest = write_manifest(staging, result.metadata.run_id, signer, previous_link(parent))
                _publish(staging, out_dir)
                write_head(parent, result.metadata.run_id, out_dir.name, digest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_dir(parent)
    written = [out_dir / FORMATS[name][0] for name in requested]
    if signer is not None:
        written += [out_dir / name for name in MANIFEST_FILES]
    return written


def _publish(staging: Path, out_dir: Path) -> None:
    """Rename the complete staging directory to ``out_dir`` (never over an existing one)."""
    _fsync_dir(staging)
    _refuse_existing(out_dir)
    try:
        # On POSIX, rename only replaces an *empty* directory; a concurrent run's reports survive.
        staging.rename(out_dir)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
            raise FileExistsError(
                errno.EEXIST, "report directory appeared while writing", str(out_dir)
            ) from exc
        raise
