"""The question a task's agent waits on, over its log: the question, its options as
buttons and a box for a free answer. Answering hands the answer to the agent through the
engine (core/questions.answer_question) and the run goes on."""

from __future__ import annotations

import functools

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from seedbed.core.questions import answer_question, waiting_question
from seedbed.domain.questions import Answerer, Question
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.context import AppContext


class QuestionBar(QFrame):
    """Shown while the task it follows waits on a question: read again whenever the
    task changes (the engine's notes), hidden once answered or ended.

    Signals: answered(object): the answered Question; failed(str): why an answer was
    refused (the question ended meanwhile, the engine stopped)."""

    answered = Signal(object)
    failed = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._task_id: int | None = None
        self.question: Question | None = None
        self._read = BackgroundCall(context.host, self)  # the latest read only
        self._send = BackgroundCall(context.host, self)
        self._send.failed.connect(self._on_send_failed)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.options = QHBoxLayout()
        self.options.setContentsMargins(0, 0, 0, 0)
        self.answer_box = QLineEdit(self)
        self.answer_box.setPlaceholderText("Your answer…")
        self.send_button = QPushButton("Answer", self)
        self.note = QLabel(self)
        self.note.hide()
        free = QHBoxLayout()
        free.setContentsMargins(0, 0, 0, 0)
        free.addWidget(self.answer_box, 1)
        free.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.label)
        layout.addLayout(self.options)
        layout.addLayout(free)
        layout.addWidget(self.note)
        self.answer_box.returnPressed.connect(self._on_answer_box_return_pressed)
        self.send_button.clicked.connect(self._on_send_button_clicked)
        context.bridge.tasks_changed.connect(self._on_bridge_tasks_changed)
        self.hide()

    def show_task(self, task_id: int | None) -> None:
        self._task_id = task_id
        self._shown(None)
        self.reload()

    def reload(self) -> None:
        if self._task_id is None:
            self._read.drop()
            return
        self._read.run(waiting_question, self._task_id, on_done=self._shown)

    def answer(self, text: str) -> None:
        """Send `text` as the answer to the question shown."""
        if self._task_id is None or self.question is None or not text.strip():
            return
        self._set_enabled(False)
        self._send.run(
            answer_question,
            self._task_id,
            text,
            Answerer.WINDOW,
            self.question.id,  # this one only: never the next, asked meanwhile
            on_done=self._on_sent,
        )

    def _shown(self, question: Question | None) -> None:
        self.question = question
        while self.options.count():
            item = self.options.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.note.hide()
        if question is None:
            self.hide()
            return
        self.label.setText(f"The agent asks: {question.text}")
        for option in question.options:
            button = QPushButton(option, self)
            button.clicked.connect(functools.partial(self.answer, option))
            self.options.addWidget(button)
        self.options.addStretch(1)
        self._set_enabled(True)
        self.show()

    def _set_enabled(self, enabled: bool) -> None:
        for index in range(self.options.count()):
            item = self.options.itemAt(index)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setEnabled(enabled)
        self.answer_box.setEnabled(enabled)
        self.send_button.setEnabled(enabled)

    def _on_sent(self, done: object) -> None:
        self.answer_box.clear()
        question = getattr(done, "value", None)
        self._shown(None)
        self.answered.emit(question)

    @Slot(str)
    def _on_send_failed(self, message: str) -> None:
        self._set_enabled(True)
        self.note.setText(message)
        self.note.show()
        self.failed.emit(message)
        self.reload()

    @Slot()
    def _on_answer_box_return_pressed(self) -> None:
        self.answer(self.answer_box.text())

    @Slot()
    def _on_send_button_clicked(self) -> None:
        self.answer(self.answer_box.text())

    @Slot(object)
    def _on_bridge_tasks_changed(self, task_ids: list[int]) -> None:
        if self._task_id is not None and self._task_id in task_ids:
            self.reload()
