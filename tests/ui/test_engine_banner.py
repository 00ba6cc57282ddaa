"""A window whose engine process dies says so and starts it again: a real engine process,
killed with SIGKILL, and a real one started by the banner's Restart button."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from seedbed.service import launch
from seedbed.ui.common.bridge import Bridge
from seedbed.ui.common.context import AppContext
from seedbed.ui.window.engine_banner import EngineBanner
from seedbed.ui.window.main_window import MainWindow
from tests.service.conftest import Engines

START_TIMEOUT_MS = 30_000


def banner_over(qtbot: QtBot, data_dir: Path) -> tuple[EngineBanner, Bridge, QWidget]:
    """The banner in a window of its own, and that window (to be held: qtbot holds its
    widgets weakly)."""
    parent = QWidget()
    qtbot.addWidget(parent)
    bridge = Bridge(parent)
    banner = EngineBanner(data_dir, bridge, parent)
    parent.show()
    qtbot.waitExposed(parent)
    return banner, bridge, parent


def test_a_lost_engine_shows_the_banner_and_restart_starts_a_new_one(
    qtbot: QtBot, engines: Engines, data_dir: Path
) -> None:
    first = engines.start(env={"SEEDBED_ENGINE_IDLE_EXIT_SECONDS": "600"})
    banner, bridge, _window = banner_over(qtbot, data_dir)
    assert not banner.isVisible()
    os.kill(first["pid"], signal.SIGKILL)
    assert engines.wait_gone(timeout=10)
    bridge.engine_lost.emit("its connection closed")
    assert banner.isVisible()
    assert banner.label.text() == f"The engine of {data_dir} stopped (its connection closed)."

    with qtbot.waitSignal(banner.restarted, timeout=START_TIMEOUT_MS):
        banner.restart_button.click()
        assert not banner.restart_button.isEnabled()  # one start at a time
    hello = launch.answering(data_dir)
    assert hello is not None
    engines.pids.add(hello.pid)
    assert hello.pid != first["pid"]
    assert not banner.isVisible()


def test_an_engine_back_by_itself_hides_the_banner(qtbot: QtBot, data_dir: Path) -> None:
    banner, bridge, _window = banner_over(qtbot, data_dir)
    bridge.engine_lost.emit("")
    assert banner.isVisible() and banner.label.text() == f"The engine of {data_dir} stopped."
    bridge.engine_back.emit()
    assert not banner.isVisible()


def test_a_restart_that_fails_says_why_and_may_be_tried_again(qtbot: QtBot, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("", encoding="utf-8")
    banner, bridge, _window = banner_over(qtbot, not_a_dir)
    bridge.engine_lost.emit("killed")
    banner.restart_button.click()
    qtbot.waitUntil(banner.restart_button.isEnabled, timeout=START_TIMEOUT_MS)
    assert banner.isVisible()
    assert banner.label.text().startswith(f"The engine of {not_a_dir} did not start: ")


def test_the_main_window_shows_the_banner_at_its_top(qtbot: QtBot, app_context: AppContext) -> None:
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert not window.engine_banner.isVisible()
    app_context.bridge.engine_lost.emit("killed")
    qtbot.waitUntil(window.engine_banner.isVisible)
    assert str(app_context.data_dir) in window.engine_banner.label.text()
