"""The window against an engine of "another machine": a real engine process reached
through a forwarded socket (a relay standing in for `ssh -L`), the window with a data dir
of its own that it never fills. What the window shows of keys and agent CLIs is the
engine's machine's (its keyring, its PATH), never the window's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from seedbed import secrets
from seedbed.api.endpoint import ENGINE_SOCKET_ENV, SOCKET_NAME
from seedbed.api.errors import EngineUnavailable
from seedbed.core.agent_setup import cli_versions, local_servers
from seedbed.core.keys import forget_key, keyring_state, store_key
from seedbed.core.review_data import load_file, read_blob, read_new_lines
from seedbed.domain.models import AgentKind, TaskState
from seedbed.service.launch import LOG_NAME
from seedbed.ui.common.bridge import Bridge
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.host import is_verb
from seedbed.ui.review import reviewer as reviewer_module
from seedbed.ui.review.reviewer import ReviewWindow
from seedbed.ui.settings.settings_dialog import KeysPage
from seedbed.ui.setup.quick_setup import QuickSetup
from seedbed.ui.window.engine_banner import EngineBanner
from seedbed.ui.window.main_window import MainWindow
from seedbed.ui.window.quit_dialog import QUIT_DETAIL_REMOTE, QuitDialog, quit_question
from tests.api.relay import forwarded
from tests.conftest import SeedbedCli
from tests.core.test_review_data import AGENT, prepare
from tests.keyring_backends import FILE_BACKEND, FILE_VARIABLE, ROOT, FileStore
from tests.service.conftest import Engines
from tests.service.test_engine_process import NEVER_IDLE
from tests.ui.test_client import RUN_TIMEOUT_MS, add, planned_order

KEY = "sk-the-engines-own-key-123456"
OTHER_KEY = "sk-ant-set-from-the-window-654321"
KEY_SET = ("key", "set", "openai")


@pytest.fixture
def far_env(tmp_path: Path) -> dict[str, str]:
    """The environment of the engine's machine: a keyring of its own (a file) and an
    agent CLI on its PATH (aider 0.86.1) that the test's own PATH does not have."""
    tools = tmp_path / "far-bin"
    tools.mkdir()
    aider = tools / "aider"
    aider.write_text("#!/bin/sh\necho 'aider 0.86.1'\n", encoding="utf-8")
    aider.chmod(0o755)
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {
        **NEVER_IDLE,
        "PYTHON_KEYRING_BACKEND": FILE_BACKEND,
        FILE_VARIABLE: str(tmp_path / "far-keyring.json"),
        "PYTHONPATH": python_path,
        "PATH": os.pathsep.join([str(tools), os.environ["PATH"]]),
    }


@pytest.fixture
def far_engine(
    seedbed: SeedbedCli, engines: Engines, far_env: dict[str, str], tmp_path: Path
) -> Iterator[Path]:
    """The engine of the test's data dir, a real process with the far environment (a key
    already stored in its keyring), reached through a relay at a socket of its own."""
    stored = subprocess.run(
        [sys.executable, "-m", "seedbed", "--data-dir", str(seedbed.data_dir), *KEY_SET],
        input=KEY,
        capture_output=True,
        text=True,
        env={**os.environ, **far_env},
        timeout=60,
        check=False,
    )
    assert stored.returncode == 0, stored.stderr
    engines.start(env=far_env)
    with forwarded(seedbed.data_dir / SOCKET_NAME, tmp_path / "forwarded.sock") as relay:
        yield relay


@pytest.fixture
def here(tmp_path: Path) -> Path:
    """The window's own data dir (this machine's): it must stay without a store."""
    return tmp_path / "here"


@pytest.fixture
def remote_context(qapp: object, far_engine: Path, here: Path) -> Iterator[AppContext]:
    context = AppContext.open(here, engine_socket=str(far_engine))
    yield context
    context.close()


def nothing_of_an_engine_here(here: Path) -> bool:
    """No store, no socket, no engine log in the window's own data dir."""
    names = {p.name for p in here.iterdir()} if here.exists() else set()
    return not names & {"seedbed.db", SOCKET_NAME, LOG_NAME, "engine.lock"}


@pytest.mark.usefixtures("project")
def test_the_board_of_a_forwarded_engine_shows_and_moves(
    qtbot: QtBot, seedbed: SeedbedCli, far_engine: Path, here: Path
) -> None:
    a, b = add(seedbed, "A"), add(seedbed, "B")
    context = AppContext.open(here, engine_socket=str(far_engine))
    try:
        assert context.host.engine_socket == far_engine
        window = MainWindow(context)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: planned_order(window) == [a, b], timeout=10_000)
        window.board.move(b, TaskState.PLANNED, before_id=a)
        qtbot.waitUntil(lambda: planned_order(window) == [b, a], timeout=10_000)
        listed = seedbed.ok("task", "list", "--json").json()
        assert [t["id"] for t in listed if t["state"] == "planned"] == [b, a]
        window.hide()
    finally:
        context.close()
    assert nothing_of_an_engine_here(here)


