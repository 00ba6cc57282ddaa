"""The windows opened over the board's tasks: the task dialog (new or edit), the discard
dialog, a reviewer per task, and the settings dialog."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QWidget

from seedbed.domain.models import Task, TaskState
from seedbed.ui.board.board import Board
from seedbed.ui.common.context import AppContext

if TYPE_CHECKING:
    from seedbed.ui.review.reviewer import ReviewWindow


def reviewable(task: Task) -> bool:
    """A task with a diff to look at: awaiting review, or running (shown live)."""
    return task.branch is not None and task.state in (
        TaskState.AWAITING_REVIEW,
        TaskState.RUNNING,
    )


class TaskWindows(QObject):
    """Opens the dialogs and reviewer windows of the board's tasks over `window`; what
    they save, discard or finish is read again by the board."""

    def __init__(self, context: AppContext, board: Board, window: QWidget) -> None:
        super().__init__(window)
        self.context = context
        self.board = board
        self.window = window
        self.reviewers: dict[int, ReviewWindow] = {}

    # The dialogs and the reviewer are imported when first opened, not before the first
    # board is painted (start-up time: the reviewer alone pulls in pygments).

    def new_task(self, project_id: int) -> None:
        from seedbed.ui.board.task_dialog import TaskDialog

        dialog = TaskDialog(self.context, project_id, parent=self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.task_saved.connect(self._on_dialog_task_saved)
        dialog.open()

    @Slot(int)
    def edit_task(self, task_id: int) -> None:
        from seedbed.ui.board.task_dialog import TaskDialog

        card = self.board.model.card(task_id)
        if card is None or self.context.project_id is None:
            return
        dialog = TaskDialog(self.context, self.context.project_id, card.task, parent=self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.task_saved.connect(self._on_dialog_task_saved)
        dialog.open()

    @Slot(int)
    def _on_dialog_task_saved(self, task_id: int) -> None:
        self.board.refresh_tasks([task_id], select=task_id)

    @Slot(int)
    def discard_task(self, task_id: int) -> None:
        from seedbed.ui.board.discard import DiscardDialog

        card = self.board.model.card(task_id)
        if card is None:
            return
        dialog = DiscardDialog(self.context, card.task, parent=self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.task_discarded.connect(lambda tid: self.board.refresh_tasks([tid]))
        dialog.open()

    def open_reviewer(self, task_id: int) -> ReviewWindow:
        """The task's diff reviewer, one window per task."""
        from seedbed.ui.review.reviewer import ReviewWindow

        window = self.reviewers.get(task_id)
        if window is None:
            window = ReviewWindow(self.context, task_id, self.window)
            window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            window.destroyed.connect(lambda _obj=None: self.reviewers.pop(task_id, None))
            window.task_finished.connect(lambda tid: self.board.refresh_tasks([tid]))
            self.reviewers[task_id] = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def open_settings(self, on_closed: Callable[[], None]) -> None:
        from seedbed.ui.settings.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.context, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: on_closed())
        dialog.open()
