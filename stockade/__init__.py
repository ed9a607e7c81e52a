"""Stockade: apply a data-handling security policy to Debian servers and prove it."""

__version__ = "0.1.0"
