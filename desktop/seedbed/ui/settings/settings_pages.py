"""The settings dialog's pages for projects and agent profiles, and what every page
shares: a list model of pydantic items and a page that runs its writes off the GUI
thread and shows what went wrong in itself."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from seedbed.core.checking import InvalidField
from seedbed.core.context import Done
from seedbed.core.sandboxing import effective_sandbox, sandboxable
from seedbed.core.setup import (
    add_profile,
    check_profile,
    remove_profile,
    update_profile,
    update_project_settings,
)
from seedbed.domain.errors import SeedbedError
from seedbed.domain.models import AgentKind, AgentProfile, Project, profile_fields
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.widgets import ErrorLabel
from seedbed.ui.settings.model_form import ModelForm

Index = QModelIndex | QPersistentModelIndex
ROLE_FIELDS = ("executor_profile_id", "planner_profile_id", "reviewer_profile_id")
PROJECT_FIELDS = [
    "setup_command",
    "check_command",
    "fix_rounds",
    "executor_profile_id",
    "planner_profile_id",
    "reviewer_profile_id",
    "budget_usd",
    "budget_tokens",
    "copy_globs",
    "diff_budget",
    "check_timeout",
    "agents_start_tasks",
    "check_network",  # the sandbox's, for a sandboxed agent's tasks
    "allowed_hosts",
    "sandbox_paths",
    "sandbox_env",
]


class Role(IntEnum):
    ITEM = Qt.ItemDataRole.UserRole + 1  # the item itself


class ItemListModel(QAbstractListModel):
    """A flat list of items (pydantic objects or names), each shown by `label(item)`."""

    def __init__(self, label: Callable[[Any], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._label = label
        self._items: list[Any] = []

    def set_items(self, items: list[Any]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def items(self) -> list[Any]:
        return list(self._items)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._label(item)
        if role == Role.ITEM:
            return item
        return None


def error_text(error: BaseException) -> str:
    """What the user reads about a failed call: our own messages as they are, anything
    else named, never a traceback."""
    if isinstance(error, SeedbedError):
        return str(error)
    return f"unexpected error: {type(error).__name__}: {error}"


READ_ONLY_SETTINGS = (
    "Read-only: the engine of this data dir stopped. "
    "Change this once it runs again (or with `seedbed profile …`, `seedbed project …`)."
)


class Page(QWidget):
    """A settings page: its writes go through `host.call`; their errors and results
    are shown in the page (a red line, a status line), never lost.

    Signals:
        saved(): something this page changed was written.
    """

    saved = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.error = ErrorLabel(self)
        self.status = QLabel(self)
        self.busy = False
        self._buttons: list[QPushButton] = []

    def button(self, text: str, slot: Callable[[], None]) -> QPushButton:
        """A button that is disabled while a call of this page runs."""
        button = QPushButton(text, self)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        self._buttons.append(button)
        return button

    # Pages that write the store refuse while another engine owns the data dir (the
    # window only follows it); the keyring is not the store, so keys may change. What a
    # store write changed (projects, profiles) is shown from the catalog once it has it.
    writes_store = True

    def refused_read_only(self) -> bool:
        if self.writes_store and self.context.read_only:
            self.error.show_message(READ_ONLY_SETTINGS)
            return True
        return False

    def run(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None]) -> None:
        if self.refused_read_only():
            return
        self.error.show_message("")
        self.status.setText("Working…")
        self._set_busy(True)

        def finished(result: Any) -> None:
            self._set_busy(False)
            self.status.setText("")
            on_done(result)

        def done(result: Any) -> None:
            if not self.writes_store:
                finished(result)
                return
            # The page shows what it wrote from the catalog: once the catalog has it.
            self.context.catalog.refresh(then=lambda: finished(result), owner=self)

        self.context.host.call(fn, *args, on_done=done, on_error=self.fail, owner=self)

    def fail(self, error: BaseException) -> None:
        self._set_busy(False)
        self.status.setText("")
        self.error.show_message(error_text(error))

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for button in self._buttons:
            button.setEnabled(not busy)

    def confirm(self, text: str, on_yes: Callable[[], None]) -> QMessageBox:
        """Ask before something that cannot be undone (window-modal, not blocking)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Seedbed", text, parent=self)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(code: int) -> None:
            if code == QMessageBox.StandardButton.Yes:
                on_yes()

        box.finished.connect(answered)
        box.open()
        return box


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    return area


def _selected(view: QListView) -> Any:
    indexes = view.selectionModel().selectedIndexes()
    return indexes[0].data(Role.ITEM) if indexes else None


