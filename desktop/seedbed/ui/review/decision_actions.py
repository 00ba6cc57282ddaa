"""What the reviewer window does with its decision box: approve and merge, request
changes, discard, ask the agent to resolve a conflict, approve or send back a plan; each
through the engine host, its error shown in the window. The window's collaborator: it
sees the window only through `Reviewing`, the few parts of it the decision uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, Qt, SignalInstance, Slot
from PySide6.QtWidgets import QLabel, QWidget

from seedbed.core import comments as comment_ops
from seedbed.core import merging, review
from seedbed.core.merge_queue import ANNOUNCED
from seedbed.core.review_data import ReviewData
from seedbed.core.tasks import approve_plan, request_plan_changes, set_plan
from seedbed.domain.models import MergeStrategy, Phase, Task
from seedbed.ui.board.discard import DiscardDialog
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.errors import describe_error
from seedbed.ui.common.widgets import ErrorLabel
from seedbed.ui.review.decision import DecisionPanel
from seedbed.ui.review.side_panel import SidePanel

READ_ONLY = "The engine of this data dir stopped: this window only reads."


class Reviewing(Protocol):
    """The parts of the reviewer window the decision uses."""

    context: AppContext
    task_id: int
    data: ReviewData | None
    side: SidePanel
    decision: DecisionPanel
    error_label: ErrorLabel
    status_label: QLabel
    task_finished: SignalInstance

    def reload(self) -> None: ...

    def update_buttons(self) -> None: ...

    def close(self) -> bool: ...


class DecisionActions(QObject):
    """The reviewer window's decision: its buttons' slots and the calls they make.
    `busy` while a decision is on its way (the window's buttons wait for it)."""

    def __init__(self, window: Reviewing, parent: QWidget) -> None:
        super().__init__(parent)
        self.window = window
        self.dialog_parent = parent
        self.busy = False

    def call(
        self,
        fn: Callable[..., object],
        *args: object,
        done: Callable[..., None],
        waits: bool = False,
        **kwargs: object,
    ) -> None:
        """A change through the engine host; its error is shown in the window."""
        if self.window.context.read_only:
            self.busy = False
            self.window.status_label.clear()
            self.window.update_buttons()
            self.window.error_label.show_message(READ_ONLY)
            return
        self.window.error_label.show_message("")
        self.window.context.host.call(
            fn,
            *args,
            on_done=done,
            on_error=self._on_call_failed,
            owner=self,
            waits=waits,
            **kwargs,
        )

    def _on_call_failed(self, error: BaseException) -> None:
        self.busy = False
        self.window.status_label.clear()  # "Merging…" is over: the error says how
        self.window.update_buttons()
        self.window.error_label.show_message(describe_error(error))
        self.window.reload()

    @Slot()
    def approve(self) -> None:
        window, decision = self.window, self.window.decision
        self.busy = True
        window.update_buttons()
        window.status_label.setText("Merging…")
        window.status_label.setToolTip(
            "The checks run on the merge result first, unless they passed on it already; "
            "the merge goes on if this window is closed"
            if decision.recheck.isChecked()
            else ""
        )
        strategy = MergeStrategy(decision.strategy.currentData())
        message = decision.message.toPlainText()
        recheck = decision.recheck.isChecked()
        decision.recheck.setChecked(True)  # an approve without it is a choice made each time
        self.call(
            merging.approve,
            window.task_id,
            strategy=strategy,
            message=message,
            delete_branch=window.context.settings.value.delete_branch_after_merge,
            recheck=recheck,
            asked_at=ANNOUNCED.announce(window.task_id),  # its place in the merge queue
            done=lambda done: self._on_approved(done.value),
            waits=True,
        )

    def _on_approved(self, task: Task) -> None:
        self.busy = False
        self.window.status_label.setText(f"Merged into {task.base_branch}.")
        self.window.task_finished.emit(task.id)
        self.window.close()

    @Slot()
    def request_changes(self) -> None:
        self.busy = True
        self.window.update_buttons()
        self.call(
            comment_ops.request_changes_with_comments,
            self.window.task_id,
            self.window.decision.request_message.toPlainText().strip(),
            done=self._on_changes_requested,
        )

    def _on_changes_requested(self, _task: Task) -> None:
        self.busy = False
        self.window.decision.request_message.clear()
        self.window.status_label.setText("Sent back to the agent.")
        self.window.reload()

    @Slot()
    def discard(self) -> None:
        if self.window.data is None:
            return
        dialog = DiscardDialog(
            self.window.context, self.window.data.task, parent=self.dialog_parent
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.task_discarded.connect(self._on_dialog_task_discarded)
        dialog.open()

    @Slot(int)
    def _on_dialog_task_discarded(self, task_id: int) -> None:
        self.window.task_finished.emit(task_id)
        self.window.close()

    # -- the plan ----------------------------------------------------------------------

    @Slot()
    def approve_plan(self) -> None:
        self.busy = True
        self.window.update_buttons()
        self.call(
            approve_plan,
            self.window.task_id,
            done=lambda done: self._on_plan_sent(done.value),
        )

    @Slot()
    def send_plan_back(self) -> None:
        comment = self.window.decision.request_message.toPlainText().strip()
        if not comment:
            self.window.error_label.show_message(
                "Write what the plan misses first (above the button)."
            )
            return
        self.busy = True
        self.window.update_buttons()
        self.call(
            request_plan_changes,
            self.window.task_id,
            comment,
            done=lambda done: self._on_plan_sent(done.value),
        )

    def _on_plan_sent(self, task: Task) -> None:
        self.busy = False
        self.window.decision.request_message.clear()
        word = "the executor" if task.pending_kind.value == "implement" else "the planner"
        self.window.status_label.setText(f"Sent to {word}.")
        self.window.reload()

    @Slot(str)
    def save_plan(self, plan: str) -> None:
        self.call(set_plan, self.window.task_id, plan, done=self._on_plan_saved)

    def _on_plan_saved(self, _task: Task) -> None:
        self.window.side.plan_was_saved()
        self.window.status_label.setText("Plan saved.")
        self.window.reload()

    @Slot()
    def resolve(self) -> None:
        self.busy = True
        self.window.update_buttons()
        checks = (
            self.window.data is not None
            and self.window.data.task.phase is Phase.MERGE_CHECKS_FAILED
        )
        self.window.status_label.setText("Sending it back to the agent…")
        fix = review.fix_merge_checks if checks else review.resolve_conflict
        self.call(
            fix,
            self.window.task_id,
            done=lambda done: self._on_resolving(done.value),
        )

    def _on_resolving(self, task: Task) -> None:
        self.busy = False
        self.window.status_label.setText(
            f"Sent back to the agent: it merges {task.base_branch} into its branch and fixes it."
        )
        self.window.reload()
