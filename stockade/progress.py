"""A one-line progress display on a terminal; silence when the output is piped or redirected."""

from __future__ import annotations

import sys
import threading
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str, stream: TextIO = sys.stderr) -> None:
        self.total, self.label, self.stream = total, label, stream
        self.done = 0
        self.enabled = stream.isatty()
        self._lock = threading.Lock()

    def advance(self, note: str = "") -> None:
        with self._lock:
            self.done += 1
            if self.enabled:
                self.stream.write(f"\r\033[K{self.label} {self.done}/{self.total} {note}")
                self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\r\033[K")
            self.stream.flush()
