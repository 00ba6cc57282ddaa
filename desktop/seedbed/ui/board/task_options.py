"""The task dialog's "Verify and bound" group: planner, reviewer, what the task waits
for, auto-merge and auto-approving its plan, its budgets (see engine TaskOptions)."""

from __future__ import annotations

import re

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from seedbed.core.tasks import TaskBudget, TaskOptions
from seedbed.domain import bounds
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentProfile, Project, Task

NONE = "none"
AFTER_TIP = "Task numbers that must be merged before this one starts, e.g. 12, 15"


def parse_after(text: str) -> list[int]:
    """ "#12, 15 #16" → [12, 15, 16]; anything else is a clear error."""
    parts = [p for p in re.split(r"[\s,]+", text.strip()) if p]
    found = []
    for part in parts:
        number = part.removeprefix("#")
        if not (number.isascii() and number.isdigit()):
            raise UserError(f"{part!r} is not a task number (write them like 12, 15)")
        try:
            bounds.check(Task, "after", int(number))
        except ValueError as exc:
            raise UserError(f"{part!r} is not a task number: it {exc}") from None
        found.append(int(number))
    return found


def _range(field: str) -> tuple[float, float]:
    """The bounds Task declares for one of its budgets: what a spin box may hold."""
    low, _strict, high = bounds.field_bounds(Task, field)
    assert low is not None and high is not None
    return low, high


class TaskOptionsBox(QGroupBox):
    """The options' widgets, filled from a task or a project's defaults; `options()`."""

    def __init__(self, profiles: list[AgentProfile], parent: QWidget | None = None) -> None:
        super().__init__("Verify and bound", parent)
        self._ids = {p.id: p.name for p in profiles}
        self.planner = self._combo(profiles)
        self.reviewer = self._combo(profiles)
        self.after_edit = QLineEdit(self)
        self.after_edit.setPlaceholderText("e.g. 12, 15")
        self.after_edit.setToolTip(AFTER_TIP)
        self.auto_approve_box = QCheckBox("Approve the plan without asking me", self)
        self.auto_merge_box = QCheckBox("Merge once checks pass and the reviewer approves", self)
        self.usd = QDoubleSpinBox(self)
        self.usd.setRange(*_range("budget_usd"))
        self.usd.setDecimals(3)
        self.usd.setPrefix("$")
        self.usd.setSpecialValueText("no $ limit")
        self.tokens = QSpinBox(self)
        self.tokens.setRange(*(int(end) for end in _range("budget_tokens")))
        self.tokens.setSingleStep(100_000)
        self.tokens.setSpecialValueText("no token limit")
        self.tokens.setSuffix(" tokens")
        self.minutes = QDoubleSpinBox(self)  # fractions too: a CLI limit of 0.5 stays
        self.minutes.setRange(*(end / 60 for end in _range("time_limit_s")))
        self.minutes.setDecimals(2)
        self.minutes.setSuffix(" min")
        self.minutes.setSpecialValueText("no time limit")
        budgets = QHBoxLayout()
        for widget in (self.usd, self.tokens, self.minutes):
            budgets.addWidget(widget)
        form = QFormLayout(self)
        form.addRow("Pla&nner", self.planner)
        form.addRow("Revie&wer", self.reviewer)
        form.addRow("&After", self.after_edit)
        form.addRow("", self.auto_approve_box)
        form.addRow("", self.auto_merge_box)
        budget_label = QLabel("&Budget", self)  # a label of its own: a row of three has no buddy
        budget_label.setBuddy(self.usd)
        form.addRow(budget_label, budgets)

    def _combo(self, profiles: list[AgentProfile]) -> QComboBox:
        combo = QComboBox(self)
        combo.addItem(NONE, None)
        for profile in profiles:
            combo.addItem(f"{profile.name} ({profile.kind.value})", profile.name)
        return combo

    def _select(self, combo: QComboBox, profile_id: int | None) -> None:
        name = self._ids.get(profile_id) if profile_id is not None else None
        combo.setCurrentIndex(max(0, combo.findData(name)) if name else 0)

    def fill_defaults(self, project: Project) -> None:
        self._select(self.planner, project.planner_profile_id)
        self._select(self.reviewer, project.reviewer_profile_id)

    def fill(self, task: Task) -> None:
        self._select(self.planner, task.planner_profile_id)
        self._select(self.reviewer, task.reviewer_profile_id)
        self.after_edit.setText(", ".join(str(n) for n in task.after))
        self.auto_merge_box.setChecked(task.auto_merge)
        self.auto_approve_box.setChecked(task.auto_approve_plan)
        self.usd.setValue(task.budget_usd)
        self.tokens.setValue(task.budget_tokens)
        self.minutes.setValue(task.time_limit_s / 60)

    def options(self) -> TaskOptions:
        """What the widgets say (a badly written "After" raises UserError)."""
        planner, reviewer = self.planner.currentData(), self.reviewer.currentData()
        return TaskOptions(
            planner=planner if isinstance(planner, str) else None,
            reviewer=reviewer if isinstance(reviewer, str) else None,
            after=parse_after(self.after_edit.text()),
            auto_merge=self.auto_merge_box.isChecked(),
            auto_approve_plan=self.auto_approve_box.isChecked(),
            budget=TaskBudget(
                budget_usd=self.usd.value(),
                budget_tokens=self.tokens.value(),
                time_limit_s=self.minutes.value() * 60.0,
            ),
        )
