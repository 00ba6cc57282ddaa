"""The board's model and its column filters, checked by Qt's own model tester."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex
from pytestqt.modeltest import ModelTester

from seedbed.domain.models import Card, Phase, Task, TaskState
from seedbed.ui.board.board_model import ColumnModel, Role, TaskModel, task_id_from_mime

PHASE = {
    TaskState.PLANNED: Phase.DRAFT,
    TaskState.RUNNING: Phase.IMPLEMENTING,
    TaskState.AWAITING_REVIEW: Phase.READY,
    TaskState.MERGED: Phase.NONE,
}


def card(task_id: int, state: TaskState, position: int = 0, age_days: float = 0.0) -> Card:
    return Card(
        task=Task(
            id=task_id,
            project_id=1,
            title=f"task {task_id}",
            state=state,
            phase=PHASE[state],
            position=position,
            updated_at=time.time() - age_days * 86400,
        )
    )


def test_the_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = TaskModel()
    model.set_cards([card(i, TaskState.PLANNED, position=i) for i in range(1, 6)])
    qtmodeltester.check(model, force_py=True)
    # Changes by name: replace, add, remove, while the tester keeps watching.
    model.apply([card(3, TaskState.RUNNING, position=3), card(9, TaskState.PLANNED, 9)], {1})
    assert model.rowCount() == 5
    assert model.card(3).task.state is TaskState.RUNNING
    assert model.card(1) is None
    assert model.index_of(9).data(Role.TASK_ID) == 9
    assert model.index_of(42) == QModelIndex()


def test_columns_filter_by_state_and_order_their_cards(qtmodeltester: ModelTester) -> None:
    model = TaskModel()
    cards = [
        card(1, TaskState.PLANNED, position=3),
        card(2, TaskState.PLANNED, position=1),
        card(3, TaskState.AWAITING_REVIEW, age_days=1),
        card(4, TaskState.AWAITING_REVIEW, age_days=2),
        card(5, TaskState.MERGED, age_days=1),
        card(6, TaskState.MERGED, age_days=30),
        card(7, TaskState.MERGED, age_days=0.5),
    ]
    model.set_cards(cards)
    columns = {}
    for state in PHASE:
        column = ColumnModel(state)
        column.setSourceModel(model)
        columns[state] = column
    qtmodeltester.check(columns[TaskState.PLANNED], force_py=True)

    def ids(state: TaskState) -> list[int]:
        column = columns[state]
        return [column.index(r, 0).data(Role.TASK_ID) for r in range(column.rowCount())]

    assert ids(TaskState.PLANNED) == [2, 1]  # the queue order
    assert ids(TaskState.AWAITING_REVIEW) == [4, 3]  # waiting longest first
    assert ids(TaskState.MERGED) == [7, 5]  # newest first, the last 7 days
    assert columns[TaskState.MERGED].hidden_count() == 1
    columns[TaskState.MERGED].set_window(7, show_all=True)
    assert ids(TaskState.MERGED) == [7, 5, 6]
    # A card that changes state moves columns on its own.
    model.apply([card(2, TaskState.RUNNING, position=1)])
    assert ids(TaskState.PLANNED) == [1]
    assert ids(TaskState.RUNNING) == [2]


def test_a_drag_carries_the_task_id() -> None:
    model = TaskModel()
    model.set_cards([card(12, TaskState.PLANNED)])
    mime = model.mimeData([model.index(0)])
    assert task_id_from_mime(mime) == 12


def test_the_model_stays_in_board_order_through_moves(qtmodeltester: ModelTester) -> None:
    from seedbed.ui.board.board_model import board_key

    model = TaskModel()
    model.set_cards([card(i, TaskState.PLANNED, position=i) for i in range(1, 8)])
    qtmodeltester.check(model, force_py=True)
    moved: list[int] = []
    model.rowsMoved.connect(lambda *_args: moved.append(1))
    # Task 6 to the front of the queue, task 2 to the back, task 4 starts running.
    model.apply(
        [
            card(6, TaskState.PLANNED, position=0),
            card(2, TaskState.PLANNED, position=99),
            card(4, TaskState.RUNNING, position=4),
        ]
    )
    order = [model.index(r).data(Role.TASK_ID) for r in range(model.rowCount())]
    assert order == [6, 1, 3, 5, 7, 2, 4]
    cards = [model.index(r).data(Role.ITEM) for r in range(model.rowCount())]
    assert [board_key(c) for c in cards] == sorted(board_key(c) for c in cards)
    assert len(moved) == 3  # moves, not resets: views keep their selection
