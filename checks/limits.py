"""The documented limits on what Stockade reads (README.md, "Input limits"): a file over its limit is refused
before it is parsed (exit 2), so a careless or hostile input costs at most this much time and memory."""

from __future__ import annotations

from checks.strict_yaml import MAX_ALIAS_NODES, MAX_DEPTH, MiB

MAX_CATALOGUE_FILE_BYTES = 1 * MiB  # policy.yml, controls.yml (each; today about 80 KiB together)
MAX_WAIVERS_BYTES = 1 * MiB  # a waivers file: several thousand waivers
MAX_ATTESTATIONS_BYTES = 1 * MiB  # an attestations file
MAX_INVENTORY_FILE_BYTES = 8 * MiB  # each file of an inventory source (and its group_vars/, host_vars/)
MAX_INVENTORY_FILES = 1000  # files in one inventory source (a directory with its group_vars/, host_vars/)

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_ATTESTATIONS_BYTES",
    "MAX_CATALOGUE_FILE_BYTES",
    "MAX_DEPTH",
    "MAX_INVENTORY_FILES",
    "MAX_INVENTORY_FILE_BYTES",
    "MAX_WAIVERS_BYTES",
]
