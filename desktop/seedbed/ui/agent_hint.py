"""A line above the board while no agent profile can run a task: a repository was
added before an agent was set up, a key was removed, a CLI uninstalled. It says why
and offers the short setup; it hides itself once an agent works."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from seedbed.agents import readiness
from seedbed.ui.context import AppContext
from seedbed.ui.quick_setup import SetupDialog, describe


class AgentHint(QFrame):
    """Signals:
    settings_requested(): the user wants Settings (to mend a profile there).
    profile_added(str): the setup made a profile; its name.
    looked(bool): the agents were looked at; whether one can run.
    """

    settings_requested = Signal()
    profile_added = Signal(str)
    looked = Signal(bool)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("agent-hint")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.setup_button = QPushButton("Set up an agent…", self)
        self.settings_button = QPushButton("Settings…", self)
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.setup_button)
        layout.addWidget(self.settings_button)
        self.setup_button.clicked.connect(self.open_setup)
        self.settings_button.clicked.connect(self.settings_requested)
        self.hide()

    def check(self) -> None:
        """Look at the agents (in the engine: PATH and the keyring block) and show or hide."""
        self.context.host.call(
            readiness.problems, self.context.store, on_done=self._on_problems, owner=self
        )

    def _on_problems(self, found: dict[str, str]) -> None:
        works = readiness.any_works(found)
        if not works:
            self.label.setText(describe(found) + "\nA task needs one to run.")
        self.setVisible(not works)
        self.looked.emit(works)

    @Slot()
    def open_setup(self) -> SetupDialog:
        dialog = SetupDialog(self.context, self.window())
        dialog.setObjectName("agent-setup")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.profile_added.connect(self._on_dialog_profile_added)
        dialog.open()
        return dialog

    @Slot(str)
    def _on_dialog_profile_added(self, name: str) -> None:
        self.profile_added.emit(name)
        self.check()
