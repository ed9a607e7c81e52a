"""YAML loaders stricter than yaml.SafeLoader, for files people edit by hand (the catalogue, waivers, attestations).

Use them as `yaml.load(text, Loader=UniqueKeyLoader)`: both are yaml.SafeLoader subclasses.
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


class UniqueKeyLoader(yaml.SafeLoader):
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
        return super().construct_mapping(node, deep=deep)


class DatesAsTextLoader(UniqueKeyLoader):
    """UniqueKeyLoader keeping dates as text, so a bad date is reported at its key rather than as a bare ValueError."""


DatesAsTextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in UniqueKeyLoader.yaml_implicit_resolvers.items()
}
