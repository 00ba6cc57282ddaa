"""A line above the board while no agent profile can run a task: a repository was
added before an agent was set up, a key was removed, a CLI uninstalled. It says why
and offers the short setup; it hides itself once an agent works."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from seedbed.core.agent_setup import agent_problems, any_works, describe
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.context import AppContext
from seedbed.ui.setup.quick_setup import SetupDialog


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
        self.look_again_button = QPushButton("Look again", self)
        self.look_again_button.setToolTip("After a key was stored or a CLI installed elsewhere")
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.setup_button)
        layout.addWidget(self.settings_button)
        layout.addWidget(self.look_again_button)
        self.setup_button.clicked.connect(self.open_setup)
        self.settings_button.clicked.connect(self.settings_requested)
        self.look_again_button.clicked.connect(self.check)
        self._look = BackgroundCall(context.host, self)  # a later look drops older answers
        self._look.finished.connect(self._on_look_finished)
        self._look.failed.connect(self._on_look_failed)
        self._dialog: SetupDialog | None = None
        self.hide()

    @Slot()
    def check(self) -> None:
        """Look at the agents (in the engine: PATH and the keyring block) and show or hide.
        It stops at the first profile that can run: a keyring that asks to be unlocked
        is asked only when no agent without a key can run."""
        if self.context.project_id is None:  # no board: the welcome page says it
            self.forget()
            return
        self._look.run(agent_problems, True)

    def forget(self) -> None:
        """Hide, and drop answers still on their way (the window shows no board)."""
        self._look.drop()
        self.hide()

    @Slot(object)
    def _on_look_finished(self, found: dict[str, str]) -> None:
        works = any_works(found)
        if not works:
            self.label.setText(describe(found) + "\nA task needs one to run.")
        self.setVisible(not works)
        self.looked.emit(works)

    @Slot(str)
    def _on_look_failed(self, message: str) -> None:
        self.label.setText(f"The agents could not be looked at: {message}")
        self.show()

    @Slot()
    def open_setup(self) -> SetupDialog:
        """The setup in a dialog, one per hint: kept when closed, so a profile still being
        made when it closes is still reported (and looked at) when it is done."""
        if self._dialog is None:
            self._dialog = SetupDialog(self.context, self.window())
            self._dialog.setObjectName("agent-setup")
            self._dialog.profile_added.connect(self.profile_added)
            self._dialog.profile_added.connect(self.check)
            self._dialog.finished.connect(self.check)
        else:
            self._dialog.setup.look_again()  # a CLI may have been installed since
        self._dialog.open()
        return self._dialog
