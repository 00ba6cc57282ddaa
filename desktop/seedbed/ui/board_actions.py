"""What can be done to the selected card: the board's actions and context menu.

Each action is one of the table in `actions.py`; a move goes through `Board.move`, so a
key, a menu entry and a drag always do the same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Slot
from PySide6.QtWidgets import QMenu

from seedbed.core.tasks import control_task, set_foreground
from seedbed.domain.lifecycle import LABELS
from seedbed.domain.models import Card, Control, TaskState
from seedbed.ui.board_model import Role
from seedbed.ui.board_view import ColumnView
from seedbed.ui.moves import MoveKind, MovePlan, neighbour

if TYPE_CHECKING:
    from seedbed.ui.board import Board


class CardActions:
    """Mixed into Board: the slots of its card actions (named after the actions)."""

    def _selected(self: Board) -> Card | None:
        card = self.selected_card()
        if card is None:
            self.message_posted.emit("Select a card first.", True)
        return card

    def _on_edit_task(self: Board) -> None:
        card = self._selected()
        if card is None:
            return
        if card.task.state is not TaskState.PLANNED:
            self.message_posted.emit("Only a planned task can be edited.", True)
            return
        self.edit_requested.emit(card.task.id)

    def _on_start_task(self: Board) -> None:
        card = self._selected()
        if card is not None:
            self.move(card.task.id, TaskState.RUNNING)

    def _on_move_left(self: Board) -> None:
        self._step(-1)

    def _on_move_right(self: Board) -> None:
        self._step(1)

    def _step(self: Board, step: int) -> None:
        card = self._selected()
        if card is None:
            return
        target = neighbour(card.task.state, step)
        if target is None:
            self.message_posted.emit("There is no column on that side.", True)
            return
        self.move(card.task.id, target)

    def _on_move_up(self: Board) -> None:
        self._shift(-1)

    def _on_move_down(self: Board) -> None:
        self._shift(1)

    def _shift(self: Board, step: int) -> None:
        card = self._selected()
        if card is None:
            return
        if card.task.state is not TaskState.PLANNED:
            self.message_posted.emit("Only Planned has a queue order to change.", True)
            return
        proxy = self.columns[TaskState.PLANNED].column_model()
        row = proxy.mapFromSource(self.model.index_of(card.task.id)).row()
        target = row + step
        if not 0 <= target < proxy.rowCount():
            return
        # Up: before the card above. Down: before the card two below (or last).
        before_row = target if step < 0 else target + 1
        before = proxy.index(before_row, 0)
        self.move(
            card.task.id, TaskState.PLANNED, before.data(Role.TASK_ID) if before.isValid() else None
        )

    def _on_stop_task(self: Board) -> None:
        card = self._selected()
        if card is None:
            return
        if card.task.state is not TaskState.RUNNING:
            self.message_posted.emit(f"#{card.task.id} is not running.", True)
            return
        if self.context.read_only:
            self.message_posted.emit("Read-only: nothing was changed.", True)
            return
        plan = MovePlan(kind=MoveKind.NOTHING, message=f"#{card.task.id} stopped")
        store, data_dir = self.context.store, self.context.data_dir
        self._run(plan, card.task.id, control_task, store, data_dir, card.task.id, Control.STOP)

    def _on_requeue_task(self: Board) -> None:
        card = self._selected()
        if card is not None:
            self.move(card.task.id, TaskState.PLANNED)

    def _on_resume_task(self: Board) -> None:
        card = self._selected()
        if card is not None:
            self.move(card.task.id, TaskState.RUNNING)

    def _on_approve_task(self: Board) -> None:
        card = self._selected()
        if card is not None:
            self.move(card.task.id, TaskState.MERGED)

    def _on_discard_task(self: Board) -> None:
        card = self._selected()
        if card is None:
            return
        if card.task.state not in (TaskState.PLANNED, TaskState.AWAITING_REVIEW):
            self.message_posted.emit(
                f"#{card.task.id} is {LABELS[card.task.state]}: only a planned task or one "
                "awaiting review can be discarded (stop it first).",
                True,
            )
            return
        self.discard_requested.emit(card.task.id)

    def _on_pin_task(self: Board) -> None:
        card = self._selected()
        if card is None:
            return
        if self.context.read_only:
            self.message_posted.emit("Read-only: nothing was changed.", True)
            return
        pinned = not card.task.foreground
        self.context.host.call(
            set_foreground,
            self.context.store,
            card.task.id,
            pinned,
            on_done=lambda _t: self.refresh_tasks([card.task.id]),
            on_error=self._on_call_failed,
            owner=self,
        )

    @Slot(QPoint)
    def _on_view_context_menu(self: Board, pos: QPoint) -> None:
        view = self.sender()
        assert isinstance(view, ColumnView)
        index = view.indexAt(pos)
        if not index.isValid():
            return
        view.setCurrentIndex(index)
        card: Card = index.data(Role.ITEM)
        menu = QMenu(self)
        for name in self._menu_for(card):
            if name == "-":
                menu.addSeparator()
            else:
                menu.addAction(self.actions_by_name[name])
        menu.popup(view.viewport().mapToGlobal(pos))

    @staticmethod
    def _menu_for(card: Card) -> list[str]:
        state = card.task.state
        if state is TaskState.PLANNED:
            return [
                "start_task",
                "edit_task",
                "-",
                "move_up",
                "move_down",
                "-",
                "pin_task",
                "-",
                "discard_task",
            ]
        if state is TaskState.RUNNING:
            return ["stop_task", "requeue_task", "-", "pin_task"]
        if state is TaskState.AWAITING_REVIEW:
            return ["approve_task", "resume_task", "-", "pin_task", "-", "discard_task"]
        return []
