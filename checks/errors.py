"""Errors a user can act on: the CLI prints them as one line and exits non-zero (stockade/errors.py)."""


class StockadeError(Exception):
    """A failure with a message meant for the operator (no traceback)."""

    exit_code = 2


class UsageError(StockadeError):
    """Bad input: arguments, inventory, policy, waivers."""

    exit_code = 2
