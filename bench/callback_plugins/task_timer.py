"""Per-task wall time for bench/harden.py, written as JSON (ansible.posix.profile_tasks is not installed here).

Enabled only by the bench: ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins ANSIBLE_CALLBACKS_ENABLED=task_timer
and STOCKADE_BENCH_TASK_TIMES=FILE. Like profile_tasks, a task lasts from its start to the next task's start
(the linear strategy runs one task on every host before the next), so the times add up to the play's wall time.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_timer
type: aggregate
short_description: per-task wall time as JSON, for Stockade's harden bench
description:
  - Writes a JSON list of task, role, kind and seconds to the file named by STOCKADE_BENCH_TASK_TIMES.
requirements: [enable in configuration]
"""


class CallbackModule(CallbackBase):  # type: ignore[misc] - Ansible's base class is untyped
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._tasks: list[dict[str, Any]] = []
        self._started = 0.0

    def _close(self) -> None:
        if self._tasks and "seconds" not in self._tasks[-1]:
            self._tasks[-1]["seconds"] = round(time.perf_counter() - self._started, 3)

    def _open(self, task: Any, kind: str) -> None:
        self._close()
        role = task._role.get_name() if getattr(task, "_role", None) else ""
        self._tasks.append({"task": task.get_name(), "role": role, "kind": kind})
        self._started = time.perf_counter()

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._open(task, "task")

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self._open(task, "handler")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        self._close()
        target = os.environ.get("STOCKADE_BENCH_TASK_TIMES")
        if target:
            with open(target, "w", encoding="utf-8") as handle:  # noqa: PTH123 - plain file for the bench
                json.dump(self._tasks, handle)
