"""Closing the window while agents run: stop them, or keep them running in the background.

`quit_plan` is the decision (pure); `QuitDialog` asks when the setting `on_quit` says to
ask, with a "Remember my choice" box that sets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from seedbed.domain.models import OnQuit


class QuitPlan(StrEnum):
    CLOSE = "close"  # nothing runs: the window just closes
    ASK = "ask"
    KEEP = "keep"  # the window closes; the engine keeps running the agents
    STOP = "stop"  # the engine stops every run, then the window closes


def quit_plan(running: int, on_quit: OnQuit) -> QuitPlan:
    """What closing the window does with `running` agents running and the setting."""
    if running <= 0:
        return QuitPlan.CLOSE
    return QuitPlan(on_quit.value)


def quit_question(running: int, engine_socket: Path | None = None) -> str:
    """The question; `engine_socket`: the agents run in the engine at that forwarded
    socket (another machine), not in this one's background."""
    if engine_socket is not None:
        them = "it" if running == 1 else "them"
        agents = "the running agent" if running == 1 else f"the {running} running agents"
        return f"Stop {agents} of the engine at {engine_socket}, or keep {them} running there?"
    if running == 1:
        return "Stop the running agent, or keep it running in the background?"
    return f"Stop the {running} running agents, or keep them running in the background?"


QUIT_DETAIL = (
    "A stopped run commits its work so far and waits for review as interrupted (Resume "
    "continues it). Kept runs go on without the window; the desktop tells you when one "
    "needs you, and opening Seedbed shows them again."
)


QUIT_DETAIL_REMOTE = (
    "A stopped run commits its work so far and waits for review as interrupted (Resume "
    "continues it). Kept runs go on in that engine, on its own machine, without this "
    "window; its desktop (not this one) tells when one needs you, and opening Seedbed "
    "with the same --engine-socket shows them again."
)


@dataclass(frozen=True)
class QuitAnswer:
    choice: OnQuit  # KEEP or STOP
    remember: bool  # the choice becomes the setting `on_quit`


class QuitDialog(QDialog):
    """The question, Stop / Keep running / Cancel, and "Remember my choice".
    `answer` is None until a choice is made (Cancel leaves it None)."""

    def __init__(
        self, running: int, parent: QWidget | None = None, engine_socket: Path | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("quit-dialog")
        self.setWindowTitle("Quit Seedbed")
        self.answer: QuitAnswer | None = None
        question = QLabel(quit_question(running, engine_socket), self)
        question.setObjectName("quit-question")
        question.setWordWrap(True)
        detail = QLabel(QUIT_DETAIL if engine_socket is None else QUIT_DETAIL_REMOTE, self)
        detail.setWordWrap(True)
        self.remember = QCheckBox("Remember my choice", self)
        self.remember.setToolTip("Change it later in Settings (On quit).")
        buttons = QDialogButtonBox(self)
        self.keep_button = QPushButton("&Keep running", self)
        self.stop_button = QPushButton("&Stop them" if running != 1 else "&Stop it", self)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.keep_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.stop_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        self.keep_button.setDefault(True)
        self.keep_button.clicked.connect(lambda: self._choose(OnQuit.KEEP))
        self.stop_button.clicked.connect(lambda: self._choose(OnQuit.STOP))
        self.cancel_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(question)
        layout.addWidget(detail)
        layout.addWidget(self.remember)
        layout.addWidget(buttons)

    def _choose(self, choice: OnQuit) -> None:
        self.answer = QuitAnswer(choice, self.remember.isChecked())
        self.accept()

    @classmethod
    def ask(
        cls, parent: QWidget, running: int, engine_socket: Path | None = None
    ) -> QuitAnswer | None:
        """Ask, modally; None when cancelled."""
        dialog = cls(running, parent, engine_socket)
        dialog.exec()
        answer = dialog.answer
        dialog.deleteLater()
        return answer
