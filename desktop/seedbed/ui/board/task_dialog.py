"""The New task / Edit task dialog, and the inline error label dialogs share."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut, QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from seedbed.core import reads
from seedbed.core.agent_setup import agent_problems
from seedbed.core.tasks import TaskDraft, create_task, edit_task
from seedbed.core.titles import one_line_title
from seedbed.domain.errors import UserError
from seedbed.domain.models import Project, Task
from seedbed.ui.board.task_options import TaskOptionsBox
from seedbed.ui.common.actions import ACTIONS
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.errors import describe_error
from seedbed.ui.common.widgets import ErrorLabel

NO_PROFILE = "no profile yet — add one in Settings"
FIRST_THAT_RUNS = "the first that can run"
READ_ONLY_MESSAGE = (
    "The engine of this data dir stopped, so this window is read-only and nothing "
    "was saved; what you typed stays here."
)
PLAN_FIRST_TIP = (
    "The planner (below; else the task's profile) reads the repository and writes a "
    "plan; you approve, edit or send it back before any code is written."
)
FOREGROUND_TIP = "Pin to the foreground view: watched live."
START_TIP = "Queue it at once: it runs as soon as a slot is free."
NO_PROFILE_START_TIP = "A task needs an agent profile to run: add one in Settings."


class _TitleValidator(QValidator):
    """Makes the field's text what the field shows, whether typed, pasted or set."""

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        return QValidator.State.Acceptable, one_line_title(text), pos


