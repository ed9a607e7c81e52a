"""Progress shows on a terminal and stays silent when output is piped."""

from __future__ import annotations

import io

from stockade.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_counts_and_clears_its_line() -> None:
    stream = Terminal()
    progress = Progress(2, "audited", stream)
    progress.advance("web-1")
    progress.advance("web-2")
    progress.close()
    text = stream.getvalue()
    assert "audited 1/2 web-1" in text and "audited 2/2 web-2" in text
    assert text.endswith("\r\033[K")


def test_progress_is_silent_when_piped() -> None:
    stream = io.StringIO()
    progress = Progress(1, "audited", stream)
    progress.advance("web-1")
    progress.close()
    assert stream.getvalue() == ""
