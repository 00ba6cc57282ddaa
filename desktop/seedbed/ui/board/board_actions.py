"""What can be done to the selected card: the board's card actions.

Each method is named after its action in `actions.py`; a move goes through the board's
`move`, so a key, a menu entry and a drag always do the same thing. The actions see the
board only through `CardBoard`, the few parts of it they use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, SignalInstance

from seedbed.core.tasks import control_task, has_run_going, set_foreground
from seedbed.domain.lifecycle import LABELS
from seedbed.domain.models import Card, Control, TaskState
from seedbed.ui.board.board_model import Role, TaskModel
from seedbed.ui.board.board_view import ColumnView
from seedbed.ui.board.moves import MoveKind, MovePlan, neighbour
from seedbed.ui.common.context import AppContext


class CardBoard(Protocol):
    """The parts of the board the card actions use."""

    context: AppContext
    model: TaskModel
    columns: dict[TaskState, ColumnView]
    message_posted: SignalInstance
    edit_requested: SignalInstance
    discard_requested: SignalInstance

    def selected_card(self) -> Card | None: ...

    def move(self, task_id: int, target: TaskState, before_id: int | None = None) -> None: ...

    def run_move(
        self, plan: MovePlan, task_id: int, fn: Callable[..., Any], *args: Any
    ) -> None: ...

    def refresh_tasks(self, task_ids: list[int], select: int = 0) -> None: ...


class CardActions(QObject):
    """The card actions of one board, each a method named after its action."""

    def __init__(self, board: CardBoard, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.board = board

    def _selected(self) -> Card | None:
        card = self.board.selected_card()
        if card is None:
            self.board.message_posted.emit("Select a card first.", True)
        return card

    def edit_task(self) -> None:
        card = self._selected()
        if card is None:
            return
        if card.task.state is not TaskState.PLANNED:
            self.board.message_posted.emit("Only a planned task can be edited.", True)
            return
        self.board.edit_requested.emit(card.task.id)

    def start_task(self) -> None:
        card = self._selected()
        if card is not None:
            self.board.move(card.task.id, TaskState.RUNNING)

    def move_left(self) -> None:
        self._step(-1)

    def move_right(self) -> None:
        self._step(1)

    def _step(self, step: int) -> None:
        card = self._selected()
        if card is None:
            return
        target = neighbour(card.task.state, step)
        if target is None:
            self.board.message_posted.emit("There is no column on that side.", True)
            return
        self.board.move(card.task.id, target)

    def move_up(self) -> None:
        self._shift(-1)

    def move_down(self) -> None:
        self._shift(1)

    def _shift(self, step: int) -> None:
        card = self._selected()
        if card is None:
            return
        if card.task.state is not TaskState.PLANNED:
            self.board.message_posted.emit("Only Planned has a queue order to change.", True)
            return
        proxy = self.board.columns[TaskState.PLANNED].column_model()
        row = proxy.mapFromSource(self.board.model.index_of(card.task.id)).row()
        target = row + step
        if not 0 <= target < proxy.rowCount():
            return
        # Up: before the card above. Down: before the card two below (or last).
        before_row = target if step < 0 else target + 1
        before = proxy.index(before_row, 0)
        self.board.move(
            card.task.id, TaskState.PLANNED, before.data(Role.TASK_ID) if before.isValid() else None
        )

    def stop_task(self) -> None:
        card = self._selected()
        if card is None:
            return
        if not has_run_going(card.task):  # running, or its agent waits on a question
            self.board.message_posted.emit(f"#{card.task.id} is not running.", True)
            return
        if self.board.context.read_only:
            self.board.message_posted.emit("Read-only: nothing was changed.", True)
            return
        plan = MovePlan(kind=MoveKind.NOTHING, message=f"#{card.task.id} stopped")
        self.board.run_move(plan, card.task.id, control_task, card.task.id, Control.STOP)

    def requeue_task(self) -> None:
        card = self._selected()
        if card is not None:
            self.board.move(card.task.id, TaskState.PLANNED)

    def resume_task(self) -> None:
        card = self._selected()
        if card is not None:
            self.board.move(card.task.id, TaskState.RUNNING)

    def approve_task(self) -> None:
        card = self._selected()
        if card is not None:
            self.board.move(card.task.id, TaskState.MERGED)

    def discard_task(self) -> None:
        card = self._selected()
        if card is None:
            return
        if card.task.state not in (TaskState.PLANNED, TaskState.AWAITING_REVIEW):
            self.board.message_posted.emit(
                f"#{card.task.id} is {LABELS[card.task.state]}: only a planned task or one "
                "awaiting review can be discarded (stop it first).",
                True,
            )
            return
        self.board.discard_requested.emit(card.task.id)

    def pin_task(self) -> None:
        card = self._selected()
        if card is None:
            return
        if self.board.context.read_only:
            self.board.message_posted.emit("Read-only: nothing was changed.", True)
            return
        pinned = not card.task.foreground
        self.board.context.host.call(
            set_foreground,
            card.task.id,
            pinned,
            on_done=lambda _t: self.board.refresh_tasks([card.task.id]),
            on_error=lambda error: self.board.message_posted.emit(str(error), True),
            owner=self,
        )
