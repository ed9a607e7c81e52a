"""Write a run's reports into a new directory, all or nothing."""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import signal
import tempfile
import traceback
from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import NoReturn

from stockade.engine.model import RunResult
from stockade.gc_pause import gc_paused
from stockade.history.context import ReportContext
from stockade.integrity.keys import Signer
from stockade.integrity.manifest import (
    MANIFEST_FILES,
    RetirementPlanner,
    chain_lock,
    previous_link,
    write_head,
    write_manifest,
)
from stockade.report.html_report import render_html
from stockade.report.json_report import dumps_document, render_json, validate_results
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


def _write_durably(path: Path, content: str | bytes) -> None:
    """Write a new file (text as UTF-8, or bytes already encoded) and fsync it."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


# From this many findings, the reports other than results.json are rendered, written and fsynced by
# forked processes, one per format, while this process validates and writes the JSON: about half the wall
# time on two CPUs. Below it, forking costs more than it saves.
PARALLEL_FROM_FINDINGS = 20_000


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


class _ChildRender:
    """One report rendered in a forked process, which writes its file once told where.

    The child shares this process's memory as it was at the fork (the run, the context, ``FORMATS``): nothing
    is pickled on the way in. It renders at once, then waits for ``start``: the staging directory, sent only
    once the results are valid (``abandon`` kills it instead), so nothing is written for invalid results.
    It answers ``K`` (written) or ``E`` and its pickled exception, and leaves with ``os._exit``: no exit
    handler of this process runs twice.
    """

    def __init__(self, render: Callable[[], str], file_name: str) -> None:
        go_read, self._go = os.pipe()
        self._done, done_write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (go_read, self._go, self._done, done_write):
                os.close(fd)
            raise
        if pid == 0:
            os.close(self._go)
            os.close(self._done)
            _child_main(render, file_name, go_read, done_write)
        os.close(go_read)
        os.close(done_write)
        self.pid: int | None = pid

    def start(self, staging: Path) -> None:
        """Let the child write its report into ``staging``."""
        with suppress(BrokenPipeError):  # the child died: wait() says so
            os.write(self._go, os.fsencode(staging))  # a path fits in the pipe's buffer: never blocks
        os.close(self._go)
        self._go = -1

    def wait(self) -> None:
        """Wait until the report is written; raise the child's exception if it failed."""
        try:
            answer = _read_all(self._done)
        finally:
            status = self._reap()
        if answer[:1] == b"K":
            return
        if answer[:1] == b"E":
            raise pickle.loads(answer[1:])  # noqa: S301 - our own child, through our own pipe
        raise RuntimeError(f"the report renderer process died (exit status {os.waitstatus_to_exitcode(status)})")

    def abandon(self) -> None:
        """Stop the child (another step failed) and reap it."""
        if self.pid is not None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> int:
        for fd in (self._go, self._done):
            if fd >= 0:
                os.close(fd)
        self._go = self._done = -1
        assert self.pid is not None
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        return status


def _fork_renderers(requested: list[str], result: RunResult,
                    context: ReportContext | None) -> dict[str, _ChildRender]:
    """A child per format but the JSON; the formats left when a fork fails (no memory, no process slot)
    are rendered in this process."""
    children: dict[str, _ChildRender] = {}
    for name in requested:
        if name != "json":
            try:
                children[name] = _ChildRender(partial(_render, name, result, context), FORMATS[name][0])
            except OSError:
                break
    return children


def _child_main(render: Callable[[], str], file_name: str, go_fd: int, done_fd: int) -> NoReturn:
    code = 0
    try:
        try:
            data, error = render().encode("utf-8"), None
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            data, error = b"", exc
        staging = _read_all(go_fd)
        if staging:  # else abandoned: the results are invalid
            if error is None:
                try:
                    _write_durably(Path(os.fsdecode(staging)) / file_name, data)
                except BaseException as exc:  # noqa: BLE001
                    error = exc
            answer = b"K" if error is None else b"E" + _pickled(error)
            with os.fdopen(done_fd, "wb") as done:
                done.write(answer)
    except BaseException:  # noqa: BLE001 - the parent sees a death without an answer
        code = 1
    finally:
        os._exit(code)


def _pickled(exc: BaseException) -> bytes:
    """The exception for the parent to raise, with the child's traceback as a note."""
    trace = "".join(traceback.format_exception(exc))
    try:
        exc.add_note(f"raised in the report renderer process {os.getpid()}:\n{trace}")
        return pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its text survives
        return pickle.dumps(RuntimeError(f"report renderer failed:\n{trace}"))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_reports(result: RunResult, out_dir: Path, formats: Sequence[str], *,
                  context: ReportContext | None = None, signer: Signer | None = None,
                  retire: RetirementPlanner | None = None) -> list[Path]:
    """Render ``formats`` of ``result`` into the new directory ``out_dir``; return the files written.

    Before anything touches the disk: every format name is checked (``ValueError`` names an unknown
    one), ``out_dir`` must not exist (``FileExistsError``), and the canonical JSON document is
    validated against the schema (``ResultsValidationError``); the very document validated is the one
    written. The reports are written to a temporary directory next to ``out_dir`` and renamed into
    place, so ``out_dir`` appears complete or not at all (a renderer's failure removes the temporary
    directory). The directory is private to the user (mode 0700): reports describe the weaknesses of the
    audited hosts. From ``PARALLEL_FROM_FINDINGS`` findings on, on more than one CPU, each format but
    the JSON is rendered in a forked process of its own, which writes it once this one has validated.

    ``context`` (the previous run, the diff, the history) feeds the HTML and SARIF views. With a
    ``signer``, the staging directory also gets ``manifest.json`` (SHA-256 of every report, the previous
    run's manifest digest), ``manifest.sig`` and ``manifest.pub`` before it is renamed into place, and the
    chain head of the reports directory moves to the new run, all under a lock so two runs never fork
    the chain. ``retire`` (retention's planner), called under that lock, names the older runs the new
    manifest retires.
    """
    requested = _check_formats(formats)
    out_dir = Path(out_dir)
    _refuse_existing(out_dir)

    parent = out_dir.absolute().parent
    children: dict[str, _ChildRender] = {}
    staging: Path | None = None
    try:
        with gc_paused():
            if len(result.findings) >= PARALLEL_FROM_FINDINGS and _cpus() > 1 and hasattr(os, "fork"):
                children = _fork_renderers(requested, result, context)
            # What is validated is what is written: this document, serialised by dumps_document.
            document = result.to_dict()
            validate_results(document)
            parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=parent))
            for child in children.values():
                child.start(staging)
            for name in requested:
                if name in children:
                    children.pop(name).wait()
                    continue
                text = dumps_document(document) if name == "json" else _render(name, result, context)
                _write_durably(staging / FORMATS[name][0], text)
                del text
            del document
        assert staging is not None
        if signer is None:
            _publish(staging, out_dir)
        else:
            with chain_lock(parent):
                previous = previous_link(parent)
                retired = [] if retire is None else retire(parent, result.metadata.run_id, previous)
                digest = write_manifest(staging, result.metadata.run_id, signer, previous, retired)
                _publish(staging, out_dir)
                write_head(parent, result.metadata.run_id, out_dir.name, digest)
    except BaseException:
        for child in children.values():
            child.abandon()
        if staging is not None:
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