def test_the_keys_page_shows_and_sets_the_engines_keyring(
    qtbot: QtBot, remote_context: AppContext, far_env: dict[str, str]
) -> None:
    with pytest.raises(secrets.KeyringUnavailable):  # this machine has no keyring at all
        secrets.list_keys()
    page = KeysPage(remote_context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.model.items() == ["openai"], timeout=10_000)
    assert FILE_BACKEND in page.backend.text()  # the engine's backend, not this process's
    page.name.setText("anthropic")
    page.value.setText(OTHER_KEY)
    page.set_button.click()
    qtbot.waitUntil(lambda: page.status.text() == "Key 'anthropic' stored.", timeout=10_000)
    far = FileStore(Path(far_env[FILE_VARIABLE])).entries()
    assert far.get("anthropic") == OTHER_KEY and far.get("openai") == KEY
    assert sorted(page.model.items()) == ["anthropic", "openai"]
    assert page.warning.isHidden() or not page.warning.text()  # the engine's keyring works


def test_the_agent_probe_shows_what_the_engines_machine_has(
    qtbot: QtBot, remote_context: AppContext, far_env: dict[str, str]
) -> None:
    assert shutil.which("aider") is None  # not on this machine
    setup = QuickSetup(remote_context)
    qtbot.addWidget(setup)
    setup.kind.setCurrentIndex(setup.kind.findData(AgentKind.AIDER))
    aider = Path(far_env["PATH"].split(os.pathsep)[0]) / "aider"
    qtbot.waitUntil(lambda: setup.found.text() == f"Found: 0.86.1 at {aider}.", timeout=20_000)
    assert setup.create_button.isEnabled()


