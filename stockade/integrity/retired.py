"""The runs a signed manifest retires under retention: what retention writes and verify reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RetiredRun:
    run_id: str
    directory: str
    manifest_sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"run_id": self.run_id, "dir": self.directory, "manifest_sha256": self.manifest_sha256}


def plain_name(name: object) -> bool:
    """A directory name directly inside the reports directory: no separator, not hidden, not ``..``."""
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\0" not in name
            and not name.startswith("."))


def retired_entries(document: dict[str, Any]) -> list[RetiredRun] | None:
    """The ``retired`` list of a manifest (``[]`` for a version 1 manifest); ``None`` when malformed."""
    entries = document.get("retired", [])
    if not isinstance(entries, list):
        return None
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        run_id, directory, digest = entry.get("run_id"), entry.get("dir"), entry.get("manifest_sha256")
        if not (isinstance(run_id, str) and isinstance(directory, str) and isinstance(digest, str)):
            return None
        found.append(RetiredRun(run_id, directory, digest))
    return found
