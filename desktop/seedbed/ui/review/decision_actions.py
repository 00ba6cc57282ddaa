"""What the reviewer window does with its decision box: approve and merge, request
changes, discard, ask the agent to resolve a conflict, approve or send back a plan; each
through the engine host, its error shown in the window. A mixin of ReviewWindow."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QPlainTextEdit

from seedbed.core import comments as comment_ops
from seedbed.core import merging, review
from seedbed.core.merge_queue import ANNOUNCED
from seedbed.core.tasks import approve_plan, request_plan_changes, set_plan
from seedbed.domain.models import MergeStrategy, Phase, Task
from seedbed.ui.board.discard import DiscardDialog
from seedbed.ui.common.errors import describe_error

if TYPE_CHECKING:
    from seedbed.core.review_data import ReviewData
    from seedbed.ui.common.context import AppContext
    from seedbed.ui.common.widgets import ErrorLabel
    from seedbed.ui.review.side_panel import SidePanel

READ_ONLY = "Another Seedbed engine owns this data dir: this window only reads."


class DecisionActions:
    """ReviewWindow's decision: its buttons' slots and the calls they make."""

    context: AppContext
    task_id: int
    data: ReviewData | None
    side: SidePanel
    error_label: ErrorLabel
    status_label: QLabel
    request_message: QPlainTextEdit
    message: QPlainTextEdit
    strategy: QComboBox
    recheck: QAction
    task_finished: Signal
    _busy: bool

    # Provided by ReviewWindow (which defines them: these only say they exist; QWidget's
    # own methods, such as close, are not declared here, or they would hide Qt's).
    def reload(self) -> None: ...
    def _update_buttons(self) -> None: ...

    # -- the decision ------------------------------------------------------------------

    def _call(
        self,
        fn: Callable[..., object],
        *args: object,
        done: Callable[..., None],
        waits: bool = False,
        **kwargs: object,
    ) -> None:
        """A change through the engine host; its error is shown in the window."""
        if self.context.read_only:
            self._busy = False
            self.status_label.clear()
            self._update_buttons()
            self.error_label.show_message(READ_ONLY)
            return
        self.error_label.show_message("")
        self.context.host.call(
            fn,
            *args,
            on_done=done,
            on_error=self._on_call_failed,
            owner=self,
            waits=waits,
            **kwargs,
        )

    def _on_call_failed(self, error: BaseException) -> None:
        self._busy = False
        self.status_label.clear()  # "Merging…" is over: the error says how
        self._update_buttons()
        self.error_label.show_message(describe_error(error))
        self.reload()

    @Slot()
    def _on_approve_button_clicked(self) -> None:
        self._busy = True
        self._update_buttons()
        self.status_label.setText("Merging…")
        self.status_label.setToolTip(
            "The checks run on the merge result first, unless they passed on it already; "
            "the merge goes on if this window is closed"
            if self.recheck.isChecked()
            else ""
        )
        strategy = MergeStrategy(self.strategy.currentData())
        message = self.message.toPlainText()
        recheck = self.recheck.isChecked()
        self.recheck.setChecked(True)  # an approve without it is a choice made each time
        self._call(
            merging.approve,
            self.context.core,
            self.task_id,
            strategy=strategy,
            message=message,
            delete_branch=self.context.settings.value.delete_branch_after_merge,
            recheck=recheck,
            asked_at=ANNOUNCED.announce(self.task_id),  # its place in the merge queue
            done=lambda done: self._on_approved(done.value),
            waits=True,
        )

    def _on_approved(self, task: Task) -> None:
        self._busy = False
        self.status_label.setText(f"Merged into {task.base_branch}.")
        self.task_finished.emit(task.id)
        self.close()  # type: ignore[attr-defined]  # QWidget's

    @Slot()
    def _on_request_button_clicked(self) -> None:
        self._busy = True
        self._update_buttons()
        self._call(
            comment_ops.request_changes_with_comments,
            self.context.core,
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
        self.close()  # type: ignore[attr-defined]  # QWidget's

    # -- the plan ----------------------------------------------------------------------

    @Slot()
    def _on_plan_approve_button_clicked(self) -> None:
        self._busy = True
        self._update_buttons()
        self._call(
            approve_plan,
            self.context.core,
            self.task_id,
            done=lambda done: self._on_plan_sent(done.value),
        )

    @Slot()
    def _on_plan_back_button_clicked(self) -> None:
        comment = self.request_message.toPlainText().strip()
        if not comment:
            self.error_label.show_message("Write what the plan misses first (above the button).")
            return
        self._busy = True
        self._update_buttons()
        self._call(
            request_plan_changes,
            self.context.core,
            self.task_id,
            comment,
            done=lambda done: self._on_plan_sent(done.value),
        )

    def _on_plan_sent(self, task: Task) -> None:
        self._busy = False
        self.request_message.clear()
        word = "the executor" if task.pending_kind.value == "implement" else "the planner"
        self.status_label.setText(f"Sent to {word}.")
        self.reload()

    @Slot(str)
    def _on_side_plan_saved(self, plan: str) -> None:
        self._call(set_plan, self.context.core, self.task_id, plan, done=self._on_plan_saved)

    def _on_plan_saved(self, _task: Task) -> None:
        self.side.plan_was_saved()
        self.status_label.setText("Plan saved.")
        self.reload()

    @Slot()
    def _on_resolve_button_clicked(self) -> None:
        self._busy = True
        self._update_buttons()
        checks = self.data is not None and self.data.task.phase is Phase.MERGE_CHECKS_FAILED
        self.status_label.setText("Sending it back to the agent…")
        fix = review.fix_merge_checks if checks else review.resolve_conflict
        self._call(
            fix, self.context.core, self.task_id, done=lambda done: self._on_resolving(done.value)
        )

    def _on_resolving(self, task: Task) -> None:
        self._busy = False
        self.status_label.setText(
            f"Sent back to the agent: it merges {task.base_branch} into its branch and fixes it."
        )
        self.reload()
