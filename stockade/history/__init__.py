"""Run history and drift: every audit recorded in SQLite, diffs between runs, retention.

``store`` keeps runs and their findings (an embedded SQLite database, default ``<output>/history.sqlite``);
``diff`` compares two runs finding by finding; ``context`` carries the previous run and the series of past
runs into the HTML and SARIF renderers.
"""
