"""Checks: metadata next to pure evaluators; facts come from one collector run per host."""
