"""Errors a user can act on (defined in checks/errors.py, the leaf both packages import) and the exit code of
a run that could not evaluate something."""

from checks.errors import StockadeError, UsageError

__all__ = ["EXIT_ERROR", "StockadeError", "UsageError"]

# Exit code of a run in which something could not be evaluated (or Stockade itself crashed): never a pass.
EXIT_ERROR = 3
