"""The first-run page: shown while there is no project. It offers "Add a repository",
and, while no agent profile exists, a profile for a local model server it finds
(Ollama, LM Studio) or the way to Settings for a key or a CLI."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from seedbed.agents.local_servers import LocalServer, detect
from seedbed.domain.models import AgentKind, AgentProfile, ProviderKind
from seedbed.engine.configure import add_profile
from seedbed.ui.context import AppContext
from seedbed.ui.quick_setup import QuickSetup
from seedbed.ui.task_dialog import describe_error
from seedbed.ui.widgets import ErrorLabel

COLUMN_WIDTH = 560
NO_AGENT = (
    "No agent yet. Seedbed's own agent needs an API key (or a local model server); a "
    "coding-agent CLI (Claude Code, Codex, Aider…) needs to be installed."
)


def profile_name(server: LocalServer, taken: set[str]) -> str:
    base = server.name.lower().replace(" ", "-")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


class WelcomePage(QWidget):
    """Signals:
    add_repository_requested(): the user wants to add a repository.
    settings_requested(): the user wants Settings (to set up an agent there).
    profile_added(str): a profile for a local server was made; its name.
    """

    add_repository_requested = Signal()
    settings_requested = Signal()
    profile_added = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        title = QLabel("<h2>Welcome to Seedbed</h2>", self)
        intro = QLabel(
            "Add a git repository; then queue tasks on its board, each run by an agent in "
            "its own worktree, and review what they did.",
            self,
        )
        intro.setWordWrap(True)
        self.add_button = QPushButton("Add a repository…", self)
        self.agent_label = QLabel(self)
        self.agent_label.setWordWrap(True)
        self.server_buttons: list[QPushButton] = []
        self.shown_once = False
        self.setup = QuickSetup(context, self)
        self.setup.profile_added.connect(self._on_setup_profile_added)
        self.settings_button = QPushButton("More in Settings…", self)
        self.error_label = ErrorLabel(self)
        # A column of readable width in the middle: wrapped text needs a width to wrap at.
        column = QWidget(self)
        column.setFixedWidth(COLUMN_WIDTH)
        self._layout = QVBoxLayout(column)
        for widget in (title, intro, self.add_button, self.agent_label):
            self._layout.addWidget(widget)
        self._servers_at = self._layout.count()
        self._layout.addWidget(self.setup)
        self._layout.addWidget(self.settings_button)
        self._layout.addWidget(self.error_label)
        self._wrapped = (intro, self.agent_label)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(column, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)
        self.add_button.clicked.connect(self.add_repository_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        # Not refreshed here: the window refreshes it when it shows it (only without a
        # project), so a normal start never probes for local model servers.

    def refresh(self) -> None:
        """Say whether an agent is set up; if not, look for local model servers."""
        self.shown_once = True
        profiles = self.context.store.list_profiles()
        self.agent_label.setText(
            f"Agents: {', '.join(p.name for p in profiles)}." if profiles else NO_AGENT
        )
        self.settings_button.setVisible(not profiles)
        self.setup.setVisible(not profiles)
        self._fit_text()
        self._set_servers([])
        if not profiles:
            self.context.host.call(detect, on_done=self._set_servers, owner=self)

    def _fit_text(self) -> None:
        """Wrapped labels in a fixed-width column get their full height (a layout that
        centers the column asks them for one line's otherwise)."""
        margins = self._layout.contentsMargins()
        width = COLUMN_WIDTH - margins.left() - margins.right()
        for label in self._wrapped:
            label.setMinimumHeight(label.heightForWidth(width))

    def _set_servers(self, servers: list[LocalServer]) -> None:
        for button in self.server_buttons:
            button.deleteLater()
        self.server_buttons = []
        for server in servers:
            if not server.models:
                continue
            model = server.models[0]
            button = QPushButton(f"Use {server.name} on this machine ({model})", self)
            button.setToolTip(f"A built-in agent profile talking to {server.base_url}")
            button.clicked.connect(lambda _=False, s=server, m=model: self._use(s, m))
            self._layout.insertWidget(self._servers_at + len(self.server_buttons), button)
            self.server_buttons.append(button)

    def _use(self, server: LocalServer, model: str) -> None:
        if self.context.read_only:
            self.error_label.show_message("Another Seedbed engine owns this data dir.")
            return
        taken = {p.name for p in self.context.store.list_profiles()}
        name = profile_name(server, taken)
        self.context.host.call(
            add_profile,
            self.context.store,
            name,
            AgentKind.BUILTIN,
            provider=ProviderKind.OPENAI,
            base_url=server.base_url,
            model=model,
            on_done=self._on_profile_added,
            on_error=lambda error: self.error_label.show_message(describe_error(error)),
            owner=self,
        )

    @Slot(str)
    def _on_setup_profile_added(self, name: str) -> None:
        self.profile_added.emit(name)
        self.refresh()

    @Slot(object)
    def _on_profile_added(self, profile: AgentProfile) -> None:
        self.error_label.show_message("")
        self.profile_added.emit(profile.name)
        self.refresh()
