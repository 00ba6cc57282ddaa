"""The settings dialog: application settings, projects, agent profiles, API keys and MCP
servers."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from seedbed.core.context import Changed
from seedbed.core.keys import (
    KeyringState,
    checked_key_input,
    forget_key,
    keyring_state,
    no_keyring_message,
    no_such_key,
    store_key,
)
from seedbed.domain.errors import SeedbedError
from seedbed.domain.models import Settings
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.widgets import ErrorLabel
from seedbed.ui.settings.mcp_page import McpServersPage
from seedbed.ui.settings.model_form import ModelForm
from seedbed.ui.settings.settings_pages import ItemListModel, Page, ProfilesPage, ProjectsPage


class GeneralPage(Page):
    """The application's settings, a form over every field of `Settings`; Save writes
    settings.json and applies the number of parallel agents. Signals: those of Page."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.form = ModelForm(Settings, list(Settings.model_fields), self)
        self.form.set_values(context.settings.value)
        self.save_button = self.button("Save", self._on_save_clicked)
        layout = QVBoxLayout(self)
        for widget in (self.form, self.error, self.status):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)

    @Slot()
    def _on_save_clicked(self) -> None:
        if self.refused_read_only():
            return
        settings = self.form.validate()
        if not isinstance(settings, Settings):
            return
        self.error.show_message("")
        # The engine saves them, and takes in how many tasks may run at once.
        self.context.settings.save(
            settings, on_done=self._on_saved, on_error=self._on_failed, owner=self
        )

    def _on_saved(self, _settings: Settings) -> None:
        self.status.setText("Saved.")
        self.saved.emit()

    def _on_failed(self, error: BaseException) -> None:
        self.error.show_message(f"cannot save the settings: {error}")


class KeysPage(Page):
    """API keys in the OS keyring of the engine's machine (where the agents run): the
    backend in use, the stored key names (never a value), Set and Remove. With no
    working keyring it says so and names the environment variables to use instead.
    Signals: those of Page."""

    writes_store = False

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.backend = QLabel("Keyring: …", self)
        self.backend.setWordWrap(True)
        self.backend.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = ErrorLabel(self)
        self.warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = ItemListModel(str, self)
        self.view = QListView(self)
        self.view.setModel(self.model)
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("openai, anthropic, gemini, or a profile's key name")
        self.value = QLineEdit(self)
        self.value.setEchoMode(QLineEdit.EchoMode.Password)
        self.value.setPlaceholderText("the key (not shown, never read back)")
        self.set_button = self.button("Set key", self._on_set_clicked)
        self.remove_button = self.button("Remove…", self._on_remove_clicked)
        self.refresh_button = self.button("Check again", self._on_refresh_clicked)
        self.value.returnPressed.connect(self._on_value_return_pressed)

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Key", self.value)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.set_button)
        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        head.addWidget(self.backend, 1)
        head.addWidget(self.refresh_button)
        layout.addLayout(head)
        layout.addWidget(self.warning)
        layout.addWidget(QLabel("Stored keys:", self))
        layout.addWidget(self.view, 1)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        self.state: KeyringState | None = None
        self.refresh()

    def refresh(self, message: str = "") -> None:
        def shown(state: KeyringState) -> None:
            self.state = state
            self.backend.setText(f"Keyring: {state.backend}")
            if state.problem:
                self.warning.show_message(no_keyring_message(state.problem, state.env_set))
            else:
                self.warning.show_message("")
            self.model.set_items(state.names)
            self.status.setText(message)

        self.run(keyring_state, on_done=shown)

    @Slot()
    def _on_refresh_clicked(self) -> None:
        self.refresh()

    @Slot()
    def _on_value_return_pressed(self) -> None:
        self._on_set_clicked()

    @Slot()
    def _on_set_clicked(self) -> None:
        if self.busy:
            return
        value = self.value.text()
        # The field is emptied at once: whatever happens next, the key is not kept here.
        self.value.clear()
        try:
            name = checked_key_input(self.name.text().strip(), value)
        except SeedbedError as exc:
            self.error.show_message(str(exc))
            return
        self.run(
            store_key,
            name,
            value,
            on_done=lambda _: self._changed(f"Key {name!r} stored."),
        )

    @Slot()
    def _on_remove_clicked(self) -> None:
        indexes = self.view.selectionModel().selectedIndexes()
        if not indexes:
            self.error.show_message("select the key to remove")
            return
        name = str(indexes[0].data())
        self.confirm(f"Remove the key {name!r} from the keyring?", lambda: self._remove(name))

    def _remove(self, name: str) -> None:
        def removed(existed: bool) -> None:
            if existed:
                self._changed(f"Key {name!r} removed.")
            else:
                self.refresh()
                self.error.show_message(no_such_key(name))

        self.run(forget_key, name, on_done=removed)

    def _changed(self, message: str) -> None:
        self.saved.emit()
        self.refresh(message)


class SettingsDialog(QDialog):
    """Settings in five tabs: General, Projects, Agent profiles, API keys, MCP servers.
    Each tab saves on its own; errors show in the tab, never as a traceback.

    Signals:
        projects_changed(): a project's settings were saved.
        profiles_changed(): a profile was added, changed or removed.
    """

    projects_changed = Signal()
    profiles_changed = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Seedbed settings")
        self.resize(820, 600)
        self.general = GeneralPage(context, self)
        self.projects = ProjectsPage(context, self)
        self.profiles = ProfilesPage(context, self)
        self.keys = KeysPage(context, self)
        self.mcp_servers = McpServersPage(context, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.general, "General")
        self.tabs.addTab(self.projects, "Projects")
        self.tabs.addTab(self.profiles, "Agent profiles")
        self.tabs.addTab(self.keys, "API keys")
        self.tabs.addTab(self.mcp_servers, "MCP servers")
        self.projects.saved.connect(self.projects_changed)
        self.profiles.saved.connect(self.profiles_changed)
        self.profiles.removed.connect(self._on_profiles_removed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        # Enter in a field (a key, a command) must never close the dialog unsaved.
        buttons.button(QDialogButtonBox.StandardButton.Close).setAutoDefault(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)

    @Slot(object)
    def _on_profiles_removed(self, changed: Changed) -> None:
        if changed.projects:  # a project's default may have named it: show it let go
            shown = self.projects.current()
            self.projects.reload(shown.id if shown is not None else None)
