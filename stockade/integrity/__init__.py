"""Tamper-evidence for report directories: SHA-256 manifests signed with Ed25519, chained run to run.

``keys`` holds the signing key (generated on first use, private key 0600, never printed), ``manifest``
writes ``manifest.json`` / ``manifest.sig`` / ``manifest.pub`` into a run directory and keeps the chain
head, ``verify`` tells a reviewer whether any file of a run changed or a run of the chain is missing.
"""
