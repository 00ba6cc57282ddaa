"""The reviewer's decision box: approve and merge with a strategy and a message,
request changes, comment, discard; the worktree buttons; a merge conflict and the
button that sends it back to the agent. Widgets only: the window acts on the clicks."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from seedbed.domain.models import MergeStrategy, Phase, Task, TaskState
from seedbed.ui.context import AppContext
from seedbed.ui.review.worktree_bar import WorktreeBar
from seedbed.ui.widgets import ErrorLabel


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


class DecisionPanel(QGroupBox):
    """The decision's widgets, enabled for the task's state (see `update_for`)."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Decision", parent)
        self.strategy = QComboBox(self)
        for strategy in MergeStrategy:
            self.strategy.addItem(strategy.value, strategy)
        default = context.settings.value.merge_strategy
        self.strategy.setCurrentIndex(self.strategy.findData(default))
        self.message = QPlainTextEdit(self)
        self.message.setPlaceholderText("Commit message")
        self.message.setMaximumHeight(90)
        self.approve_button = QPushButton("&Approve and merge", self)
        self.recheck = QCheckBox("Check the merge result", self)
        self.recheck.setChecked(True)
        self.recheck.setToolTip(
            "Run the project's checks on exactly what the base would become (unless they "
            "already passed on it) and merge only if they pass"
        )
        self.request_message = QPlainTextEdit(self)
        self.request_message.setPlaceholderText("What should change (the comments are sent too)")
        self.request_message.setMaximumHeight(70)
        self.request_button = QPushButton("&Request changes", self)
        self.comment_button = QPushButton("&Comment…", self)
        self.discard_button = QPushButton("&Discard…", self)
        self.conflict_label = ErrorLabel(self)
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
        approve_row = QHBoxLayout()
        approve_row.addWidget(self.strategy)
        approve_row.addWidget(self.approve_button, 1)
        approve_row.addWidget(self.recheck)
        other_row = QHBoxLayout()
        other_row.addWidget(self.comment_button)
        other_row.addWidget(self.discard_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.conflict_label)
        layout.addWidget(self.resolve_button)
        layout.addWidget(self.message)
        layout.addLayout(approve_row)
        layout.addWidget(self.request_message)
        layout.addWidget(self.request_button)
        layout.addWidget(self.plan_approve_button)
        layout.addWidget(self.plan_back_button)
        layout.addLayout(other_row)
        layout.addWidget(self.worktree)
        self.strategy.currentIndexChanged.connect(self._on_strategy_current_index_changed)
        self._on_strategy_current_index_changed(self.strategy.currentIndex())

    @Slot(int)
    def show_unsent(self, count: int) -> None:
        """The request button says how many comments it sends."""
        sent = f" ({count} comment{'s' if count != 1 else ''})" if count else ""
        self.request_button.setText(f"&Request changes{sent}")

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
        for widget in (
            self.approve_button,
            self.strategy,
            self.recheck,
            self.message,
            self.request_button,
        ):
            widget.setVisible(not plan)
        self.request_message.setPlaceholderText(
            "What the plan misses (sent back with it)"
            if plan
            else "What should change (the comments are sent too)"
        )
        merging = task is not None and task.phase is Phase.MERGING
        for button in (self.approve_button, self.request_button, self.discard_button):
            button.setEnabled(waiting and idle and not merging)
        self.comment_button.setEnabled(task is not None and idle)
        fix = FIX_LABELS.get(task.phase) if waiting and task is not None else None
        self.conflict_label.show_message(conflict_text(task) if fix and task else "")
        self.resolve_button.setVisible(fix is not None)
        self.resolve_button.setEnabled(fix is not None and idle)
        if fix is not None:
            self.resolve_button.setText(fix[0])
            self.resolve_button.setToolTip(fix[1])
        self.worktree.set_task(task)
