"""The reviewer's worktree actions: the folder in the file manager, the worktree in the
user's editor or a terminal (the commands are the settings' templates). They sit in the
decision bar's "More" menu."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices

from seedbed.core.launch import launch
from seedbed.core.workspace import worktree_path
from seedbed.domain.models import Task
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.errors import describe_error


class WorktreeBar(QObject):
    """Folder, editor and terminal actions for the task's worktree, enabled while it
    exists. Launching runs through the engine host (it may block a moment).

    Signals:
        message_shown(str): say this to the user ("" clears what was said).
    """

    message_shown = Signal(str)

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.task: Task | None = None
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        self.folder_action = QAction("Show the worktree's &folder", self)
        self.folder_action.setToolTip("Show the task's worktree in the file manager")
        self.editor_action = QAction("Open the worktree in the &editor", self)
        self.editor_action.setToolTip("Open the worktree with the editor command of Settings")
        self.terminal_action = QAction("Open a &terminal in the worktree", self)
        self.terminal_action.setToolTip("A terminal in the worktree (the Settings' command)")
        self.folder_action.triggered.connect(self._on_folder_action_triggered)
        self.editor_action.triggered.connect(self._on_editor_action_triggered)
        self.terminal_action.triggered.connect(self._on_terminal_action_triggered)
        self.set_task(None)

    def actions(self) -> tuple[QAction, QAction, QAction]:
        return self.folder_action, self.editor_action, self.terminal_action

    def set_task(self, task: Task | None) -> None:
        self.task = task
        there = task is not None and worktree_path(task) is not None
        for action in self.actions():
            action.setEnabled(there)

    def _path(self) -> Path | None:
        return worktree_path(self.task) if self.task is not None else None

    @Slot()
    def _on_folder_action_triggered(self) -> None:
        path = self._path()
        if path is not None:
            self.open_url(QUrl.fromLocalFile(str(path)))

    @Slot()
    def _on_editor_action_triggered(self) -> None:
        self._launch(self.context.settings.value.editor_command, "an editor command")

    @Slot()
    def _on_terminal_action_triggered(self) -> None:
        self._launch(self.context.settings.value.terminal_command, "a terminal command")

    def _launch(self, template: str, what: str) -> None:
        path = self._path()
        if path is None:
            return
        if not template.strip():
            self.message_shown.emit(
                f"Set {what} in Settings (e.g. `code {{path}}`) to open the worktree with it."
            )
            return
        self.message_shown.emit("")
        self.context.host.call(launch, template, path, on_error=self._on_launch_failed, owner=self)

    def _on_launch_failed(self, error: BaseException) -> None:
        self.message_shown.emit(describe_error(error))
