"""The first run's short agent setup: pick a kind; for Seedbed's own agent the provider,
model and key (the key goes to the keyring, never to Seedbed's files); for a CLI, what
`agents doctor` finds of it. One profile is made, the rest is in Settings."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

from pydantic import SecretStr
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

from seedbed import secrets
from seedbed.agents.urls import is_local
from seedbed.core.context import Context
from seedbed.core.setup import add_profile, check_profile
from seedbed.domain.errors import UserError
from seedbed.domain.models import (
    CLI_KINDS,
    DEFAULT_BASE_URLS,
    AgentKind,
    AgentProfile,
    ProviderKind,
)
from seedbed.store import Store
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.widgets import ErrorLabel

NO_AGENT = (
    "No agent yet. Seedbed's own agent needs an API key (or a local model server); a "
    "coding-agent CLI (Claude Code, Codex, Aider…) needs to be installed."
)
MODEL_HINTS = {
    ProviderKind.OPENAI: "e.g. gpt-4.1",
    ProviderKind.ANTHROPIC: "e.g. claude-sonnet-4-5",
}


def free_name(wanted: str, taken: set[str]) -> str:
    name, n = wanted, 2
    while name in taken:
        name, n = f"{wanted}-{n}", n + 1
    return name


def key_name_for(provider: ProviderKind, base_url: str, with_key: bool) -> str:
    """The keyring entry a new profile's key goes under; "" for the provider's own.

    The provider's name is for its own API only: a key for another server behind the
    same protocol (OpenRouter, a company proxy) is stored under that server's host, so
    it neither overwrites the real OpenAI key nor is the OpenAI key sent there. A local
    server is given a key only when one is typed. UserError for a URL without a host."""
    url = base_url.strip()
    if not url:
        return ""
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:  # ":abc"
        port, parsed = None, urlparse("")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UserError(f"the base URL needs http:// or https:// and a host, not {url!r}")
    if parsed.hostname == urlparse(DEFAULT_BASE_URLS[provider]).hostname:
        return ""
    if is_local(url) and not with_key:
        return ""
    return f"{parsed.hostname}:{port}" if port else parsed.hostname


def describe(found: dict[str, str]) -> str:
    """What the user reads of their agents: which can run, and why the others cannot."""
    if not found:
        return NO_AGENT
    ready = [name for name, problem in found.items() if not problem]
    lines = [f"Agents: {', '.join(ready)}."] if ready else ["No agent can run yet."]
    lines += [f"{name} cannot run: {problem}" for name, problem in found.items() if problem]
    return "\n".join(lines)


def create_agent(
    store: Store,
    kind: AgentKind,
    provider: ProviderKind | None = None,
    model: str = "",
    base_url: str = "",
    key: str = "",
) -> AgentProfile:
    """Make the profile (blocking: the network, the keyring, the store). Everything is
    checked before the key is stored (the provider is asked whether it takes the key),
    under the provider's name, or the server's for another base URL (key_name_for); if
    the key is refused or the keyring cannot take it, the profile is removed again."""
    taken = {p.name for p in store.list_profiles()}
    if kind is not AgentKind.BUILTIN:
        return add_profile(Context(store), free_name(kind.value, taken), kind).value
    assert provider is not None
    if not model.strip():
        raise UserError("name the model (the provider's name for it)")
    key, base_url = key.strip(), base_url.strip()
    options: dict[str, object] = {"provider": provider, "model": model.strip()}
    if base_url:
        options["base_url"] = base_url
    key_name = key_name_for(provider, base_url, bool(key))
    if key_name:
        options["key_name"] = key_name
    profile = check_profile(free_name(provider.value, taken), kind, **options)
    if key and base_url.startswith("http://") and not is_local(base_url):
        raise UserError(f"a key would go unencrypted to {base_url}: use an https:// base URL")
    made = store.add_profile(profile)  # first: a name taken meanwhile stores no key
    if key:
        try:
            store_checked_key(
                provider, made.effective_base_url(), key_name or provider.value, key, made.model
            )
        except BaseException:
            store.delete_profile(made.id)  # no agent without the key it was made with
            raise
    return made


def store_checked_key(
    provider: ProviderKind, base_url: str, name: str, key: str, model: str
) -> None:
    """Store the key under `name` once the provider took it (and its model list shows
    no typo in `model`). A key the provider could not be asked about (offline, no model
    list) replaces no other key of that name: that one may be the key that works."""
    # Here, not at the top: it loads httpx, which the window's start does not need.
    from seedbed.agents.builtin.providers.key_check import check_key, model_problem

    listed = check_key(provider, base_url, SecretStr(key))
    if listed is None:
        stored = secrets.get_key(name)
        if stored and stored != key:
            raise UserError(
                f"another key {name!r} is stored already and this one could not be checked "
                f"with {base_url}; to replace it, set it in Settings → API keys"
            )
    elif typo := model_problem(model, listed):
        raise UserError(typo)
    secrets.set_key(name, key)


def cli_versions() -> dict[str, str]:
    """Each CLI kind: what `agents doctor` says of it ("" where it is not usable)."""
    from seedbed.agents.cli.doctor import check_all

    found = asyncio.run(check_all())
    return {
        f.kind: (f"{f.version or '?'} at {f.path}" if f.path and f.supported else "") for f in found
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
            self.error_label.show_message("Another Seedbed engine owns this data dir.")
            return
        self.error_label.show_message("")
        self._creating.run(
            create_agent,
            self.context.store,
            self._kind(),
            self._provider(),
            self.model.text(),
            self.base_url.text(),
            self.key.text(),
        )
        self.create_button.setEnabled(False)

    @Slot(object)
    def _on_creating_finished(self, profile: AgentProfile) -> None:
        self.key.clear()
        self._on_kind_current_index_changed(self.kind.currentIndex())
        self.profile_added.emit(profile.name)

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
