"""YAML loaders stricter than yaml.SafeLoader, for files people edit by hand (the catalogue, waivers, attestations).

Use them as `yaml.load(text, Loader=UniqueKeyLoader)`: both are safe loaders (SafeConstructor), on libyaml's
C parser when PyYAML has it (the catalogue parses ~10x faster: it is on every audit's path).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
import yaml.constructor
import yaml.nodes

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A key given twice in one mapping; `key` is the key and `first_line` (1-based) where it was first given."""

    def __init__(self, key: object, first: yaml.Mark, again: yaml.Mark) -> None:
        super().__init__(None, None, f"key {key!r} given twice (first on line {first.line + 1})", again)
        self.key = key
        self.first_line = first.line + 1


_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(_SAFE_LOADER):  # type: ignore[valid-type,misc]
    """yaml.SafeLoader that refuses a key given twice in one mapping (safe_load keeps the last silently)."""

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
        mapping: dict[Hashable, Any] = super().construct_mapping(node, deep=deep)
        return mapping


class DatesAsTextLoader(UniqueKeyLoader):
    """UniqueKeyLoader keeping dates as text, so a bad date is reported at its key rather than as a bare ValueError."""


DatesAsTextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in UniqueKeyLoader.yaml_implicit_resolvers.items()
}
