"""The first run, end to end, as a new user goes through it: a fresh data dir, the
welcome page's setup (Seedbed's own agent, talking to a real HTTP server on 127.0.0.1
that speaks the OpenAI streaming protocol, its key checked and kept in a real keyring),
a repository added, a task queued in the New task dialog, run by the real engine, and
waiting for review with the agent's change in its branch."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from seedbed import secrets
from seedbed.domain.models import AgentKind, Phase, ProviderKind, TaskState
from seedbed.ui.board.task_dialog import TaskDialog
from seedbed.ui.common.context import AppContext
from seedbed.ui.window.main_window import MainWindow
from tests.conftest import git
from tests.model_server import ModelServer, answer

RUN_TIMEOUT_MS = 60_000


def test_from_a_fresh_start_to_a_first_task_awaiting_review(
    qtbot: QtBot,
    app_context: AppContext,
    repo: Path,
    model_server: ModelServer,
    file_keyring: object,
) -> None:
    model_server.keys = {"sk-first-run"}
    model_server.script(
        answer(
            "Adding the greeting.",
            tool_calls=[("c1", "write_file", {"path": "hello.txt", "content": "hello\n"})],
        ),
        answer("hello.txt says hello."),
    )
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    page = window.empty
    assert window.pages.currentWidget() is page

    # 1. An agent: Seedbed's own, with a key the provider takes.
    setup = page.setup
    qtbot.waitUntil(setup.isVisible, timeout=10_000)
    setup.kind.setCurrentIndex(setup.kind.findData(AgentKind.BUILTIN))
    setup.provider.setCurrentIndex(setup.provider.findData(ProviderKind.OPENAI))
    setup.model.setText("scripted-model")
    setup.base_url.setText(model_server.openai_url)
    setup.key.setText("sk-first-run")
    with qtbot.waitSignal(page.profile_added, timeout=10_000):
        setup.create_button.click()
    qtbot.waitUntil(lambda: page.agent_label.text() == "Agents: openai.", timeout=10_000)

    # 2. A repository.
    with qtbot.waitSignal(window.adder.project_added, timeout=10_000):
        window.adder.add_path(repo)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.splitter)
    with qtbot.waitSignal(window.agent_hint.looked, timeout=10_000) as looked:
        window.agent_hint.check()
    assert looked.args == [True] and window.agent_hint.isHidden()

    # 3. A task, started from the dialog.
    window.actions_by_name["new_task"].trigger()
    dialog = window.findChild(TaskDialog)
    assert dialog is not None
    dialog.title_edit.setText('Say "hello" in hello.txt')
    dialog.start_box.setChecked(True)
    with qtbot.waitSignal(dialog.task_saved, timeout=10_000) as saved:
        dialog.ok_button().click()
    task_id = int(saved.args[0])
    store = app_context.store

    # 4. The agent ran; the task waits for review, its change on its branch.
    qtbot.waitUntil(
        lambda: store.get_task(task_id).state is TaskState.AWAITING_REVIEW,
        timeout=RUN_TIMEOUT_MS,
    )
    task = store.get_task(task_id)
    assert task.phase is Phase.READY, task.error
    assert task.profile_id == store.find_profile("openai").id
    assert task.branch is not None
    assert git(repo, "show", f"{task.branch}:hello.txt") == "hello\n"
    assert [post.headers["authorization"] for post in model_server.posts] == [
        "Bearer sk-first-run"
    ] * 2
    assert secrets.get_key(store.find_profile("openai").key_name) == "sk-first-run"
    # … and the board follows: the card is in Awaiting review, ready.
    qtbot.waitUntil(
        lambda: (
            (card := window.board.model.card(task_id)) is not None
            and card.task.state is TaskState.AWAITING_REVIEW
            and card.task.phase is Phase.READY
        ),
        timeout=10_000,
    )
