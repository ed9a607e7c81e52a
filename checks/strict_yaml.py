"""YAML loaders stricter than yaml.SafeLoader, for files people edit by hand (the catalogue, waivers, attestations),
and the limits every YAML input of Stockade is held to before it is parsed for real.

Use the loaders as `yaml.load(text, Loader=UniqueKeyLoader)`: both are safe loaders (SafeConstructor, libyaml's
parser when PyYAML has it). Before loading a file people or machines hand us, call `read_text` (size, binary,
UTF-8) and `check_shape` (nesting depth, alias expansion): an alias bomb or a document nested a million deep is
refused from its events, in milliseconds, before anything builds it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml
import yaml.constructor
import yaml.events
import yaml.nodes

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

# The C parser (libyaml) reads about 20x faster than PyYAML's pure-Python one; both give the same events.
_SafeBase: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 100  # nested collections in one document; far beyond any inventory, catalogue or waivers file
MAX_ALIAS_NODES = 100_000  # nodes that aliases may add to a document once expanded (a YAML alias bomb adds billions)
MiB = 1024 * 1024


def kind(value: object) -> str:
    """A YAML-ish name for a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


class InputFileError(ValueError):
    """A file refused before it is parsed: `problem` says why (the caller names the file)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class YamlShapeError(yaml.MarkedYAMLError):
    """A document nested too deep, or whose aliases expand too far; `problem_mark` is where it was seen."""

    def __init__(self, problem: str, mark: Any) -> None:  # yaml.Mark, or libyaml's
        super().__init__(None, None, problem, mark)


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing (InputFileError) a file over `max_bytes`. Reads at most `max_bytes + 1` bytes,
    so a huge file or a device (/dev/zero) costs no more than the limit. OSErrors propagate for the caller."""
    with path.open("rb") as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputFileError(f"larger than {_size(max_bytes)}, the most accepted for this file")
    return data


def decode_text(data: bytes) -> str:
    """UTF-8 text, refusing (InputFileError) binary content (a NUL byte) and invalid UTF-8."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputFileError(f"binary content (a NUL byte at offset {nul}), not a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"not UTF-8 text (bad byte at offset {exc.start})") from None


def read_text(path: Path, max_bytes: int) -> str:
    """`decode_text(read_bytes(path, max_bytes))`."""
    return decode_text(read_bytes(path, max_bytes))


def _size(count: int) -> str:
    return f"{count // MiB} MiB" if count % MiB == 0 else f"{count} bytes"


def check_shape(text: str, max_depth: int = MAX_DEPTH, max_alias_nodes: int = MAX_ALIAS_NODES) -> None:
    """Walk the YAML events of `text` (every document of it) without building anything; raise YamlShapeError
    for nesting deeper than `max_depth` or aliases that would add more than `max_alias_nodes` nodes once
    expanded, and a recursive alias (an alias inside the node it names). Syntax errors raise as yaml.YAMLError.
    """
    weights: dict[str, int] = {}  # anchor -> nodes in the anchored node, aliases expanded
    open_anchors: set[str] = set()
    stack: list[list[Any]] = []  # per open collection: [anchor, nodes so far]
    added = 0
    for event in yaml.parse(text, Loader=_SafeBase):
        if isinstance(event, yaml.events.CollectionStartEvent):
            if len(stack) >= max_depth:
                raise YamlShapeError(f"nested deeper than {max_depth} levels (refused)", event.start_mark)
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            stack.append([event.anchor, 1])
            continue
        if isinstance(event, yaml.events.CollectionEndEvent):
            anchor, weight = stack.pop()
            if anchor is not None:
                open_anchors.discard(anchor)
                weights[anchor] = weight
        elif isinstance(event, yaml.events.ScalarEvent):
            weight = 1
            if event.anchor is not None:
                weights[event.anchor] = 1
        elif isinstance(event, yaml.events.AliasEvent):
            if event.anchor in open_anchors:
                raise YamlShapeError(f"recursive alias *{event.anchor} (inside the node it names)", event.start_mark)
            weight = weights.get(event.anchor or "", 1)  # an undefined alias is the parser's error, later
            added += weight
            if added > max_alias_nodes:
                raise YamlShapeError(f"aliases expand to more than {max_alias_nodes} nodes (refused: a YAML alias "
                                     "bomb?)", event.start_mark)
        else:
            continue
        if stack:
            stack[-1][1] += weight


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A key given twice in one mapping; `key` is the key and `first_line` (1-based) where it was first given."""

    def __init__(self, key: object, first: yaml.Mark, again: yaml.Mark) -> None:
        super().__init__(None, None, f"key {key!r} given twice (first on line {first.line + 1})", again)
        self.key = key
        self.first_line = first.line + 1


class UniqueKeyLoader(_SafeBase):  # type: ignore[misc]
    """A safe loader that refuses a key given twice in one mapping (safe_load keeps the last silently)."""

    def construct_mapping(self, node: yaml.nodes.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:  # unhashable: SafeLoader reports it
                continue
            if first is not key_node.start_mark:
                raise DuplicateKeyError(key, first, key_node.start_mark)
        result: dict[Hashable, Any] = super().construct_mapping(node, deep=deep)
        return result


class DatesAsTextLoader(UniqueKeyLoader):
    """UniqueKeyLoader keeping dates as text, so a bad date is reported at its key rather than as a bare ValueError."""


DatesAsTextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in UniqueKeyLoader.yaml_implicit_resolvers.items()
}
