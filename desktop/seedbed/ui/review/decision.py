"""The reviewer's decision bar, under the whole window: the commit message over Approve
and merge (its strategy beside it), the request for changes over Request changes, then
Discard and a "More" menu (comment, the worktree's folder, editor and terminal); a merge
conflict and the button that sends it back to the agent. Widgets only: the window acts
on the clicks."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from seedbed.domain.models import MergeStrategy, Phase, Task, TaskState
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.widgets import ErrorLabel, never_widens
from seedbed.ui.review.worktree_bar import WorktreeBar

TEXT_LINES = 4  # the height of the message and request boxes, in lines


def conflict_text(task: Task) -> str:
    """What the reviewer says of a merge that did not land: a conflict (the error names
    the files) or checks that failed on the merge result (the error names their output)."""
    if task.phase is Phase.MERGE_CHECKS_FAILED:
        detail = task.error.strip() or "the checks failed on the merge result"
        return f"Not merged: {detail}"
    detail = task.error.strip() or "the merge into the base branch conflicts"
    return f"Merge conflict: {detail}"


FIX_LABELS = {
    Phase.CONFLICT: (
        "Ask the agent to &resolve",
        "The agent merges the base branch into its branch and resolves the conflicts",
    ),
    Phase.MERGE_CHECKS_FAILED: (
        "Bring in the base and &fix",
        "The agent merges the base branch into its branch and makes the checks pass on it",
    ),
}


class DecisionPanel(QWidget):
    """The decision's widgets, enabled for the task's state (see `update_for`).

    The bar holds only what decides; the rest is in `more_menu`. An option of approving
    (a checkable action) belongs in that menu too, above the worktree's entries."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strategy = QComboBox(self)
        for strategy in MergeStrategy:
            self.strategy.addItem(strategy.value, strategy)
        default = context.settings.value.merge_strategy
        self.strategy.setCurrentIndex(self.strategy.findData(default))
        self.strategy.setToolTip("How the branch goes into the base branch")
        self.message = QPlainTextEdit(self)
        self.message.setPlaceholderText("Commit message")
        self.approve_button = QPushButton("&Approve and merge", self)
        # Approve's one option: unticked, the merge result lands unchecked (--no-recheck).
        self.recheck = QAction("Approve: check the &merge result before it lands", self)
        self.recheck.setCheckable(True)
        self.recheck.setChecked(True)
        self.recheck.setToolTip(
            "Run the project's checks on exactly what the base would become (unless they "
            "already passed on it) and merge only if they pass"
        )
        self.request_message = QPlainTextEdit(self)
        self.request_message.setPlaceholderText("What should change (the comments are sent too)")
        for box in (self.message, self.request_message):
            box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            lines = box.fontMetrics().lineSpacing() * TEXT_LINES
            box.setFixedHeight(lines + 2 * box.frameWidth() + 10)
        self.request_button = QPushButton("&Request changes", self)
        self.discard_button = QPushButton("&Discard…", self)
        self.conflict_label = ErrorLabel(self)
        never_widens(self.conflict_label)
        self.resolve_button = QPushButton("Ask the agent to &resolve", self)
        self.resolve_button.setToolTip(
            "The agent merges the base branch into its branch and resolves the conflicts"
        )
        self.resolve_button.hide()
        # A plan waiting for the developer: approve it, or send it back with the comment
        # written in the request box (the plan itself is edited in the Plan tab).
        self.plan_approve_button = QPushButton("Approve the &plan", self)
        self.plan_approve_button.setToolTip("The executor writes the code, the plan in its prompt")
        self.plan_back_button = QPushButton("Send the plan &back", self)
        self.plan_back_button.setToolTip("Back to the planner with what you wrote above")
        self.worktree = WorktreeBar(context, self)
        self.comment_action = QAction("&Comment on the selected lines…", self)
        self.comment_action.setToolTip("Or click a line number, or press C in the diff")
        self.more_menu = QMenu(self)
        self.more_menu.setToolTipsVisible(True)
        self.more_menu.addAction(self.recheck)
        self.more_menu.addSeparator()
        self.more_menu.addAction(self.comment_action)
        self.more_menu.addSeparator()
        for action in self.worktree.actions():
            self.more_menu.addAction(action)
        self.more_button = QToolButton(self)
        self.more_button.setText("More")
        self.more_button.setMenu(self.more_menu)
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

        approve_row = QHBoxLayout()
        approve_row.setSpacing(0)  # the strategy reads as the approve button's drop-down
        approve_row.addWidget(self.approve_button)
        approve_row.addWidget(self.strategy)
        approve_row.addWidget(self.plan_approve_button)
        approve_row.addStretch(1)
        request_row = QHBoxLayout()
        request_row.addWidget(self.request_button)
        request_row.addWidget(self.plan_back_button)
        request_row.addStretch(1)
        request_row.addWidget(self.discard_button)
        request_row.addWidget(self.more_button)
        conflict_row = QHBoxLayout()
        conflict_row.addWidget(self.conflict_label, 1)
        conflict_row.addWidget(self.resolve_button)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(conflict_row, 0, 0, 1, 2)
        layout.addWidget(self.message, 1, 0)
        layout.addWidget(self.request_message, 1, 1)
        layout.addLayout(approve_row, 2, 0)
        layout.addLayout(request_row, 2, 1)
        layout.setColumnStretch(0, 3)
        layout.setColumnStretch(1, 2)
        self.recheck.toggled.connect(self._on_recheck_toggled)
        self.strategy.currentIndexChanged.connect(self._on_strategy_current_index_changed)
        self._on_strategy_current_index_changed(self.strategy.currentIndex())

    @Slot(int)
    def show_unsent(self, count: int) -> None:
        """The request button says how many comments it sends."""
        sent = f" ({count} comment{'s' if count != 1 else ''})" if count else ""
        self.request_button.setText(f"&Request changes{sent}")

    @Slot(bool)
    def _on_recheck_toggled(self, checked: bool) -> None:
        """Unticked, the button says so: a merge result landing unchecked is never a
        surprise."""
        self.approve_button.setText(
            "&Approve and merge" if checked else "&Approve and merge (no re-check)"
        )

    @Slot(int)
    def _on_strategy_current_index_changed(self, _index: int) -> None:
        rebase = self.strategy.currentData() == MergeStrategy.REBASE
        # A rebase keeps the agent's own commits and their messages: nothing to write.
        self.message.setEnabled(not rebase)
        self.message.setToolTip("A rebase keeps the branch's own commit messages" if rebase else "")

    def update_for(self, task: Task | None, busy: bool) -> None:
        waiting = task is not None and task.state is TaskState.AWAITING_REVIEW
        idle = not busy
        plan = waiting and task is not None and task.phase is Phase.PLAN_READY
        for widget in (self.plan_approve_button, self.plan_back_button):
            widget.setVisible(plan)
            widget.setEnabled(plan and idle)
        for control in (
            self.approve_button,
            self.strategy,
            self.recheck,
            self.message,
            self.request_button,
        ):
            control.setVisible(not plan)
        self.request_message.setPlaceholderText(
            "What the plan misses (sent back with it)"
            if plan
            else "What should change (the comments are sent too)"
        )
        merging = task is not None and task.phase is Phase.MERGING
        for button in (self.approve_button, self.request_button, self.discard_button):
            button.setEnabled(waiting and idle and not merging)
        self.comment_action.setEnabled(task is not None and idle)
        fix = FIX_LABELS.get(task.phase) if waiting and task is not None else None
        self.conflict_label.show_message(conflict_text(task) if fix and task else "")
        self.resolve_button.setVisible(fix is not None)
        self.resolve_button.setEnabled(fix is not None and idle)
        if fix is not None:
            self.resolve_button.setText(fix[0])
            self.resolve_button.setToolTip(fix[1])
        self.worktree.set_task(task)
