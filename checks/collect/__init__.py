"""The collector: core.py (registry, helpers, entry point) plus one module per area registering its facts."""
