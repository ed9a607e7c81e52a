"""A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``: stdlib only, for the report tests.

The browser reads commands from fd 3 and writes responses and events to fd 4, each one JSON message ended by a
NUL byte. One reader thread parses what the browser writes; every wait has a timeout, and the browser (started
in a session of its own) is killed by its PID when the client closes.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root; Chromium refuses to start its sandbox as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)

Message = dict[str, Any]


class CdpError(RuntimeError):
    """The browser answered a command with an error, closed the pipe, or did not answer in time."""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path is not None:
            return path
    return None


@contextlib.contextmanager
def report_browser() -> Iterator[Browser]:
    """Headless Chromium watching what a report page does: its page, scripts, console and network requests."""
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("chromium is not installed: run scripts/setup.sh (it installs Debian's chromium package)")
    with Browser(chromium, timeout=120) as opened:
        for domain in ("Page", "Runtime", "Log", "Network"):
            opened.send(f"{domain}.enable")
        yield opened


def _above_nine(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more (closing ``fd``)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    """One headless Chromium and one page session: ``send`` commands, collect ``events``, ``wait_for`` one."""

    def __init__(self, executable: str, *, window: tuple[int, int] = (1280, 900), timeout: float = 60) -> None:
        self.timeout = timeout
        self.events: list[Message] = []
        self._profile = tempfile.TemporaryDirectory(prefix="stockade-chromium-")
        self._responses: dict[int, Message] = {}
        self._next_id = 0
        self._closed = False
        self._cond = threading.Condition()
        self._session: str | None = None
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # The browser's ends move to fds >= 10 (bash, not dash, redirects those) so `3<&N 4>&M` cannot clobber them.
        to_browser_read = _above_nine(to_browser_read)
        from_browser_write = _above_nine(from_browser_write)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close(), which __init__ guarantees
        # The launcher script execs the browser, and `exec` here keeps the PID: proc.pid is the browser.
        read_fd, write_fd = to_browser_read, from_browser_write
        redirect = f'exec "$0" "$@" 3<&{read_fd} 4>&{write_fd} {read_fd}<&- {write_fd}>&-'
        argv = ["bash", "-c", redirect, executable, *FLAGS, f"--user-data-dir={self._profile.name}",
                f"--window-size={window[0]},{window[1]}", "about:blank"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr, pass_fds=(to_browser_read, from_browser_write),
                                     start_new_session=True)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()
        try:
            self._attach_to_page()
        except BaseException:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _read(self) -> None:
        buffer = bytearray()
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            buffer += chunk
            while (end := buffer.find(b"\0")) >= 0:
                message = json.loads(buffer[:end])
                del buffer[: end + 1]
                with self._cond:
                    if "id" in message:
                        self._responses[message["id"]] = message
                    else:
                        self.events.append(message)
                    self._cond.notify_all()

    def _wait(self, ready: Callable[[], Any], what: str, timeout: float | None) -> Any:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while True:
                value = ready()
                if value is not None:
                    return value
                if self._closed:
                    raise CdpError(f"the browser closed the pipe while waiting for {what}: {self.stderr_tail()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CdpError(f"no {what} within {self.timeout if timeout is None else timeout} s")
                self._cond.wait(remaining)

    def send(self, method: str, params: Message | None = None, *, browser_level: bool = False,
             timeout: float | None = None) -> Message:
        """Send one command (to the page session unless ``browser_level``) and return its result."""
        with self._cond:
            self._next_id += 1
            command_id = self._next_id
        message: Message = {"id": command_id, "method": method, "params": params or {}}
        if not browser_level and self._session is not None:
            message["sessionId"] = self._session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._to_browser, data):]
        except OSError as exc:
            raise CdpError(f"cannot send {method}: {exc}; {self.stderr_tail()}") from exc
        response: Message = self._wait(lambda: self._responses.pop(command_id, None), f"answer to {method}", timeout)
        if "error" in response:
            raise CdpError(f"{method} failed: {response['error']}")
        result: Message = response.get("result", {})
        return result

    def wait_for(self, method: str, predicate: Callable[[Message], bool] = lambda _: True, *,
                 since: int = 0, timeout: float | None = None) -> Message:
        """The first event ``method`` (from index ``since`` of ``events``) whose params satisfy ``predicate``."""
        def find() -> Message | None:
            return next((event for event in self.events[since:]
                         if event.get("method") == method and predicate(event.get("params", {}))), None)
        event: Message = self._wait(find, f"event {method}", timeout)
        return event

    def events_named(self, *methods: str) -> list[Message]:
        with self._cond:
            return [event for event in self.events if event.get("method") in methods]

    def stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-2000:].decode(errors="replace")

    def _attach_to_page(self) -> None:
        targets = self.send("Target.getTargets", browser_level=True)["targetInfos"]
        page = next((target for target in targets if target["type"] == "page"), None)
        if page is None:
            page = {"targetId": self.send("Target.createTarget", {"url": "about:blank"},
                                          browser_level=True)["targetId"]}
        self._session = self.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True},
                                  browser_level=True)["sessionId"]

    # -- page helpers -----------------------------------------------------------------------------------------
    def navigate(self, url: str, timeout: float | None = None) -> float:
        """Load ``url`` and wait for its load event; return the seconds from navigation to load."""
        since = len(self.events)
        started = time.perf_counter()
        result = self.send("Page.navigate", {"url": url}, timeout=timeout)
        if result.get("errorText"):
            raise CdpError(f"navigation to {url} failed: {result['errorText']}")
        self.wait_for("Page.loadEventFired", since=since, timeout=timeout)
        return time.perf_counter() - started

    def go_to_fragment(self, url: str, fragment: str, timeout: float | None = None) -> None:
        """Follow a link to ``#fragment`` of the page loaded from ``url`` (a same-document navigation)."""
        since = len(self.events)
        self.send("Page.navigate", {"url": f"{url}#{fragment}"}, timeout=timeout)
        self.wait_for("Page.navigatedWithinDocument", lambda params: params.get("url", "").endswith(f"#{fragment}"),
                      since=since, timeout=timeout)

    def metrics(self, timeout: float | None = None) -> dict[str, float]:
        """The page's Performance.getMetrics by name (Nodes, LayoutDuration, RecalcStyleDuration, TaskDuration...).

        Needs ``Performance.enable`` sent before the page was loaded; durations are seconds of the renderer's
        main thread since then.
        """
        found = self.send("Performance.getMetrics", timeout=timeout)["metrics"]
        return {metric["name"]: metric["value"] for metric in found}

    def evaluate(self, expression: str, timeout: float | None = None) -> Any:
        """The JSON value of a JavaScript expression in the page (DevTools evaluation is not subject to CSP)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in result:
            raise CdpError(f"evaluation failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = False, max_height: int = 16000,
                   timeout: float | None = None) -> Path:
        params: Message = {"format": "png"}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size[0], "height": min(size[1], max_height), "scale": 1})
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params, timeout=timeout)["data"]))
        return path

    def print_to_pdf(self, path: Path, timeout: float | None = None) -> Path:
        result = self.send("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                           timeout=timeout)
        path.write_bytes(base64.b64decode(result["data"]))
        return path

    # -- shutdown ---------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Ask the browser to close, then kill its process group (a session of its own) by PID, and reap it.

        The browser is not reaped before the kill, so its PID (the group's id) cannot have been reused.
        """
        if self.proc.returncode is None:
            try:
                self.send("Browser.close", browser_level=True, timeout=5)
                self._wait(lambda: True if self._closed else None, "the browser to exit", 10)
            except CdpError:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # helpers (zygote, renderers) share the group
            self.proc.wait(timeout=10)
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._reader.join(timeout=5)
        self._stderr.close()
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
