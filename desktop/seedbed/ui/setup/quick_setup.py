"""The first run's short agent setup: pick a kind; for Seedbed's own agent the provider,
model and key (the key goes to the keyring, never to Seedbed's files); for a CLI, what
`agents doctor` finds of it. One profile is made, the rest is in Settings."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from seedbed.core.agent_setup import cli_versions, create_agent
from seedbed.core.context import Done
from seedbed.domain.models import (
    CLI_KINDS,
    DEFAULT_BASE_URLS,
    AgentKind,
    AgentProfile,
    ProviderKind,
)
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.widgets import ErrorLabel

MODEL_HINTS = {
    ProviderKind.OPENAI: "e.g. gpt-4.1",
    ProviderKind.ANTHROPIC: "e.g. claude-sonnet-4-5",
}


class QuickSetup(QGroupBox):
    """Signals: profile_added(str): a profile was made; its name."""

    profile_added = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Set up an agent", parent)
        self.context = context
        self.versions: dict[str, str] | None = None  # what was found of the CLIs
        self._versions_look = BackgroundCall(context.host, self)  # a later look drops older
        self._versions_look.finished.connect(self._on_versions_look_finished)
        self._versions_look.failed.connect(self._on_versions_look_failed)
        self._creating = BackgroundCall(context.host, self)  # one profile at a time
        self._creating.finished.connect(self._on_creating_finished)
        self._creating.failed.connect(self._on_creating_failed)
        self.kind = QComboBox(self)
        self.kind.addItem("Seedbed's own agent (an API key)", AgentKind.BUILTIN)
        for kind in CLI_KINDS:
            self.kind.addItem(f"{kind.value} (its CLI)", kind)
        self.provider = QComboBox(self)
        self.provider.addItem("OpenAI-compatible", ProviderKind.OPENAI)
        self.provider.addItem("Anthropic", ProviderKind.ANTHROPIC)
        self.model = QLineEdit(self)
        self.base_url = QLineEdit(self)
        self.key = QLineEdit(self)
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("stored in the system keyring")
        self.found = QLabel(self)
        self.found.setWordWrap(True)
        self.create_button = QPushButton("Create the agent", self)
        self.error_label = ErrorLabel(self)
        self.form = QFormLayout(self)
        self.form.addRow("Kind", self.kind)
        self.form.addRow("Provider", self.provider)
        self.form.addRow("Model", self.model)
        self.form.addRow("Base URL", self.base_url)
        self.form.addRow("Key", self.key)
        self.form.addRow("", self.found)
        self.form.addRow(self.create_button)
        self.form.addRow(self.error_label)
        self.kind.currentIndexChanged.connect(self._on_kind_current_index_changed)
        self.provider.currentIndexChanged.connect(self._on_provider_current_index_changed)
        self.create_button.clicked.connect(self._on_create_button_clicked)
        self._on_provider_current_index_changed(0)
        self._on_kind_current_index_changed(0)

    def _kind(self) -> AgentKind:
        return AgentKind(self.kind.currentData())  # Qt hands the enum back as a str

    def _provider(self) -> ProviderKind:
        return ProviderKind(self.provider.currentData())

    def _builtin(self) -> bool:
        return self._kind() is AgentKind.BUILTIN

    @Slot(int)
    def _on_kind_current_index_changed(self, _index: int) -> None:
        builtin = self._builtin()
        for widget in (self.provider, self.model, self.base_url, self.key):
            widget.setVisible(builtin)
            label = self.form.labelForField(widget)
            if label is not None:
                label.setVisible(builtin)
        self.found.setVisible(not builtin)
        if builtin:
            self.create_button.setEnabled(not self._creating.busy)
        elif self.versions is None:
            self.found.setText("Looking for it…")
            self.create_button.setEnabled(False)
            if not self._versions_look.busy:  # asked once per look
                self._versions_look.run(cli_versions)
        else:
            self._show_version()

    def look_again(self) -> None:
        """Forget what was found of the CLIs: one may have been installed since."""
        self.versions = None
        self._versions_look.drop()
        self._on_kind_current_index_changed(self.kind.currentIndex())

    @Slot(object)
    def _on_versions_look_finished(self, versions: dict[str, str]) -> None:
        self.versions = versions
        if not self._builtin():
            self._show_version()

    @Slot(str)
    def _on_versions_look_failed(self, message: str) -> None:
        if not self._builtin():
            self.found.setText(f"Could not look for it: {message}")

    def _show_version(self) -> None:
        found = (self.versions or {}).get(self._kind().value, "")
        self.found.setText(
            f"Found: {found}."
            if found
            else "Not found here: install it, then come back "
            "(or give a profile its path in Settings)."
        )
        self.create_button.setEnabled(bool(found) and not self._creating.busy)

    @Slot(int)
    def _on_provider_current_index_changed(self, _index: int) -> None:
        provider = self._provider()
        self.model.setPlaceholderText(MODEL_HINTS[provider])
        self.base_url.setPlaceholderText(DEFAULT_BASE_URLS[provider])

    @Slot()
    def _on_create_button_clicked(self) -> None:
        if self.context.read_only:
            self.error_label.show_message(
                "The engine of this data dir stopped: nothing was changed."
            )
            return
        self.error_label.show_message("")
        self._creating.run(
            create_agent,
            self._kind(),
            self._provider(),
            self.model.text(),
            self.base_url.text(),
            self.key.text(),
        )
        self.create_button.setEnabled(False)

    @Slot(object)
    def _on_creating_finished(self, done: Done[AgentProfile]) -> None:
        self.key.clear()
        self._on_kind_current_index_changed(self.kind.currentIndex())
        self.profile_added.emit(done.value.name)

    @Slot(str)
    def _on_creating_failed(self, message: str) -> None:
        self._on_kind_current_index_changed(self.kind.currentIndex())
        self.error_label.show_message(message)


class SetupDialog(QDialog):
    """The short setup on its own, for a project whose board has no agent that can run.
    Closes once a profile is made. Signals: profile_added(str): its name."""

    profile_added = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Set up an agent")
        self.setup = QuickSetup(context, self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.setup)
        layout.addWidget(buttons)
        buttons.rejected.connect(self.reject)
        self.setup.profile_added.connect(self._on_setup_profile_added)

    @Slot(str)
    def _on_setup_profile_added(self, name: str) -> None:
        self.profile_added.emit(name)
        self.accept()
