"""The window answers an agent's question: real Claude Code asks through Seedbed's
`ask_user`, its card in Awaiting review shows the question, the log pane offers its
options as buttons, and a click hands the answer to the agent (the next model request
carries it) and the run goes on to its end."""

from __future__ import annotations

import time

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from seedbed.domain.models import Phase, TaskState
from seedbed.domain.questions import Answerer, QuestionStatus
from seedbed.ui.board.card_layout import Part, card_box, lay_out_card
from seedbed.ui.window.main_window import MainWindow
from tests.agents.cli.test_claude_code import KEY, claude_profile
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, anthropic_answer
from tests.talkback.test_claude_talks_back import tool_results
from tests.ui.conftest import CheckedContext, catalog_caught_up

QUESTION = "Which colour should the button be?"


def asking_window(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    model_server: ModelServer,
    app_context: CheckedContext,
) -> tuple[MainWindow, int]:
    """The window, and a task whose real Claude Code asks QUESTION (red or blue), once
    its card shows the question."""
    seedbed.ok("key", "set", "anthropic", input=KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic")
    model_server.script(
        anthropic_answer(
            tool_calls=[
                (
                    "toolu_1",
                    "mcp__seedbed__ask_user",
                    {"question": QUESTION, "options": ["red", "blue"]},
                )
            ],
            usage=(1000, 10),
        ),
        anthropic_answer("Painted it blue.", usage=(1100, 10)),
    )
    catalog_caught_up(qtbot, app_context)
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    added = seedbed.ok("task", "add", "--project", "demo", "--title", "Paint the button",
                       "--prompt", "Paint the button.", "--start")  # fmt: skip
    task_id = int(added.out.strip())

    def asking() -> bool:
        card = window.board.model.card(task_id)
        return card is not None and card.question == QUESTION

    qtbot.waitUntil(asking, timeout=90_000)
    return window, task_id


def test_the_card_shows_the_question_and_the_window_answers_it(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    app_context: CheckedContext,
) -> None:
    window, task_id = asking_window(qtbot, seedbed, model_server, app_context)
    board = window.board
    card = board.model.card(task_id)
    assert card is not None and card.task.state is TaskState.AWAITING_REVIEW
    view = board.columns[TaskState.AWAITING_REVIEW]
    box = card_box(QRect(0, 0, 600, 200))
    placed = lay_out_card(card, [], view.font(), box, "needs input")
    assert [p.text for p in placed if p.part is Part.QUESTION] == [f"asks: {QUESTION}"]
    assert Part.CHECKS not in {p.part for p in placed}

    assert board.select_task(task_id)
    bar = window.log.question_bar
    qtbot.waitUntil(bar.isVisible, timeout=10_000)
    assert bar.label.text() == f"The agent asks: {QUESTION}"
    buttons = {b.text(): b for b in bar.findChildren(QPushButton) if b is not bar.send_button}
    assert set(buttons) == {"red", "blue"}
    with qtbot.waitSignal(bar.answered, timeout=10_000):
        qtbot.mouseClick(buttons["blue"], Qt.MouseButton.LeftButton)

    def done() -> bool:
        card = board.model.card(task_id)
        return card is not None and card.task.phase.value == "ready"

    qtbot.waitUntil(done, timeout=90_000)
    assert not bar.isVisible()
    assert board.model.card(task_id).question == ""  # type: ignore[union-attr]
    assert tool_results(model_server.posts[-1].body)["toolu_1"] == "blue"
    store = app_context.store
    rows = store.conn.execute("SELECT id FROM questions WHERE task_id = ?", (task_id,)).fetchall()
    answered = store.get_question(rows[0][0])
    assert (answered.status, answered.answered_by) == (QuestionStatus.ANSWERED, Answerer.WINDOW)


def test_the_windows_stop_ends_a_run_that_waits_on_a_question_at_once(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    app_context: CheckedContext,
) -> None:
    window, task_id = asking_window(qtbot, seedbed, model_server, app_context)
    board = window.board
    assert board.select_task(task_id)
    started = time.monotonic()
    board.actions_by_name["stop_task"].trigger()

    def interrupted() -> bool:
        card = board.model.card(task_id)
        return card is not None and card.task.phase is Phase.INTERRUPTED

    qtbot.waitUntil(interrupted, timeout=15_000)
    assert time.monotonic() - started < 10
    assert board.model.card(task_id).question == ""  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: not window.log.question_bar.isVisible(), timeout=5_000)
    # The run itself ends too: the engine says it drives none.
    qtbot.waitUntil(lambda: window.context.host.running_count() == 0, timeout=30_000)