def test_nothing_answering_at_the_socket_is_said_and_nothing_starts_here(
    qapp: object, tmp_path: Path, here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = tmp_path / "nowhere.sock"
    monkeypatch.setenv(ENGINE_SOCKET_ENV, str(nowhere))  # the variable, as a user sets it
    with pytest.raises(EngineUnavailable) as raised:
        AppContext.open(here)
    assert str(raised.value) == (
        f"no engine answers at {nowhere} (--engine-socket or {ENGINE_SOCKET_ENV}): "
        "is its forwarding (ssh -L) running?"
    )
    assert nothing_of_an_engine_here(here)


def test_a_lost_forwarded_engine_is_checked_again_never_started(
    qtbot: QtBot, tmp_path: Path, here: Path
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    bridge = Bridge(parent)
    socket = tmp_path / "gone.sock"
    banner = EngineBanner(here, bridge, parent, engine_socket=socket)
    parent.show()
    bridge.engine_lost.emit("its forwarding ended")
    assert banner.label.text() == f"The engine at {socket} stopped (its forwarding ended)."
    assert banner.restart_button.text() == "&Check again"
    banner.restart_button.click()
    qtbot.waitUntil(banner.restart_button.isEnabled, timeout=10_000)
    assert banner.label.text() == (
        f"The engine at {socket} does not answer: no engine answers at {socket} "
        f"(--engine-socket or {ENGINE_SOCKET_ENV}): is its forwarding (ssh -L) running?"
    )
    assert nothing_of_an_engine_here(here)


def test_the_quit_question_names_the_engine_at_the_socket(qtbot: QtBot, tmp_path: Path) -> None:
    socket = tmp_path / "s.sock"
    assert quit_question(2, socket) == (
        f"Stop the 2 running agents of the engine at {socket}, or keep them running there?"
    )
    assert quit_question(1, socket) == (
        f"Stop the running agent of the engine at {socket}, or keep it running there?"
    )
    assert quit_question(2) == "Stop the 2 running agents, or keep them running in the background?"
    dialog = QuitDialog(2, engine_socket=socket)
    qtbot.addWidget(dialog)
    shown = [label.text() for label in dialog.findChildren(QLabel)]
    assert QUIT_DETAIL_REMOTE in shown and quit_question(2, socket) in shown


def test_what_the_window_asks_of_keys_clis_and_git_is_asked_of_the_engine() -> None:
    """`host.call` runs a function that is not a verb on a thread of the window's own
    process: on the wrong machine when the engine is another's."""
    for fn in (keyring_state, store_key, forget_key, cli_versions, local_servers):
        assert is_verb(fn), fn.__qualname__
    for fn in (load_file, read_blob, read_new_lines):
        assert is_verb(fn), fn.__qualname__


def test_the_reviewer_reads_a_file_of_the_far_repository(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    project: str,
    remote_context: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prepare(repo)
    seedbed.ok("profile", "add", "tidy", "--kind", "command", "--command", AGENT)
    task_id = add(seedbed, "Tidy up", "--profile", "tidy", "--start")
    qtbot.waitUntil(
        lambda: seedbed.show(task_id)["state"] == TaskState.AWAITING_REVIEW.value,
        timeout=RUN_TIMEOUT_MS,
    )
    monkeypatch.setattr(reviewer_module, "WHOLE_AFTER_MS", 60_000)  # the outline's files only
    window = ReviewWindow(remote_context, task_id)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.data is not None, timeout=10_000)
    window.files.select_row(window.files.model.row_of("lib.txt"))
    qtbot.waitUntil(
        lambda: window.diff.file is not None and not window.diff.file.outline,
        timeout=10_000,
    )
    assert window.diff.file.path == "lib.txt"
    assert "-line 5\n+line five" in window.diff.text.toPlainText()


@pytest.mark.usefixtures("project")
def test_a_window_whose_forwarding_ends_attaches_again_once_it_is_back(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    engines: Engines,
    far_env: dict[str, str],
    here: Path,
    tmp_path: Path,
) -> None:
    a = add(seedbed, "A")
    engines.start(env=far_env)
    target, socket = seedbed.data_dir / SOCKET_NAME, tmp_path / "forwarded.sock"
    with forwarded(target, socket):
        context = AppContext.open(here, engine_socket=str(socket))
    try:
        window = MainWindow(context)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.engine_banner.isVisible(), timeout=10_000)
        assert window.engine_banner.label.text().startswith(
            f"The engine at {socket} stopped (The Seedbed engine at {socket} stopped, or its "
            "forwarding (ssh -L) ended"
        )
        assert context.controls_off
        b = add(seedbed, "B")  # meanwhile, on the engine's machine
        with forwarded(target, socket):
            window.engine_banner.restart_button.click()
            qtbot.waitUntil(lambda: not context.controls_off, timeout=10_000)
            qtbot.waitUntil(lambda: planned_order(window) == [a, b], timeout=10_000)
            assert not window.engine_banner.isVisible()
            window.board.move(b, TaskState.PLANNED, before_id=a)
            qtbot.waitUntil(lambda: planned_order(window) == [b, a], timeout=10_000)
        window.hide()
    finally:
        context.close()
    assert nothing_of_an_engine_here(here)


@pytest.mark.usefixtures("project")
def test_a_window_following_a_forwarded_engine_logs_each_run_to_its_end_at_the_bottom(
    qtbot: QtBot, seedbed: SeedbedCli, far_engine: Path, here: Path
) -> None:
    """Issue 14: a window on another engine showed 66 of a run's 73 events, no check output,
    no "run ended", and did not keep to the bottom."""
    seedbed.ok("project", "set", "demo", "--check", "for i in 1 2 3; do echo check line $i; done")
    script = "for i in $(seq 1 60); do echo agent line $i; sleep 0.03; done; echo x > x.txt"
    seedbed.ok("profile", "add", "chatty", "--kind", "command", "--command", script)
    task_id = add(seedbed, "Talk a lot", "--profile", "chatty")
    context = AppContext.open(here, engine_socket=str(far_engine))
    try:
        window = MainWindow(context)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.board.model.card(task_id) is not None, timeout=10_000)
        assert window.board.select_task(task_id)
        qtbot.waitUntil(lambda: window.log.task_id == task_id)
        log = window.log
        scrolled: list[bool] = []

        def at_bottom() -> None:
            bar = log.view.verticalScrollBar()
            if log.model.rowCount() > 20:  # more rows than the view shows
                scrolled.append(bar.value() == bar.maximum())

        log.model.rowsInserted.connect(lambda *_: QTimer.singleShot(0, at_bottom))
        seedbed.ok("task", "start", str(task_id))
        qtbot.waitUntil(
            lambda: window.board.model.card(task_id).task.state is TaskState.AWAITING_REVIEW,
            timeout=RUN_TIMEOUT_MS,
        )
        [run] = seedbed.ok("task", "log", str(task_id), "--json").json()["runs"]
        stored = len(run["events"])
        qtbot.waitUntil(lambda: log.model.rowCount() == stored, timeout=5000)
        qtbot.waitUntil(lambda: all(log.model.line_at(row) for row in range(stored)))
        texts = [log.model.line_at(row).text for row in range(stored)]
        assert any("check line 3" in text for text in texts)
        assert "run 1 ended" in texts[-1]
        assert scrolled and all(scrolled), scrolled
        bar = log.view.verticalScrollBar()
        assert bar.value() == bar.maximum() > 0
        assert log.following
        window.hide()
    finally:
        context.close()
    assert nothing_of_an_engine_here(here)
