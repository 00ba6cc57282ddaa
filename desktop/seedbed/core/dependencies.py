"""Task dependencies: a task can wait for others to be merged before it starts ("after
#12"). Qt-free; the engine asks `blocked_by` before it starts a queued task."""

from __future__ import annotations

from collections.abc import Iterable

from seedbed.core.context import Changed, Context, Done
from seedbed.domain.errors import UserError
from seedbed.domain.models import Task, TaskState
from seedbed.store import Store


def check_dependencies(store: Store, task: Task, after: Iterable[int]) -> list[int]:
    """The ids `task` may wait for, sorted and without repeats: tasks of its project,
    not itself, not discarded, and no cycle (a waits for b waits for a)."""
    wanted = sorted(set(after))
    for other_id in wanted:
        if other_id == task.id:
            raise UserError(f"task {task.id} cannot wait for itself")
        other = store.get_task(other_id)  # a clear error when there is no such task
        if other.project_id != task.project_id:
            raise UserError(f"task {other_id} belongs to another project: it cannot be waited for")
        if other.state is TaskState.DISCARDED:
            raise UserError(f"task {other_id} was discarded: it will never be merged")
    if task.id:
        by_id = {t.id: t for t in store.list_tasks(project_id=task.project_id)}
        for other_id in wanted:
            path = _path_to(by_id, other_id, task.id)
            if path is not None:
                cycle = " → ".join(f"#{n}" for n in [task.id, *path])
                raise UserError(f"that would make a cycle: {cycle}")
    return wanted


def _path_to(by_id: dict[int, Task], start: int, goal: int) -> list[int] | None:
    """The chain of waits from `start` that reaches `goal`, if any (depth first)."""
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen: set[int] = set()
    while stack:
        current, path = stack.pop()
        if current == goal:
            return path
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        stack.extend((n, [*path, n]) for n in by_id[current].after)
    return None


def set_dependencies(ctx: Context, task_id: int, after: Iterable[int]) -> Done[Task]:
    """Make the task wait for these (replacing what it waited for)."""
    store = ctx.store
    task = store.get_task(task_id)
    if task.state in (TaskState.MERGED, TaskState.DISCARDED):
        raise UserError(f"task {task_id} is {task.state.value}: it waits for nothing now")
    task = store.update_task(task_id, after=check_dependencies(store, task, after))
    return Done(value=task, changed=Changed.task(task_id))


def blocked_by(task: Task, states: dict[int, TaskState]) -> list[int]:
    """The tasks `task` still waits for (not merged yet), given every task's state."""
    return [n for n in task.after if states.get(n) is not TaskState.MERGED]