class TaskDialog(QDialog):
    """Creates a task in a project, or edits a planned one.

    OK (or Ctrl+Enter) saves through the engine host; the dialog stays open, its
    buttons disabled, until the save is done, and closes only when it succeeded. A
    refusal is shown in red inside the dialog with everything typed left in place.

    Signals:
        task_saved(int): the task was created or changed; its id.
    """

    task_saved = Signal(int)

    def __init__(
        self,
        context: AppContext,
        project_id: int,
        task: Task | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.project_id = project_id
        self.task = task
        self._busy = False
        self.setWindowTitle("New task" if task is None else f"Edit task {task.id}")
        self.setMinimumWidth(520)

        self.title_edit = QLineEdit(self)
        self.title_edit.setValidator(_TitleValidator(self.title_edit))
        self.title_edit.setPlaceholderText("What the card says")
        self.prompt_edit = QPlainTextEdit(self)
        self.prompt_edit.setPlaceholderText("What the agent should do (empty: the title)")
        self.prompt_edit.setTabChangesFocus(True)
        self.profile_combo = QComboBox(self)
        self.plan_first_box = QCheckBox("Plan first", self)
        self.plan_first_box.setToolTip(PLAN_FIRST_TIP)
        self.foreground_box = QCheckBox("Foreground", self)
        self.foreground_box.setToolTip(FOREGROUND_TIP)
        self.start_box = QCheckBox("Start now", self)
        self.start_box.setToolTip(START_TIP)
        self.error_label = ErrorLabel(self)
        self.options_box = TaskOptionsBox(context.catalog.profiles, self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )

        self.form = QWidget(self)
        form = QFormLayout(self.form)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("&Title", self.title_edit)
        form.addRow("&Prompt", self.prompt_edit)
        form.addRow("P&rofile", self.profile_combo)
        form.addRow("", self.plan_first_box)
        form.addRow("", self.foreground_box)
        form.addRow("", self.start_box)
        form.addRow(self.options_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        if task is not None:
            self._fill_profiles(task.profile_id)
            self.title_edit.setText(task.title)
            self.prompt_edit.setPlainText(task.prompt)
            self.plan_first_box.setChecked(task.plan_first)
            self.foreground_box.setChecked(task.foreground)
            self.options_box.fill(task)
            self.start_box.hide()
        else:
            self._fill_new()

        self.title_edit.textChanged.connect(self._on_title_edit_text_changed)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self._on_buttons_rejected)
        save = ACTIONS["save_task"].shortcut
        # Ctrl+Enter too: the keypad's Enter is another key.
        for keys in (save, save.replace("Return", "Enter")):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(self._on_buttons_accepted)
        self._update_buttons()

    # -- reading the form --------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while a save is under way."""
        return self._busy

    def ok_button(self) -> QWidget:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def profile_name(self) -> str | None:
        data = self.profile_combo.currentData()
        return data if isinstance(data, str) else None

    def _fill_new(self) -> None:
        """A new task starts from its project's defaults, as the catalog holds them; a
        project the catalog does not hold yet (added a moment ago elsewhere) is asked of
        the engine, and the form filled when it comes."""
        project = self.context.catalog.project(self.project_id)
        if project is not None:
            self._fill_from_project(project)
            return
        self.context.host.call(
            reads.get_project,
            self.project_id,
            on_done=self._fill_from_project,
            on_error=lambda error: self.error_label.show_message(describe_error(error)),
            owner=self,
        )

    def _fill_from_project(self, project: Project) -> None:
        self._fill_profiles(project.executor_profile_id)
        self.options_box.fill_defaults(project)

    def _fill_profiles(self, chosen: int | None) -> None:
        """The profiles to choose from, `chosen` selected: the task's own, or for a new
        task the project's executor."""
        profiles = self.context.catalog.profiles
        combo = self.profile_combo
        if not profiles:
            combo.addItem(NO_PROFILE, None)
            combo.setEnabled(False)
            self.start_box.setEnabled(False)
            self.start_box.setToolTip(NO_PROFILE_START_TIP)
            return
        if self.task is not None and self.task.profile_id is None:
            combo.addItem("no profile", None)
        # A new task gets the project's executor, if it names one; else the engine gives
        # it the first agent that can run when it is saved (core.tasks.add_task).
        if self.task is None and chosen is None:
            combo.addItem(FIRST_THAT_RUNS, None)
        for profile in profiles:
            combo.addItem(f"{profile.name} ({profile.kind.value})", profile.name)
            if profile.id == chosen:
                combo.setCurrentIndex(combo.count() - 1)
        # Which of them can run is looked at in the engine (PATH, the keyring): each
        # that cannot says so, and why.
        self.context.host.call(agent_problems, on_done=self._on_problems, owner=self)

    def _on_problems(self, found: dict[str, str]) -> None:
        combo = self.profile_combo
        ready = next((name for name, problem in found.items() if not problem), None)
        for index in range(combo.count()):
            name = combo.itemData(index)
            problem = found.get(str(name), "")
            if problem:
                combo.setItemText(index, f"{combo.itemText(index)} — cannot run")
                combo.setItemData(index, problem, Qt.ItemDataRole.ToolTipRole)
            elif name is None and combo.itemText(index) == FIRST_THAT_RUNS and ready:
                combo.setItemText(index, f"{FIRST_THAT_RUNS} ({ready})")

    # -- saving ------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        ready = bool(self.title_edit.text().strip())
        self.ok_button().setEnabled(ready and not self._busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setEnabled(not self._busy)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.form.setEnabled(not busy)
        self._update_buttons()

    @Slot(str)
    def _on_title_edit_text_changed(self, _text: str) -> None:
        self._update_buttons()

    @Slot()
    def _on_buttons_accepted(self) -> None:
        if self._busy or not self.title_edit.text().strip():
            return
        if self.context.read_only:
            self.error_label.show_message(READ_ONLY_MESSAGE)
            return
        title = self.title_edit.text()
        prompt = self.prompt_edit.toPlainText()
        profile_name = self.profile_name()
        foreground = self.foreground_box.isChecked()
        plan_first = self.plan_first_box.isChecked()
        start = self.start_box.isEnabled() and self.start_box.isChecked()
        try:
            options = self.options_box.options()
        except UserError as exc:
            self.error_label.show_message(str(exc))
            return
        plan_first = plan_first or options.auto_approve_plan  # approving it needs one
        self.error_label.show_message("")
        self._set_busy(True)
        if self.task is None:
            draft = TaskDraft.with_options(
                self.project_id,
                title,
                options,
                prompt=prompt,
                profile=profile_name,
                start=start,
                foreground=foreground,
                plan_first=plan_first,
            )
            self.context.host.call(
                create_task,
                draft,
                on_done=lambda done: self._on_save_done(done.value),
                on_error=self._on_save_failed,
                owner=self,
            )
        else:
            self.context.host.call(
                edit_task,
                self.task.id,
                title,
                prompt,
                profile_name,
                plan_first,
                foreground,
                options,
                on_done=lambda done: self._on_save_done(done.value),
                on_error=self._on_save_failed,
                owner=self,
            )

    @Slot()
    def _on_buttons_rejected(self) -> None:
        self.reject()

    def reject(self) -> None:
        # Closing mid-save would hide whether the task was saved: wait for the answer.
        if not self._busy:
            super().reject()

    def _on_save_done(self, task: Task) -> None:
        self._set_busy(False)
        self.task_saved.emit(task.id)
        self.accept()

    def _on_save_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.error_label.show_message(describe_error(error))
