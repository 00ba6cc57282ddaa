"""The window's actions: dialogs, pages, the Needs-you walk, settings, quitting.

The slots are named after the actions of `actions.py` (`_on_<action>`), so the table
and the code read the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QApplication

from seedbed.core.tasks import set_foreground
from seedbed.domain.models import Task, TaskState
from seedbed.ui.discard import DiscardDialog
from seedbed.ui.review.reviewer import ReviewWindow
from seedbed.ui.settings_dialog import SettingsDialog
from seedbed.ui.task_dialog import TaskDialog

if TYPE_CHECKING:
    from seedbed.ui.main_window import MainWindow


def reviewable(task: Task) -> bool:
    """A task with a diff to look at: awaiting review, or running (shown live)."""
    return task.branch is not None and task.state in (
        TaskState.AWAITING_REVIEW,
        TaskState.RUNNING,
    )


class WindowActions:
    """Mixed into MainWindow: what its toolbar, menus and dialogs do."""

    def _on_add_project(self: MainWindow) -> None:
        self.adder.choose_folder(self)

    def _on_new_task(self: MainWindow) -> None:
        if self.context.project_id is None:
            self.show_error("Add a project first (Ctrl+O): tasks belong to a repository.")
            return
        dialog = TaskDialog(self.context, self.context.project_id, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.task_saved.connect(self._on_dialog_task_saved)
        dialog.open()

    @Slot(int)
    def _on_board_edit_requested(self: MainWindow, task_id: int) -> None:
        card = self.board.model.card(task_id)
        if card is None or self.context.project_id is None:
            return
        dialog = TaskDialog(self.context, self.context.project_id, card.task, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.task_saved.connect(self._on_dialog_task_saved)
        dialog.open()

    @Slot(int)
    def _on_dialog_task_saved(self: MainWindow, task_id: int) -> None:
        self.board.refresh_tasks([task_id], select=task_id)

    @Slot(int)
    def _on_board_discard_requested(self: MainWindow, task_id: int) -> None:
        card = self.board.model.card(task_id)
        if card is None:
            return
        dialog = DiscardDialog(self.context, card.task, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.task_discarded.connect(lambda tid: self.board.refresh_tasks([tid]))
        dialog.open()

    def _on_next_needs_you(self: MainWindow) -> None:
        task = self.attention.next_after(self.board.selected_task_id())
        if task is not None:
            self.open_task(task.id)
            if reviewable(task):
                self.open_reviewer(task.id)

    def open_reviewer(self: MainWindow, task_id: int) -> ReviewWindow:
        """The task's diff reviewer, one window per task."""
        window = self.reviewers.get(task_id)
        if window is None:
            window = ReviewWindow(self.context, task_id, self)
            window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            window.destroyed.connect(lambda _obj=None: self.reviewers.pop(task_id, None))
            window.task_finished.connect(lambda tid: self.board.refresh_tasks([tid]))
            self.reviewers[task_id] = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    @Slot(int)
    def _on_attention_count_changed(self: MainWindow, count: int) -> None:
        self._needs_you = count
        self._update_title()

    @Slot(int, str, str)
    def _on_attention_notified(self: MainWindow, _task_id: int, title: str, _body: str) -> None:
        self.statusBar().showMessage(title, 10_000)
        if not self.isActiveWindow():
            QApplication.alert(self)

    def _on_show_board(self: MainWindow) -> None:
        self._show_page(foreground=False)

    def _on_show_foreground(self: MainWindow) -> None:
        self._show_page(foreground=True)

    @Slot(int)
    def _on_foreground_unpin_requested(self: MainWindow, task_id: int) -> None:
        if self.context.read_only:
            self.statusBar().showMessage("⚠ Read-only: nothing was changed.", 10_000)
            return
        self.context.host.call(
            set_foreground,
            self.context.store,
            task_id,
            False,
            on_done=lambda _t: self.board.refresh_tasks([task_id]),
            on_error=lambda error: self._on_board_message_posted(str(error), True),
            owner=self,
        )

    def _on_settings(self: MainWindow) -> None:
        dialog = SettingsDialog(self.context, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: self._on_settings_closed())
        dialog.open()

    def _on_settings_closed(self: MainWindow) -> None:
        self.projects.reload(self.context.project_id)
        # A profile may have been made or mended there.
        if self.pages.currentWidget() is self.empty:
            self.empty.refresh()
        else:
            self.agent_hint.check()

    def _on_refresh(self: MainWindow) -> None:
        self.board.load(self.context.project_id)
        self.attention.refresh()

    def _on_quit(self: MainWindow) -> None:
        self.close()
