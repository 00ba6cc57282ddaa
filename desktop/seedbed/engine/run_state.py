"""A task's run as the parts of its runner share it: the task, project and run as last
stored, the stop asked for, and what one part learns that another decides on (Qt-free).

runner.py carries the run through its steps, driving.py drives its processes,
finishing.py commits and ends it, run_log.py records it; each is handed this one state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Unpack

from seedbed.agents.base import AgentRun
from seedbed.core.context import Stopping
from seedbed.domain.events import ErrorEvent, StatusEvent
from seedbed.domain.models import Control, Phase, Project, Run, Task, TaskChanges
from seedbed.engine.run_log import RunLog
from seedbed.store import Store


class RunState:
    """The task one runner carries and its current run; `new_run` clears what a run
    learnt before the next one (a fix round) begins."""

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        task: Task,
        run_log: RunLog,
        on_change: Callable[[int], None],
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.task = task
        self.project: Project = store.get_project(task.project_id)
        self.run: Run | None = None
        self.run_log = run_log
        self.on_change = on_change
        self.control = Control.NONE
        self.halt_reason = ""  # a budget the engine stopped the run for
        self.merged_base = False  # the base was merged in before the agent started
        self.nothing_changed = False  # this run left no diff: no checks, no review
        self.git_cut = False  # a git of the run was cut: its end runs none (it may hang)
        self.refs_before: dict[str, str] | None = None  # the refs as its agent started
        # "Allow for this task" answers, as rules: kept for every run of this go.
        self.permission_rules: list[str] = []
        self.agent: AgentRun | None = None  # the agent while it runs
        self.asking = 0  # questions its agent waits on (engine/asking.py)
        self.asked_from = Phase.IMPLEMENTING  # the phase it goes back to once answered
        # Set by the task's stop (the engine's too): its auto-merge ends, interrupted.
        self.stopping = Stopping()

    def new_run(self) -> None:
        self.halt_reason = ""
        self.nothing_changed = False
        self.git_cut = False
        self.refs_before = None

    def log(self, event: StatusEvent | ErrorEvent) -> None:
        self.run_log.log(event)

    def changed(self) -> None:
        """Tell the engine the task changed."""
        self.on_change(self.task.id)

    def set_phase(self, phase: Phase) -> None:
        self.task = self.store.update_task(self.task.id, phase=phase)
        if self.run_log.begun:
            self.log(StatusEvent(phase=phase.value, message=phase.value))
        self.changed()

    def update(self, **fields: Unpack[TaskChanges]) -> Task:
        self.task = self.store.update_task(self.task.id, **fields)
        return self.task
