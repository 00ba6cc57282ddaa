"""What Seedbed's MCP tools do for one run (talkback.tools.RunDesk), on the engine's
loop: its progress line on the card, the board read, a task added, a question asked."""

from __future__ import annotations

from seedbed.core.context import Context
from seedbed.core.tasks import TaskDraft, create_task
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import StatusEvent
from seedbed.domain.lifecycle import LABELS
from seedbed.domain.models import Task, TaskState
from seedbed.engine.asking import STOPPED, Asking, ask
from seedbed.engine.run_state import RunState
from seedbed.talkback.tools import MAX_PROGRESS, ToolRefused

MAX_LISTED = 200  # tasks `list_tasks` names, the newest first beyond that


def _where(task: Task) -> str:
    where = LABELS[task.state]
    return f"{where} ({task.phase.value})" if task.phase.value else where


class EngineDesk:
    """The run's side of Seedbed's tools: scoped to its task and that task's project."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    async def report_progress(self, text: str) -> str:
        state = self.state
        line = " ".join(text.split())[:MAX_PROGRESS]
        if state.run is None:
            raise ToolRefused("no run is going on")
        state.run = state.store.update_run(state.run.id, progress=line)
        state.log(StatusEvent(phase=state.task.phase.value, message=f"progress: {line}"))
        state.changed()
        return "shown on your task's card"

    async def list_tasks(self) -> str:
        state = self.state
        tasks = [
            task
            for task in state.store.list_tasks(state.project.id)
            if task.state is not TaskState.DISCARDED
        ]
        if not tasks:
            return "no tasks"
        shown = sorted(tasks, key=lambda task: task.id)[-MAX_LISTED:]
        lines = [f"#{task.id} {_where(task)}: {task.title}" for task in shown]
        if len(tasks) > len(shown):
            lines.insert(0, f"(the newest {len(shown)} of {len(tasks)})")
        you = f"(you are #{state.task.id})"
        return "\n".join([*lines, you])

    async def task_status(self, task_id: int) -> str:
        state = self.state
        try:
            task = state.store.get_task(task_id)
        except SeedbedError:
            task = None
        if task is None or task.project_id != state.project.id:
            raise ToolRefused(f"there is no task #{task_id} in this project")
        lines = [f"#{task.id} {task.title}", f"column: {_where(task)}"]
        if task.branch:
            lines.append(f"branch: {task.branch}")
        if task.after:
            lines.append("waits for: " + ", ".join(f"#{n}" for n in task.after))
        if task.error:
            lines.append(f"error: {task.error}")
        return "\n".join(lines)

    async def create_task(self, title: str, prompt: str, after: list[int]) -> str:
        state = self.state
        project = state.store.get_project(state.project.id)
        draft = TaskDraft(
            project=project.id,
            title=title,
            prompt=prompt,
            after=after,
            start=project.agents_start_tasks,
            origin=state.task.id,
        )
        try:
            added = create_task(Context(state.store), draft).value
        except SeedbedError as error:
            raise ToolRefused(str(error)) from None
        state.on_change(added.id)
        message = f"added task #{added.id} {added.title!r}"
        state.log(StatusEvent(phase=state.task.phase.value, message=message))
        if project.agents_start_tasks:
            return f"added task #{added.id}; it starts as soon as it can"
        return f"added task #{added.id} in Planned; it waits there for the user to start it"

    async def ask_user(self, question: str, options: list[str]) -> str:
        state = self.state
        if state.run is None:
            raise ToolRefused("no run is going on")
        reply = await ask(state, Asking(text=question.strip(), options=options))
        if not reply.answered and reply.text == STOPPED:
            raise ToolRefused(STOPPED)
        return reply.text
