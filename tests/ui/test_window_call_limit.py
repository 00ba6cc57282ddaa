"""A window whose engine accepts its calls and never answers one says so within the
limit (SEEDBED_ENGINE_TIMEOUT_S), instead of showing "busy" for ever; a verb that waits
its turn (an approve) is not limited."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from seedbed import __version__
from seedbed.api.errors import EngineNotAnswering
from seedbed.api.functions import function_verb
from seedbed.api.protocol import NoParams
from seedbed.api.registry import Registry
from seedbed.api.server import ApiServer
from seedbed.core import reads
from seedbed.core.app_settings import WindowStart, window_start
from seedbed.domain.models import Settings
from seedbed.service.topics import STATUS, EngineStatus
from seedbed.ui.common.context import AppContext
from tests.api.conftest import LoopThread


@pytest.fixture
def hanging_engine(tmp_path: Path) -> Iterator[Path]:
    """An engine's API server that answers a window's start and never answers a task list;
    its socket."""
    release = threading.Event()
    registry = Registry()
    start = WindowStart(settings=Settings(), projects=[], profiles=[])
    registry.add("app_settings.window_start", NoParams, WindowStart, lambda _p: start)
    status = EngineStatus(
        pid=os.getpid(), version=__version__, data_dir=str(tmp_path), socket="", started_at=0,
        uptime_s=0, running_tasks=[], queued_tasks=0, clients=1, idle_exit_s=None,
    )  # fmt: skip
    registry.add(STATUS, NoParams, EngineStatus, lambda _p: status)
    params = function_verb("reads.list_tasks", reads.list_tasks).params
    registry.add("reads.list_tasks", params, None, lambda _p: release.wait(30))
    data_dir = tmp_path / "engine-data"
    data_dir.mkdir()
    loop = LoopThread()
    server = ApiServer(registry, data_dir)
    loop.run(server.serve_unix())
    try:
        yield data_dir / "engine.sock"
    finally:
        release.set()
        loop.run(server.close())
        loop.stop()


def test_a_call_the_engine_never_answers_fails_within_the_limit(
    qtbot: QtBot, hanging_engine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_ENGINE_TIMEOUT_S", "0.5")
    assert function_verb("app_settings.window_start", window_start)  # the verb it asks
    context = AppContext.open(tmp_path / "window-data", engine_socket=str(hanging_engine))
    try:
        errors: list[BaseException] = []
        started = time.monotonic()
        context.host.call(reads.list_tasks, on_error=errors.append)
        qtbot.waitUntil(lambda: bool(errors), timeout=5000)
        assert time.monotonic() - started < 3
        [error] = errors
        assert isinstance(error, EngineNotAnswering)
        assert str(error) == (
            f"the engine at {hanging_engine} has not answered reads.list_tasks within 0.5 s: "
            "it may be hung (`seedbed engine stop` stops it; SEEDBED_ENGINE_TIMEOUT_S sets a "
            "longer wait)"
        )
    finally:
        context.close()
