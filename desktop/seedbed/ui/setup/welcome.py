"""The first-run page: shown while there is no project. It offers "Add a repository",
and, while no agent profile can run (none made yet, or none with its key or its CLI),
the short setup, a profile for a local model server it finds (Ollama, LM Studio) and
the way to Settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from seedbed.core.agent_setup import (
    add_local_profile,
    agent_problems,
    any_works,
    describe,
    local_servers,
)
from seedbed.core.context import Done
from seedbed.domain.local_servers import DEFAULTS, Candidate, LocalServer
from seedbed.domain.models import AgentProfile
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.widgets import ErrorLabel
from seedbed.ui.setup.quick_setup import QuickSetup

COLUMN_WIDTH = 560
LOOKING = "Looking at your agents…"
NO_MODEL = {
    "Ollama": "Ollama runs here but has no model yet: pull one (`ollama pull qwen2.5-coder`), "
    "then look again.",
    "LM Studio": "LM Studio runs here but offers no model: load one in LM Studio, then look again.",
}
ONLY_EMBEDDING = "{name} runs here but offers only embedding models: add a chat model."


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
        self.server_notes: list[QLabel] = []
        self.look_again_button = QPushButton("Look again", self)
        self.look_again_button.setToolTip("Look for local model servers and agents again")
        self.look_again_button.hide()
        self.shown_once = False
        self.candidates: tuple[Candidate, ...] = DEFAULTS  # where local servers are looked for
        # A later refresh drops the answers to an earlier one.
        self.agents_look = BackgroundCall(context.host, self)
        self.agents_look.finished.connect(self._on_agents_look_finished)
        self.agents_look.failed.connect(self._on_agents_look_failed)
        self._servers_look = BackgroundCall(context.host, self)
        self._servers_look.finished.connect(self._set_servers)
        self._adding = BackgroundCall(context.host, self)  # a local server's profile
        self._adding.finished.connect(self._on_profile_added)
        self._adding.failed.connect(self._on_adding_failed)
        self.setup = QuickSetup(context, self)
        self.setup.profile_added.connect(self._on_setup_profile_added)
        self.settings_button = QPushButton("More in Settings…", self)
        self.error_label = ErrorLabel(self)
        self.setup.hide()  # until the agents are looked at: most starts have one that works
        self.settings_button.hide()
        # A column of readable width in the middle: wrapped text needs a width to wrap at.
        column = QWidget(self)
        column.setFixedWidth(COLUMN_WIDTH)
        self._layout = QVBoxLayout(column)
        for widget in (title, intro, self.add_button, self.agent_label):
            self._layout.addWidget(widget)
        self._servers_at = self._layout.count()
        self._layout.addWidget(self.setup)
        self._layout.addWidget(self.settings_button)
        self._layout.addWidget(self.look_again_button)
        self._layout.addWidget(self.error_label)
        self._wrapped = (intro, self.agent_label)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(column, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)
        self.add_button.clicked.connect(self.add_repository_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        self.look_again_button.clicked.connect(self.refresh)
        # Not refreshed here: the window refreshes it when it shows it (only without a
        # project), so a normal start never probes for local model servers.

    def refresh(self) -> None:
        """Say which agents can run; while none can, offer the setup and look for local
        model servers. The checks block (PATH, the keyring), so they run in the engine."""
        self.shown_once = True
        self._servers_look.drop()
        self.agent_label.setText(LOOKING)
        self._fit_text()
        if self.setup.versions is not None:
            self.setup.look_again()  # a CLI may have been installed since
        self.agents_look.run(agent_problems)

    @Slot(object)
    def _on_agents_look_finished(self, found: dict[str, str]) -> None:
        works = any_works(found)
        self.agent_label.setText(describe(found))
        self._offer_setup(not works)
        if not works:
            self._servers_look.run(local_servers, self.candidates)

    @Slot(str)
    def _on_agents_look_failed(self, message: str) -> None:
        self.agent_label.setText(f"The agents could not be looked at: {message}")
        self._offer_setup(True)

    def _offer_setup(self, offered: bool) -> None:
        for widget in (self.settings_button, self.setup, self.look_again_button):
            widget.setVisible(offered)
        self._fit_text()
        self._set_servers([])

    def _fit_text(self) -> None:
        """Wrapped labels in a fixed-width column get their full height (a layout that
        centers the column asks them for one line's otherwise)."""
        margins = self._layout.contentsMargins()
        width = COLUMN_WIDTH - margins.left() - margins.right()
        for label in (*self._wrapped, *self.server_notes):
            label.setMinimumHeight(label.heightForWidth(width))

    def _set_servers(self, servers: list[LocalServer]) -> None:
        for widget in (*self.server_buttons, *self.server_notes):
            widget.hide()
            widget.setParent(None)  # gone with its last reference
        self.server_buttons, self.server_notes = [], []
        at = self._servers_at
        for server in servers:
            models = server.chat_models()
            if not models:
                text = NO_MODEL.get(server.name, f"{server.name} offers no model.")
                if server.models:
                    text = ONLY_EMBEDDING.format(name=server.name)
                note = QLabel(text, self)
                note.setWordWrap(True)
                self._layout.insertWidget(at, note)
                self.server_notes.append(note)
            else:
                button = QPushButton(f"Use {server.name} on this machine ({models[0]})", self)
                button.setToolTip(f"A built-in agent profile talking to {server.base_url}")
                button.clicked.connect(lambda _=False, s=server, m=models[0]: self._use(s, m))
                self._layout.insertWidget(at, button)
                self.server_buttons.append(button)
            at += 1
        self._fit_text()

    def _use(self, server: LocalServer, model: str) -> None:
        if self.context.read_only:
            self.error_label.show_message(
                "The engine of this data dir stopped: nothing was changed."
            )
            return
        if self._adding.busy:  # one profile per click, however fast the clicks
            return
        self._adding.run(add_local_profile, server, model)

    @Slot(str)
    def _on_adding_failed(self, message: str) -> None:
        self.error_label.show_message(message)

    @Slot(str)
    def _on_setup_profile_added(self, name: str) -> None:
        self.profile_added.emit(name)
        self.refresh()

    @Slot(object)
    def _on_profile_added(self, done: Done[AgentProfile]) -> None:
        self.error_label.show_message("")
        self.profile_added.emit(done.value.name)
        self.refresh()
