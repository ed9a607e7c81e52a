"""Strict reading of the operator's YAML data files (waivers, attestations).

Every problem is one line naming the file and the key path, e.g.
`waivers.yml: waivers[2].expires: '2026-13-01' is not a date (YYYY-MM-DD)`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import NoReturn

import yaml

from checks.limits import MAX_WAIVERS_BYTES
from checks.strict_yaml import DatesAsTextLoader, DuplicateKeyError, InputFileError, check_shape, kind, read_text
from stockade.errors import UsageError

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _key_path(where: str, key: object) -> str:
    return f"{where}.{key}" if isinstance(key, str) else f"{where}[{key!r}]"


class DataFile:
    """One strictly validated YAML file of the form `{<top key>: [ {...}, ... ]}`.

    Every `fail` raises `error` with the message `<path>: <key path>: <problem>`. A file over `max_bytes`,
    binary, not UTF-8, nested too deep or with aliases that expand too far is refused before it is built.
    """

    def __init__(self, path: Path, top_key: str, error: type[UsageError], max_bytes: int = MAX_WAIVERS_BYTES) -> None:
        self.path = path
        self.top_key = top_key
        self.error = error
        self.max_bytes = max_bytes

    def fail(self, where: str, problem: str) -> NoReturn:
        raise self.error(f"{self.path}: {where}: {problem}")

    def document(self) -> object:
        """The file's document, refused (`error`) when over size, binary, too deep, alias-bombed or not YAML."""
        return self._load()

    def _load(self) -> object:
        try:
            text = read_text(self.path, self.max_bytes)
        except FileNotFoundError:
            raise self.error(f"{self.path}: file not found") from None
        except InputFileError as exc:
            raise self.error(f"{self.path}: {exc.problem}") from None
        except OSError as exc:
            raise self.error(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        loader = None
        try:
            check_shape(text)
            loader = DatesAsTextLoader(text)
            return loader.get_single_data()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            if isinstance(exc, DuplicateKeyError):
                problem = f"found duplicate key {exc.key!r} (first on line {exc.first_line})"
            else:
                problem = exc.problem or exc.context or "invalid YAML"
            if mark is None:
                raise self.error(f"{self.path}: invalid YAML: {problem}") from None
            raise self.error(
                f"{self.path}: line {mark.line + 1}, column {mark.column + 1}: invalid YAML: {problem}"
            ) from None
        except yaml.YAMLError as exc:
            raise self.error(f"{self.path}: invalid YAML: {exc}") from None
        finally:
            if loader is not None:
                loader.dispose()

    def entries(self) -> list[tuple[str, Mapping[object, object]]]:
        """The entries of the top-level list, each with its key path (e.g. `waivers[2]`)."""
        document = self._load()
        expected = f"a mapping with the key {self.top_key!r}"
        if document is None:
            raise self.error(f"{self.path}: the file is empty (expected {expected})")
        if not isinstance(document, dict):
            raise self.error(f"{self.path}: expected {expected} at the top level, got {kind(document)}")
        for key in document:
            if key != self.top_key:
                self.fail(_key_path("(top level)", key) if not isinstance(key, str) else key,
                          f"unknown key (expected only {self.top_key!r})")
        if self.top_key not in document:
            self.fail(self.top_key, "required key is missing")
        items = document[self.top_key]
        if not isinstance(items, list):
            self.fail(self.top_key, f"expected a list, got {kind(items)}")
        result: list[tuple[str, Mapping[object, object]]] = []
        for index, item in enumerate(items):
            where = f"{self.top_key}[{index}]"
            if not isinstance(item, dict):
                self.fail(where, f"expected a mapping, got {kind(item)}")
            result.append((where, item))
        return result

    def check_keys(self, where: str, entry: Mapping[object, object], required: Collection[str],
                   optional: Collection[str] = ()) -> None:
        allowed = sorted({*required, *optional})
        for key in entry:
            if key not in allowed:
                self.fail(_key_path(where, key), f"unknown key (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in entry:
                self.fail(_key_path(where, key), "required key is missing")

    def text(self, where: str, entry: Mapping[object, object], key: str) -> str:
        """A non-empty string, stripped of surrounding whitespace."""
        value = entry[key]
        if not isinstance(value, str):
            self.fail(_key_path(where, key), f"expected a string, got {kind(value)} ({value!r})")
        if not value.strip():
            self.fail(_key_path(where, key), "must not be empty")
        return value.strip()

    def day(self, where: str, entry: Mapping[object, object], key: str) -> date:
        """A calendar date written YYYY-MM-DD."""
        value = entry[key]
        if not isinstance(value, str):
            self.fail(_key_path(where, key), f"expected a date (YYYY-MM-DD), got {kind(value)} ({value!r})")
        try:
            if not _DATE_RE.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.fail(_key_path(where, key), f"{value!r} is not a date (YYYY-MM-DD)")

