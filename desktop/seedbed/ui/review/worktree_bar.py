"""The reviewer's worktree buttons: the folder in the file manager, the worktree in the
user's editor or a terminal (the commands are the settings' templates)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from seedbed.domain.models import Task
from seedbed.engine.launch import launch
from seedbed.engine.reviewing import worktree_path
from seedbed.ui.context import AppContext
from seedbed.ui.task_dialog import describe_error


class WorktreeBar(QWidget):
    """Folder, editor and terminal buttons for the task's worktree, enabled while it
    exists. Launching runs through the engine host (it may block a moment).

    Signals:
        message_shown(str): say this to the user ("" clears what was said).
    """

    message_shown = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.task: Task | None = None
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        self.folder_button = QPushButton("&Folder", self)
        self.folder_button.setToolTip("Show the task's worktree in the file manager")
        self.editor_button = QPushButton("Open in &editor", self)
        self.editor_button.setToolTip("Open the worktree with the editor command of Settings")
        self.terminal_button = QPushButton("&Terminal", self)
        self.terminal_button.setToolTip("A terminal in the worktree (the Settings' command)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for button in (self.folder_button, self.editor_button, self.terminal_button):
            layout.addWidget(button)
        self.folder_button.clicked.connect(self._on_folder_button_clicked)
        self.editor_button.clicked.connect(self._on_editor_button_clicked)
        self.terminal_button.clicked.connect(self._on_terminal_button_clicked)
        self.set_task(None)

    def set_task(self, task: Task | None) -> None:
        self.task = task
        there = task is not None and worktree_path(task) is not None
        for button in (self.folder_button, self.editor_button, self.terminal_button):
            button.setEnabled(there)

    def _path(self) -> Path | None:
        return worktree_path(self.task) if self.task is not None else None

    @Slot()
    def _on_folder_button_clicked(self) -> None:
        path = self._path()
        if path is not None:
            self.open_url(QUrl.fromLocalFile(str(path)))

    @Slot()
    def _on_editor_button_clicked(self) -> None:
        self._launch(self.context.settings.value.editor_command, "an editor command")

    @Slot()
    def _on_terminal_button_clicked(self) -> None:
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
