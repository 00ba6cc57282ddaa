"""Fixtures for the window: a real engine process serving a real socket (on a thread of
the test process, or a process of its own), real Qt widgets offscreen."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from seedbed.core.context import Context
from seedbed.core.data_dir import owning
from seedbed.domain.models import OnQuit
from seedbed.service import launch
from seedbed.service.engine_process import EngineProcess
from seedbed.store import Store
from seedbed.store.settings import load_settings
from seedbed.ui.common.context import AppContext
from seedbed.ui.setup import welcome
from seedbed.ui.window.quit_dialog import QuitAnswer, QuitDialog
from tests.conftest import SeedbedCli


class ThreadEngine:
    """The engine of a data dir as `seedbed engine serve` runs it (EngineProcess: the
    Engine and the API server on one loop, holding the engine lock), on a thread of the
    test process: a real socket in the data dir, started in milliseconds."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.ctx = Context.open(data_dir)
        self.process = EngineProcess(
            self.ctx.store,
            data_dir,
            load_settings(data_dir).max_parallel,
            handle_signals=False,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="test-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 20
        while launch.answering(self.data_dir) is None:
            assert self._thread.is_alive(), "the engine thread ended before it answered"
            assert time.monotonic() < deadline, "the engine did not answer within 20 s"
            time.sleep(0.01)

    def _main(self) -> None:
        with owning(self.ctx, wait=5.0):
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.process.run())
            finally:
                loop.close()

    def stop(self) -> None:
        """Stop it as `seedbed engine stop` does: its runs end with their work committed."""
        if self._loop is not None and self._thread.is_alive():
            # The engine may have stopped itself (a test chose "stop") and its loop closed
            # between the check and the call: then there is nothing left to stop.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self.process.shutdown, "the test is over")
        self._thread.join(60)
        self.ctx.store.close()


@pytest.fixture
def engine(data_dir: Path) -> Iterator[ThreadEngine]:
    """The data dir's engine, on a thread of this process (see ThreadEngine)."""
    running = ThreadEngine(data_dir)
    running.start()
    yield running
    running.stop()


@dataclass
class CheckedContext(AppContext):
    """The window's AppContext, plus a Context of the test's own to set up and check
    the data dir: the window never reads it (it holds no store)."""

    core: Context = field(default=None)  # type: ignore[assignment]

    @property
    def store(self) -> Store:
        return self.core.store


def make_context(data_dir: Path) -> CheckedContext:
    """A window's context connected to the engine of `data_dir` (one must run, or the
    host starts one detached)."""
    context = AppContext.open(data_dir)
    return CheckedContext(
        data_dir=context.data_dir,
        bridge=context.bridge,
        host=context.host,
        settings=context.settings,
        catalog=context.catalog,
        project_id=context.project_id,
        core=Context.open(data_dir),
    )


def catalog_caught_up(qtbot: QtBot, context: AppContext) -> None:
    """Wait until the window's catalog holds the projects and profiles its data dir has:
    what a test adds through the engine (the `seedbed` CLI while an engine runs) reaches
    the window as it reaches any client, a moment later."""
    assert isinstance(context, CheckedContext)
    store = context.store

    def caught_up() -> bool:
        catalog = context.catalog
        return catalog.projects == store.list_projects() and (
            catalog.profiles == store.list_profiles()
        )

    qtbot.waitUntil(caught_up, timeout=10_000)


@pytest.fixture(autouse=True)
def no_local_model_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The welcome page looks for Ollama and LM Studio on their real ports; the tests'
    own servers stand in where a test wants one (page.candidates), never the machine's."""
    monkeypatch.setattr(welcome, "DEFAULTS", ())


@pytest.fixture(autouse=True)
def no_modal_quit_dialog(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """A window closed at a test's end with a run still going (an engine finishing what
    a stop began) would open the quit dialog, modally, and hang the suite (no timeout
    fires inside Qt's modal loop): it keeps the runs going instead (the test's engine is
    stopped after it). Tests of the dialog itself are marked `real_quit_dialog`."""
    if request.node.get_closest_marker("real_quit_dialog"):
        return
    monkeypatch.setattr(
        QuitDialog, "ask", classmethod(lambda _cls, *_args: QuitAnswer(OnQuit.KEEP, False))
    )


@pytest.fixture
def app_context(
    qapp: QApplication, data_dir: Path, engine: ThreadEngine
) -> Iterator[CheckedContext]:
    """An AppContext over the test's data dir, connected to its engine (`engine`).

    Add the project and profiles (with the `seedbed` fixture) *before* asking for this
    one, or set `context.project_id` yourself."""
    context = make_context(data_dir)
    yield context
    context.close()
    context.store.close()


@pytest.fixture
def command_profile(seedbed: SeedbedCli) -> Callable[[str, str], str]:
    """Adds a command-agent profile (a real /bin/sh script) and returns its name."""

    def add(name: str, script: str) -> str:
        seedbed.ok("profile", "add", name, "--kind", "command", "--command", script)
        return name

    return add
