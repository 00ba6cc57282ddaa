"""The diff budget and the conflict radar: warnings a card and the reviewer show early.

A diff past the project's budget is hard to review in one sitting, so it is said as
soon as the card shows it. Two active tasks that change the same file will likely
conflict at the second merge, so both are told before either is merged; the radar is
computed on demand from the live diffs rather than stored, so it is never stale.
"""

from __future__ import annotations

from collections.abc import Mapping

from seedbed.core.changes import diff_files
from seedbed.core.context import Context
from seedbed.domain.errors import SeedbedError
from seedbed.domain.models import TaskState

ACTIVE = (TaskState.RUNNING, TaskState.AWAITING_REVIEW)

Overlaps = dict[int, list[tuple[int, list[str]]]]


def budget_note(lines: int, budget: int) -> str:
    """ "1,240 lines, budget 400: consider splitting" past the budget; else empty (and
    always empty with no budget, 0)."""
    if budget <= 0 or lines <= budget:
        return ""
    return f"{lines:,} lines, budget {budget:,}: consider splitting"


def overlaps(files_by_task: Mapping[int, set[str]]) -> Overlaps:
    """For each task, the other tasks that change some of the same files, and which
    (both in ascending order); a task that shares nothing maps to an empty list."""
    found: Overlaps = {}
    for task_id, files in sorted(files_by_task.items()):
        found[task_id] = [
            (other_id, sorted(files & other_files))
            for other_id, other_files in sorted(files_by_task.items())
            if other_id != task_id and files & other_files
        ]
    return found


def overlapping_tasks(
    ctx: Context, project_id: int, known: Mapping[int, set[str]] | None = None
) -> Overlaps:
    """The conflict radar over a project's active tasks (running or awaiting review)
    with a branch. A task whose branch or worktree is gone, or whose diff cannot be read
    now, is left out rather than failing the others. `known`: files already known for
    some tasks (the reviewer has just parsed its task's diff)."""
    store = ctx.store
    files_by_task: dict[int, set[str]] = {}
    for task in store.list_tasks(project_id, states=ACTIVE):
        if task.branch is None:
            continue
        if known and task.id in known:
            files_by_task[task.id] = set(known[task.id])
            continue
        try:
            changes = diff_files(store, task)
        except (SeedbedError, OSError):
            continue
        files_by_task[task.id] = {c.path for c in changes} | {
            c.old_path for c in changes if c.old_path
        }
    return overlaps(files_by_task)