def _select(view: QListView, model: ItemListModel, match: Callable[[Any], bool]) -> None:
    for row, item in enumerate(model.items()):
        if match(item):
            view.setCurrentIndex(model.index(row))
            return
    view.clearSelection()


class ProjectsPage(Page):
    """Each project's setup and check commands, copied files, diff budget and check
    timeout (a form over those Project fields). Signals: those of Page."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.model = ItemListModel(lambda project: project.name, self)
        self.view = QListView(self)
        self.view.setModel(self.model)
        profiles = [(None, "none")] + [
            (p.id, f"{p.name} ({p.kind.value})") for p in context.catalog.profiles
        ]
        roles = {name: profiles for name in ROLE_FIELDS}
        self.form = ModelForm(Project, PROJECT_FIELDS, self, choices=roles)
        self.path = QLabel(self)
        self.path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty = QLabel("No projects yet: add one with `seedbed project add PATH`.", self)
        self.save_button = self.button("Save project", self._on_save_clicked)
        # Scrolled: the settings outgrew a short screen (each keeps its full help text).
        self.form_area = _scrolled(self.form)
        right = QVBoxLayout()
        for widget in (self.empty, self.path):
            right.addWidget(widget)
        right.addWidget(self.form_area, 1)
        for widget in (self.error, self.status):
            right.addWidget(widget)
        right.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)
        layout = QHBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(right, 3)
        self.view.selectionModel().currentChanged.connect(self._on_view_current_changed)
        self.reload()

    def reload(self, select_id: int | None = None) -> None:
        projects = self.context.catalog.projects
        self.model.set_items(projects)
        self.empty.setVisible(not projects)
        self.form.setEnabled(bool(projects))
        self.save_button.setVisible(bool(projects))
        wanted = select_id if select_id is not None else self.context.project_id
        if projects:
            ids = [project.id for project in projects]
            chosen = wanted if wanted in ids else ids[0]
            _select(self.view, self.model, lambda project: project.id == chosen)

    def current(self) -> Project | None:
        return _selected(self.view)

    @Slot(QModelIndex, QModelIndex)
    def _on_view_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        project = current.data(Role.ITEM)
        if isinstance(project, Project):
            self.form.set_values(project)
            self.path.setText(f"{project.path} (base branch {project.base_branch})")
            self.error.show_message("")

    @Slot()
    def _on_save_clicked(self) -> None:
        project = self.current()
        if project is None:
            return
        updated = self.form.validate(project.model_dump())
        if not isinstance(updated, Project):
            return
        self.run(
            update_project_settings,
            updated,
            on_done=lambda done: self._saved(done.value),
        )

    def _saved(self, project: Project) -> None:
        self.reload(select_id=project.id)
        self.status.setText(f"Saved {project.name}.")
        self.saved.emit()

    def fail(self, error: BaseException) -> None:
        super().fail(error)
        if isinstance(error, InvalidField):
            self.form.show_error(error.field, str(error))


class ProfilesPage(Page):
    """The agent profiles: add, change, remove. The form shows the fields the selected
    kind uses (`profile_fields`) and is rebuilt when the kind changes; saving checks
    the profile as `seedbed profile add` does.

    Signals: those of Page, and
        removed(Changed): a profile was removed; what that changed (core's Changed: the
        projects whose defaults named it let go of it).
    """

    removed = Signal(object)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.model = ItemListModel(lambda p: f"{p.name}  ({p.kind.value})", self)
        self.view = QListView(self)
        self.view.setModel(self.model)
        self.add_button = self.button("Add", self._on_add_clicked)
        self.remove_button = self.button("Remove…", self._on_remove_clicked)
        self.save_button = self.button("Save profile", self._on_save_clicked)
        self.title = QLabel(self)
        self.header = ModelForm(AgentProfile, ["name", "kind"], self)
        self.header.changed.connect(self._on_header_changed)
        self.body_area = _scrolled(QWidget())
        # What a sandboxed profile's runs may see, write and reach (effective_sandbox).
        self.sandbox_note = QLabel(self)
        self.sandbox_note.setWordWrap(True)
        self.sandbox_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body = self._make_body(AgentKind.COMMAND)
        self.editing = AgentProfile(name="")

        left = QVBoxLayout()
        left.addWidget(self.view, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        left.addLayout(buttons)
        right = QVBoxLayout()
        for widget in (self.title, self.header):
            right.addWidget(widget)
        right.addWidget(self.body_area, 1)
        right.addWidget(self.sandbox_note)
        for widget in (self.error, self.status):
            right.addWidget(widget)
        right.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 3)
        self.view.selectionModel().currentChanged.connect(self._on_view_current_changed)
        self.reload()

    def _make_body(self, kind: AgentKind) -> ModelForm:
        body = ModelForm(AgentProfile, profile_fields(kind)[2:])
        self.body_area.setWidget(body)  # deletes the previous form
        body.changed.connect(self._show_sandbox)
        return body

    @Slot()
    def _show_sandbox(self) -> None:
        """The effective sandbox of the profile as the form says it now (pure: no I/O)."""
        try:
            values = self.body.values()
        except InvalidField:
            return  # a list being typed: the note waits for it
        fields = AgentProfile.model_fields
        known = {name: value for name, value in values.items() if name in fields}
        profile = AgentProfile.model_construct(name="", kind=self.kind(), **known)
        lines = effective_sandbox(profile, self.context.data_dir)
        self.sandbox_note.setText("Sandbox — " + "\n".join(lines) if lines else "")
        self.sandbox_note.setVisible(bool(lines))

    def reload(self, select_id: int | None = None) -> None:
        profiles = self.context.catalog.profiles
        self.model.set_items(profiles)
        if select_id is None and self.editing.id:
            select_id = self.editing.id
        if profiles:
            chosen = select_id if select_id in [p.id for p in profiles] else profiles[0].id
            _select(self.view, self.model, lambda profile: profile.id == chosen)
        else:
            self.edit(AgentProfile(name=""))

    def edit(self, profile: AgentProfile) -> None:
        """Show `profile` in the form (id 0: a new one, saved by Save)."""
        self.editing = profile
        self.title.setText(f"Profile {profile.name}" if profile.id else "New profile")
        self.header.set_values(profile)
        if self.body.fields != profile_fields(profile.kind)[2:]:
            self.body = self._make_body(profile.kind)
        self.body.set_values(profile)
        self._show_sandbox()
        self._set_busy(self.busy)
        self.error.show_message("")

    def kind(self) -> AgentKind:
        return self.header.values()["kind"]

    @Slot(QModelIndex, QModelIndex)
    def _on_view_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        profile = current.data(Role.ITEM)
        if isinstance(profile, AgentProfile):
            self.edit(profile)

    @Slot()
    def _on_header_changed(self) -> None:
        kind = self.kind()
        if self.body.fields == profile_fields(kind)[2:]:
            return
        try:
            carried = self.body.values()
        except InvalidField:
            carried = {}
        keep = {name: value for name, value in carried.items() if name in profile_fields(kind)}
        self.body = self._make_body(kind)
        self.body.set_values(AgentProfile.model_construct(name="", kind=kind, **keep))

    @Slot()
    def _on_add_clicked(self) -> None:
        self.view.clearSelection()
        kind = self.kind()
        boxed = self.context.catalog.sandbox_by_default and sandboxable(kind)
        self.edit(AgentProfile(name="", kind=kind, sandbox=boxed))
        self.header.editor("name").setFocus()

    @Slot()
    def _on_save_clicked(self) -> None:
        self.header.clear_errors()
        self.body.clear_errors()
        try:
            head = self.header.values()
            options = self.body.values()
            profile = check_profile(head["name"], head["kind"], **options)
        except InvalidField as exc:
            self.fail(exc)
            return
        profile_id = self.editing.id
        fields = {name: getattr(profile, name) for name in options}
        if profile_id:
            self.run(
                update_profile,
                profile_id,
                profile.name,
                profile.kind,
                fields,
                on_done=lambda done: self._saved(done.value),
            )
        else:
            self.run(
                add_profile,
                profile.name,
                profile.kind,
                fields,
                on_done=lambda done: self._saved(done.value),
            )

    def _saved(self, profile: AgentProfile) -> None:
        self.editing = profile
        self.reload(select_id=profile.id)
        self.status.setText(f"Saved {profile.name}.")
        self.saved.emit()

    @Slot()
    def _on_remove_clicked(self) -> None:
        profile = self.editing
        if not profile.id:
            return
        self.confirm(f"Remove the agent profile {profile.name!r}?", lambda: self._remove(profile))

    def _remove(self, profile: AgentProfile) -> None:
        def removed(done: Done[None]) -> None:
            self.editing = AgentProfile(name="")
            self.reload()
            self.status.setText(f"Removed {profile.name}.")
            self.removed.emit(done.changed)
            self.saved.emit()

        self.run(remove_profile, profile.name, on_done=removed)

    def _set_busy(self, busy: bool) -> None:
        super()._set_busy(busy)
        self.remove_button.setEnabled(not busy and bool(self.editing.id))

    def fail(self, error: BaseException) -> None:
        super().fail(error)
        if isinstance(error, InvalidField):
            form = self.header if error.field in self.header.fields else self.body
            form.show_error(error.field, str(error))
