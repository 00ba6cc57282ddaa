"""What dropping a card on a column means: pure rules, no Qt, tested on their own.

Drag and drop, the context menu and the keyboard (Ctrl+Left / Ctrl+Right) all go
through `plan_move`, so the three can never disagree.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from seedbed.domain.lifecycle import LABELS
from seedbed.domain.models import Phase, Task, TaskState

COLUMNS: list[TaskState] = [
    TaskState.PLANNED,
    TaskState.RUNNING,
    TaskState.AWAITING_REVIEW,
    TaskState.MERGED,
]


class MoveKind(StrEnum):
    REORDER = "reorder"
    START = "start"
    REQUEUE = "requeue"
    RESUME = "resume"
    APPROVE = "approve"
    NOTHING = "nothing"
    REFUSE = "refuse"


class MovePlan(BaseModel):
    kind: MoveKind
    message: str = ""
    confirm: str = ""


def plan_move(task: Task, target: TaskState, merge_label: str = "squash") -> MovePlan:
    """What moving `task` to the `target` column does, the confirmation to ask first
    (empty: none), or why it is refused."""
    name = f"#{task.id} {' '.join(task.title.split())}"
    current = task.state
    if task.phase is Phase.MERGING and current is not target:
        return MovePlan(
            kind=MoveKind.REFUSE,
            message=f"{name} is being merged (its merge result is queued or checked): wait "
            "for it to land or fail.",
        )
    if current is target:
        if current is TaskState.PLANNED:
            return MovePlan(kind=MoveKind.REORDER)
        return MovePlan(kind=MoveKind.NOTHING)
    pair = (current, target)
    if pair == (TaskState.PLANNED, TaskState.RUNNING):
        return MovePlan(kind=MoveKind.START, message=f"{name} queued to start")
    if pair == (TaskState.RUNNING, TaskState.PLANNED):
        return MovePlan(
            kind=MoveKind.REQUEUE,
            message=f"{name} stopped and back in Planned",
            confirm=(
                f"Stop {name} and put it back in Planned?\n\n"
                "The agent is stopped now. What it changed so far is committed to the "
                "task's branch and kept in its worktree; starting it again continues there."
            ),
        )
    if pair == (TaskState.AWAITING_REVIEW, TaskState.RUNNING):
        return MovePlan(kind=MoveKind.RESUME, message=f"{name} sent back to its agent")
    if pair == (TaskState.AWAITING_REVIEW, TaskState.MERGED):
        return MovePlan(
            kind=MoveKind.APPROVE,
            message=f"{name} merged into {task.base_branch or 'its base branch'}",
            confirm=(
                f"Approve {name} and merge it into {task.base_branch or 'its base branch'} "
                f"({merge_label})?\n\nThe project's checks run on the merge result first "
                "unless they already passed on it; the base moves only if they pass. The "
                "task's worktree is removed after the merge."
            ),
        )
    return MovePlan(kind=MoveKind.REFUSE, message=_refusal(name, current, target))


def _refusal(name: str, current: TaskState, target: TaskState) -> str:
    where = f"{name} cannot go from {LABELS[current]} to {LABELS[target]}"
    if current is TaskState.MERGED:
        return f"{where}: it is merged, which is final."
    if target is TaskState.MERGED and current is TaskState.PLANNED:
        return f"{where}: nothing has run yet, so there is nothing to merge. Start it first."
    if target is TaskState.MERGED and current is TaskState.RUNNING:
        return f"{where}: its agent is still working. Wait until it awaits review."
    if target is TaskState.AWAITING_REVIEW and current is TaskState.RUNNING:
        return f"{where}: it gets there by itself when its run ends (or stop it: Ctrl+.)."
    if target is TaskState.AWAITING_REVIEW and current is TaskState.PLANNED:
        return f"{where}: start it first; it awaits review when its agent is done."
    if target is TaskState.PLANNED and current is TaskState.AWAITING_REVIEW:
        return f"{where}: it has work on its branch. Send it back to the agent, or discard it."
    return f"{where}."


def neighbour(state: TaskState, step: int) -> TaskState | None:
    """The column left (-1) or right (+1) of a state's column."""
    if state not in COLUMNS:
        return None
    index = COLUMNS.index(state) + step
    return COLUMNS[index] if 0 <= index < len(COLUMNS) else None
