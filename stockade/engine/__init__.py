"""Audit engine: collect facts from hosts once, evaluate them locally, produce findings."""
