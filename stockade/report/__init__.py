"""Reports are views over one results model.

``RunResult.to_dict()`` is the canonical document; ``json_report`` serialises and validates it
against ``results.schema.json``. The HTML and JUnit renderers are views over the same
``RunResult``, and ``writer`` renders the requested formats into a new directory atomically.
"""
