"""Running the machine's own tools, with failures turned into operator-readable errors."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from stockade.errors import StockadeError


class CommandFailed(StockadeError):
    pass


def run(argv: Sequence[str], *, check: bool = True, input_text: str | None = None,
        timeout: float | None = 600) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output; on failure raise with the command and its stderr."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, input=input_text,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(f"{argv[0]}: timed out after {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise CommandFailed(f"{' '.join(argv)}: exit {proc.returncode}: {detail[-1] if detail else ''}")
    return proc


def require_tools(tools: Sequence[str]) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise StockadeError(f"missing tools: {', '.join(missing)} (run `make setup` to install them)")
