"""Discarding a task: a confirmation that says what is kept and what goes."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from seedbed.core import reads
from seedbed.core.review import discard
from seedbed.domain.lifecycle import is_legal
from seedbed.domain.models import Task, TaskState
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.errors import describe_error
from seedbed.ui.common.widgets import ErrorLabel

READ_ONLY_MESSAGE = (
    "The engine of this data dir stopped, so this window is read-only and nothing was discarded."
)
ARCHIVE_HINT = (
    "The card moves to the archive, with its runs and logs; "
    "`seedbed task list --state discarded` lists the archive."
)


def confirm_discard_text(task: Task, delete_branch: bool = False) -> str:
    """What discarding this task keeps and what it removes, as `core.review.discard`
    does it: uncommitted work is committed to the branch, the worktree is removed, the
    branch stays unless deleted, the task is archived (state discarded), not erased."""
    if not is_legal(task.state, TaskState.DISCARDED):
        how = " Stop it first." if task.state is TaskState.RUNNING else ""
        return (
            f"Task {task.id} is {task.state.value.replace('_', ' ')}: only a planned task "
            f"or one awaiting review can be discarded.{how}"
        )
    parts: list[str] = []
    if task.branch is None and task.worktree is None:
        parts.append(
            f"Task {task.id} has not run yet: there is no branch or worktree, only the card goes."
        )
    if task.worktree is not None:
        parts.append(
            f"The worktree {task.worktree} is removed; anything uncommitted in it is "
            "committed to the branch first."
        )
    if task.branch is not None:
        if delete_branch:
            parts.append(
                f"The branch {task.branch} is deleted too, with every commit on it that "
                "was not merged elsewhere: the task's work is gone."
            )
        else:
            parts.append(f"The branch {task.branch} and its commits are kept.")
    parts.append(ARCHIVE_HINT)
    return "\n\n".join(parts)


class DiscardDialog(QDialog):
    """Asks before discarding a task, saying what is kept; Discard runs it through the
    engine host and closes only once it succeeded, a refusal shown inside.

    Signals:
        task_discarded(int): the task was discarded; its id.
    """

    task_discarded = Signal(int)

    def __init__(self, context: AppContext, task: Task, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.task = task
        self._busy = False
        self.setWindowTitle(f"Discard task {task.id}?")
        self.setMinimumWidth(480)

        self.text_label = QLabel(self)
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.delete_branch_box = QCheckBox("Also delete the branch", self)
        self.error_label = ErrorLabel(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.discard_button = QPushButton("&Discard", self)
        self.discard_button.setAutoDefault(False)
        self.buttons.addButton(self.discard_button, QDialogButtonBox.ButtonRole.AcceptRole)
        # A destructive action is never what Enter does.
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setDefault(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.text_label)
        layout.addWidget(self.delete_branch_box)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        self.delete_branch_box.toggled.connect(self._on_delete_branch_box_toggled)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self._on_buttons_rejected)
        context.bridge.tasks_changed.connect(self._on_bridge_tasks_changed)
        self._show_task()

    @property
    def busy(self) -> bool:
        """True while the discard is under way."""
        return self._busy

    def _delete_branch(self) -> bool:
        return self.delete_branch_box.isChecked() and self.task.branch is not None

    def _show_task(self) -> None:
        """Say what discarding the task as it is now would do."""
        branch = self.task.branch
        self.delete_branch_box.setVisible(branch is not None)
        self.delete_branch_box.setToolTip(f"git branch -D {branch}" if branch else "")
        self.text_label.setText(confirm_discard_text(self.task, self._delete_branch()))
        self._update_buttons()

    def _update_buttons(self) -> None:
        legal = is_legal(self.task.state, TaskState.DISCARDED)
        self.discard_button.setEnabled(legal and not self._busy)
        self.delete_branch_box.setEnabled(not self._busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setEnabled(not self._busy)

    @Slot(bool)
    def _on_delete_branch_box_toggled(self, _checked: bool) -> None:
        self._show_task()

    @Slot(object)
    def _on_bridge_tasks_changed(self, task_ids: list[int]) -> None:
        # The run may end (or start) while the dialog is open: the text must stay true.
        if self._busy or self.task.id not in task_ids:
            return
        self.context.host.call(
            reads.get_task,
            self.task.id,
            on_done=self._on_task_read,
            on_error=lambda exc: self.error_label.show_message(str(exc)),
            owner=self,
        )

    def _on_task_read(self, task: Task) -> None:
        if self._busy:
            return
        self.task = task
        self._show_task()

    @Slot()
    def _on_buttons_accepted(self) -> None:
        if self._busy:
            return
        if self.context.read_only:
            self.error_label.show_message(READ_ONLY_MESSAGE)
            return
        self.error_label.show_message("")
        self._busy = True
        self._update_buttons()
        self.context.host.call(
            discard,
            self.task.id,
            self._delete_branch(),
            on_done=lambda done: self._on_discard_done(done.value),
            on_error=self._on_discard_failed,
            owner=self,
        )

    @Slot()
    def _on_buttons_rejected(self) -> None:
        self.reject()

    def reject(self) -> None:
        if not self._busy:
            super().reject()

    def _on_discard_done(self, task: Task) -> None:
        self._busy = False
        self._update_buttons()
        self.task_discarded.emit(task.id)
        self.accept()

    def _on_discard_failed(self, error: BaseException) -> None:
        self._busy = False
        self._update_buttons()
        self.error_label.show_message(describe_error(error))
