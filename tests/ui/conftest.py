"""Fixtures for the window: a real engine on its own thread, real Qt widgets offscreen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from seedbed.ui.common.context import AppContext
from seedbed.ui.setup import welcome
from tests.conftest import SeedbedCli


def make_context(data_dir: Path) -> AppContext:
    context = AppContext.create(data_dir)
    context.host.start()
    return context


@pytest.fixture(autouse=True)
def no_local_model_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The welcome page looks for Ollama and LM Studio on their real ports; the tests'
    own servers stand in where a test wants one (page.candidates), never the machine's."""
    monkeypatch.setattr(welcome, "DEFAULTS", ())


@pytest.fixture
def app_context(qapp: QApplication, data_dir: Path) -> Iterator[AppContext]:
    """An AppContext over the test's data dir with the engine running in this process.

    Add the project and profiles (with the `seedbed` fixture) *before* asking for this
    one, or set `context.project_id` yourself."""
    context = make_context(data_dir)
    yield context
    context.host.stop()
    context.store.close()


@pytest.fixture
def command_profile(seedbed: SeedbedCli) -> Callable[[str, str], str]:
    """Adds a command-agent profile (a real /bin/sh script) and returns its name."""

    def add(name: str, script: str) -> str:
        seedbed.ok("profile", "add", name, "--kind", "command", "--command", script)
        return name

    return add
