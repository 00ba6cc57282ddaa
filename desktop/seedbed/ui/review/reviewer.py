"""The diff reviewer of one task: files, diff, summary and checks, and the decision
(approve and merge, request changes with comments, discard)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from seedbed.domain.diffs import Comment, FileDiff
from seedbed.domain.models import MergeStrategy, Task, TaskState
from seedbed.engine import comments as comment_ops
from seedbed.engine import review
from seedbed.engine.reviewing import ReviewData, load_comments, load_review, worktree_path
from seedbed.ui.actions import add_action
from seedbed.ui.context import AppContext
from seedbed.ui.discard import DiscardDialog
from seedbed.ui.review.diff_view import DiffView
from seedbed.ui.review.file_list import FileList, ViewedStore
from seedbed.ui.review.side_panel import CommentDialog, SidePanel
from seedbed.ui.task_dialog import describe_error
from seedbed.ui.widgets import ErrorLabel

REFRESH_MS = 500
READ_ONLY = "Another Seedbed engine owns this data dir: this window only reads."
REVIEW_ACTIONS = ("next_hunk", "previous_hunk", "next_file", "previous_file", "comment_lines")


def commit_message(task: Task, summary: str) -> str:
    return task.title.strip() + (f"\n\n{summary.strip()}" if summary.strip() else "") + "\n"


class ReviewWindow(QWidget):
    """A task's diff and the decision on it, refreshed live while the task runs.

    Signals:
        task_finished(int): the task was merged or discarded; its id.
    """

    task_finished = Signal(int)

    def __init__(self, context: AppContext, task_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.context = context
        self.task_id = task_id
        self.data: ReviewData | None = None
        self.comment_dialog: CommentDialog | None = None
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        self._generation = 0
        self._uncapped: set[str] = set()
        self._prefill = ""
        self._busy = False
        self.setWindowTitle(f"Review task {task_id}")
        self.resize(1300, 800)

        self.files = FileList(ViewedStore(context.data_dir), self)
        self.diff = DiffView(self._compute, self)
        self.side = SidePanel(self)
        self.header = QLabel(self)
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.since_box = QCheckBox("Only what changed since the last review", self)
        self.since_box.setVisible(False)
        self.error_label = ErrorLabel(self)
        self.status_label = QLabel(self)
        self._build_decision()

        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.since_box)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.files)
        self.splitter.addWidget(self.diff)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.side, 1)
        right_layout.addWidget(self.decision)
        self.splitter.addWidget(right)
        self.splitter.setSizes([260, 720, 320])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.status_label)

        self.actions_by_name = {
            name: add_action(self, name, getattr(self, f"_on_{name}")) for name in REVIEW_ACTIONS
        }
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self.files.file_selected.connect(self._on_files_file_selected)
        self.diff.show_anyway_requested.connect(self._on_diff_show_anyway_requested)
        self.diff.comment_requested.connect(self._on_diff_comment_requested)
        self.side.edit_requested.connect(self._on_side_edit_requested)
        self.side.delete_requested.connect(self._on_side_delete_requested)
        self.since_box.toggled.connect(self._on_since_box_toggled)
        context.bridge.tasks_changed.connect(self._on_bridge_tasks_changed)
        context.bridge.events_appended.connect(self._on_bridge_events_appended)
        self.reload()

    def _build_decision(self) -> None:
        self.decision = QGroupBox("Decision", self)
        self.strategy = QComboBox(self.decision)
        for strategy in MergeStrategy:
            self.strategy.addItem(strategy.value, strategy)
        default = self.context.settings.value.merge_strategy
        self.strategy.setCurrentIndex(self.strategy.findData(default))
        self.message = QPlainTextEdit(self.decision)
        self.message.setPlaceholderText("Commit message")
        self.message.setMaximumHeight(90)
        self.approve_button = QPushButton("&Approve and merge", self.decision)
        self.request_message = QPlainTextEdit(self.decision)
        self.request_message.setPlaceholderText("What should change (the comments are sent too)")
        self.request_message.setMaximumHeight(70)
        self.request_button = QPushButton("&Request changes", self.decision)
        self.comment_button = QPushButton("&Comment…", self.decision)
        self.discard_button = QPushButton("&Discard…", self.decision)
        self.open_button = QPushButton("&Open worktree", self.decision)
        approve_row = QHBoxLayout()
        approve_row.addWidget(self.strategy)
        approve_row.addWidget(self.approve_button, 1)
        other_row = QHBoxLayout()
        for button in (self.comment_button, self.discard_button, self.open_button):
            other_row.addWidget(button)
        layout = QVBoxLayout(self.decision)
        layout.addWidget(self.message)
        layout.addLayout(approve_row)
        layout.addWidget(self.request_message)
        layout.addWidget(self.request_button)
        layout.addLayout(other_row)
        self.approve_button.clicked.connect(self._on_approve_button_clicked)
        self.request_button.clicked.connect(self._on_request_button_clicked)
        self.comment_button.clicked.connect(self._on_comment_lines)
        self.discard_button.clicked.connect(self._on_discard_button_clicked)
        self.open_button.clicked.connect(self._on_open_button_clicked)

    # -- loading -----------------------------------------------------------------------

    def _compute(self, fn: Callable[[], object], done: Callable[[object], None]) -> None:
        self.context.host.call(fn, on_done=done, owner=self)

    def reload(self) -> None:
        """Read the task's review again; an older answer still on its way is dropped."""
        self._generation += 1
        generation = self._generation
        self.context.host.call(
            load_review,
            self.context.store,
            self.task_id,
            self.since_box.isChecked(),
            frozenset(self._uncapped),
            on_done=lambda data: self._on_loaded(generation, data),
            on_error=lambda error: self._on_load_failed(generation, error),
            owner=self,
        )

    def _on_loaded(self, generation: int, data: ReviewData) -> None:
        if generation != self._generation:
            return
        first = self.data is None
        self.data = data
        task = data.task
        live = " — live, the agent is working" if data.live else ""
        since = f" — since {data.since[:10]}" if data.since else ""
        self.header.setText(f"{task.title} ({task.state.value.replace('_', ' ')}){live}{since}")
        self.since_box.setVisible(task.reviewed_commit is not None)
        self.side.show_data(data)
        prefill = commit_message(task, data.summary)
        if first or self.message.toPlainText() == self._prefill:
            self.message.setPlainText(prefill)
        self._prefill = prefill
        keep = self.diff.file.path if self.diff.file is not None else None
        self.files.file_selected.disconnect(self._on_files_file_selected)
        try:
            self.files.set_files(task.id, data.files, keep)
        finally:
            self.files.file_selected.connect(self._on_files_file_selected)
        current = self.files.current_file()
        if current != self.diff.file or current is None:
            same = current is not None and keep == current.path
            self.diff.set_file(current, keep_position=same)
        self._update_buttons()

    def _on_load_failed(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self.error_label.show_message(describe_error(error))

    def _update_buttons(self) -> None:
        task = self.data.task if self.data is not None else None
        waiting = task is not None and task.state is TaskState.AWAITING_REVIEW
        idle = not self._busy
        self.approve_button.setEnabled(waiting and idle)
        self.request_button.setEnabled(waiting and idle)
        self.discard_button.setEnabled(waiting and idle)
        self.comment_button.setEnabled(task is not None and idle)
        self.open_button.setEnabled(task is not None and worktree_path(task) is not None)

    @Slot()
    def _on_refresh_timer_timeout(self) -> None:
        self.reload()

    @Slot(object)
    def _on_bridge_tasks_changed(self, task_ids: list[int]) -> None:
        if self.task_id in task_ids and not self._refresh_timer.isActive():
            self._refresh_timer.start()

    @Slot(object)
    def _on_bridge_events_appended(self, events: dict[int, int]) -> None:
        # A stream of events must not postpone the refresh forever: throttle, not debounce.
        data = self.data
        live = data is not None and data.live and data.run_id in events
        if live and not self._refresh_timer.isActive():
            self._refresh_timer.start()

    @Slot(bool)
    def _on_since_box_toggled(self, _checked: bool) -> None:
        self.reload()

    @Slot(object)
    def _on_files_file_selected(self, file: FileDiff | None) -> None:
        self.diff.set_file(file)

    @Slot(str)
    def _on_diff_show_anyway_requested(self, path: str) -> None:
        self._uncapped.add(path)
        self.reload()

    # -- moving around -----------------------------------------------------------------

    def _on_next_hunk(self) -> None:
        if not self.diff.step_hunk(1):
            self.files.step(1)

    def _on_previous_hunk(self) -> None:
        self.diff.step_hunk(-1)

    def _on_next_file(self) -> None:
        self.files.step(1)

    def _on_previous_file(self) -> None:
        self.files.step(-1)

    # -- comments ----------------------------------------------------------------------

    def _on_comment_lines(self) -> None:
        if self.diff.rows:
            self.diff.request_comment()
        elif self.diff.file is not None:
            self._open_comment(self.diff.file.path, None, None, "")

    @Slot(int, int)
    def _on_diff_comment_requested(self, first: int, last: int) -> None:
        if self.diff.file is None:
            return
        line, end_line, quote = self.diff.line_range(first, last)
        self._open_comment(self.diff.file.path, line, end_line, quote)

    def _open_comment(self, path: str, line: int | None, end_line: int | None, quote: str) -> None:
        where = path if line is None else f"{path}:{line}" + (f"-{end_line}" if end_line else "")
        dialog = CommentDialog(f"Comment on {where}", quote, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.comment_dialog = dialog

        def save(result: int) -> None:
            self.comment_dialog = None
            if result != QDialog.DialogCode.Accepted or not dialog.body():
                return
            self._call(
                comment_ops.add_comment,
                self.context.store,
                self.task_id,
                path,
                line,
                end_line,
                dialog.body(),
                quote,
                done=self._on_comment_saved,
            )

        dialog.finished.connect(save)
        dialog.open()

    def _on_comment_saved(self, _result: object = None) -> None:
        self._call(load_comments, self.context.store, self.task_id, done=self._on_comments_loaded)

    def _on_comments_loaded(self, comments: list[Comment]) -> None:
        self.side.show_comments(comments)

    @Slot(object)
    def _on_side_edit_requested(self, comment: Comment) -> None:
        self._call(
            comment_ops.edit_comment,
            self.context.store,
            comment.id,
            comment.body,
            done=self._on_comment_saved,
        )

    @Slot(object)
    def _on_side_delete_requested(self, comment: Comment) -> None:
        self._call(
            comment_ops.delete_comment, self.context.store, comment.id, done=self._on_comment_saved
        )

    # -- the decision ------------------------------------------------------------------

    def _call(self, fn: Callable[..., object], *args: object, done: Callable[..., None]) -> None:
        """A change through the engine host; its error is shown in the window."""
        if self.context.read_only:
            self.error_label.show_message(READ_ONLY)
            return
        self.error_label.show_message("")
        self.context.host.call(fn, *args, on_done=done, on_error=self._on_call_failed, owner=self)

    def _on_call_failed(self, error: BaseException) -> None:
        self._busy = False
        self._update_buttons()
        self.error_label.show_message(describe_error(error))
        self.reload()

    @Slot()
    def _on_approve_button_clicked(self) -> None:
        self._busy = True
        self._update_buttons()
        self.status_label.setText("Merging…")
        strategy = MergeStrategy(self.strategy.currentData())
        message = self.message.toPlainText()
        self._call(
            review.approve,
            self.context.store,
            self.task_id,
            strategy,
            message,
            done=self._on_approved,
        )

    def _on_approved(self, task: Task) -> None:
        self._busy = False
        self.status_label.setText(f"Merged into {task.base_branch}.")
        self.task_finished.emit(task.id)
        self.close()

    @Slot()
    def _on_request_button_clicked(self) -> None:
        self._busy = True
        self._update_buttons()
        self._call(
            comment_ops.request_changes_with_comments,
            self.context.store,
            self.task_id,
            self.request_message.toPlainText().strip(),
            done=self._on_changes_requested,
        )

    def _on_changes_requested(self, _task: Task) -> None:
        self._busy = False
        self.request_message.clear()
        self.status_label.setText("Sent back to the agent.")
        self.reload()

    @Slot()
    def _on_discard_button_clicked(self) -> None:
        if self.data is None:
            return
        dialog = DiscardDialog(self.context, self.data.task, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.task_discarded.connect(self._on_dialog_task_discarded)
        dialog.open()

    @Slot(int)
    def _on_dialog_task_discarded(self, task_id: int) -> None:
        self.task_finished.emit(task_id)
        self.close()

    @Slot()
    def _on_open_button_clicked(self) -> None:
        path = worktree_path(self.data.task) if self.data is not None else None
        if path is not None:
            self.open_url(QUrl.fromLocalFile(str(path)))
