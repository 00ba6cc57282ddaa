"""The rules behind drag and drop, the context menu and Ctrl+Left/Right."""

from __future__ import annotations

import itertools

import pytest

from seedbed.domain.lifecycle import is_legal
from seedbed.domain.models import Phase, Task, TaskState
from seedbed.ui.board.moves import COLUMNS, MoveKind, neighbour, plan_move

PHASE = {
    TaskState.PLANNED: Phase.DRAFT,
    TaskState.RUNNING: Phase.IMPLEMENTING,
    TaskState.AWAITING_REVIEW: Phase.READY,
    TaskState.MERGED: Phase.NONE,
}


def task(state: TaskState) -> Task:
    return Task(
        id=7,
        project_id=1,
        title='Fix "quotes"\nand more',
        state=state,
        phase=PHASE[state],
        base_branch="main",
    )


EXPECTED = {
    (TaskState.PLANNED, TaskState.PLANNED): MoveKind.REORDER,
    (TaskState.PLANNED, TaskState.RUNNING): MoveKind.START,
    (TaskState.RUNNING, TaskState.PLANNED): MoveKind.REQUEUE,
    (TaskState.RUNNING, TaskState.RUNNING): MoveKind.NOTHING,
    (TaskState.AWAITING_REVIEW, TaskState.RUNNING): MoveKind.RESUME,
    (TaskState.AWAITING_REVIEW, TaskState.AWAITING_REVIEW): MoveKind.NOTHING,
    (TaskState.AWAITING_REVIEW, TaskState.MERGED): MoveKind.APPROVE,
    (TaskState.MERGED, TaskState.MERGED): MoveKind.NOTHING,
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(COLUMNS, COLUMNS)))
def test_every_pair_of_columns(source: TaskState, target: TaskState) -> None:
    plan = plan_move(task(source), target, "squash")
    expected = EXPECTED.get((source, target), MoveKind.REFUSE)
    assert plan.kind is expected
    if expected is MoveKind.REFUSE:
        # Refused where the lifecycle refuses, and running → awaiting review or merged,
        # which only the end of a run does (an auto-merge); the message says which.
        ends_a_run = source is TaskState.RUNNING and target in (
            TaskState.AWAITING_REVIEW,
            TaskState.MERGED,
        )
        assert ends_a_run or not is_legal(source, target)
        assert "#7" in plan.message and "cannot go from" in plan.message
    elif source is not target:
        assert is_legal(source, target)


def test_the_moves_that_lose_or_merge_work_ask_first() -> None:
    requeue = plan_move(task(TaskState.RUNNING), TaskState.PLANNED)
    assert "committed" in requeue.confirm and "kept" in requeue.confirm
    approve = plan_move(task(TaskState.AWAITING_REVIEW), TaskState.MERGED, "rebase")
    assert "main" in approve.confirm and "rebase" in approve.confirm
    assert not plan_move(task(TaskState.PLANNED), TaskState.RUNNING).confirm
    # The title's newline does not break the sentence.
    assert 'Fix "quotes" and more' in approve.confirm


def test_neighbours_are_the_keyboard_moves() -> None:
    assert neighbour(TaskState.PLANNED, 1) is TaskState.RUNNING
    assert neighbour(TaskState.PLANNED, -1) is None
    assert neighbour(TaskState.AWAITING_REVIEW, 1) is TaskState.MERGED
    assert neighbour(TaskState.AWAITING_REVIEW, -1) is TaskState.RUNNING
    assert neighbour(TaskState.MERGED, 1) is None
    assert neighbour(TaskState.DISCARDED, 1) is None
