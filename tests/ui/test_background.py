"""BackgroundCall: the one helper for a widget's calls off the GUI thread, over a real
engine host (its loop on its own thread) and real queued signals."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from seedbed.domain.errors import UserError
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.bridge import Bridge, Done, Failed
from seedbed.ui.common.host import EngineHost
from tests.ui.conftest import ThreadEngine

WAIT_S = 10


@pytest.fixture
def host(data_dir: Path, engine: ThreadEngine) -> Iterator[EngineHost]:
    """A host connected to the data dir's engine: calls of functions that are not verbs
    run on its loop's workers."""
    host = EngineHost(data_dir, Bridge())
    host.start()
    yield host
    host.stop()


@pytest.fixture
def owner() -> Iterator[QObject]:
    owner = QObject()
    yield owner
    owner.deleteLater()


def blocked(gate: threading.Event, result: str) -> str:
    """A slow call: returns `result` once the test opens the gate."""
    assert gate.wait(WAIT_S)
    return result


def settle(qtbot: QtBot, host: EngineHost) -> None:
    """Every call answered, and its answer's queued delivery run on the GUI thread."""
    qtbot.waitUntil(lambda: host.pending() == 0, timeout=WAIT_S * 1000)
    qtbot.wait(50)


def test_only_the_latest_call_lands(qtbot: QtBot, host: EngineHost, owner: QObject) -> None:
    call = BackgroundCall(host, owner)
    landed: list[object] = []
    call.finished.connect(landed.append)
    gate = threading.Event()
    call.run(blocked, gate, "old question")
    with qtbot.waitSignal(call.finished, timeout=WAIT_S * 1000):
        call.run(lambda: "new question")
    gate.set()  # the old answer comes late
    settle(qtbot, host)
    assert landed == ["new question"]
    assert not call.busy


def test_a_joined_call_lands_and_a_later_run_drops_both(
    qtbot: QtBot, host: EngineHost, owner: QObject
) -> None:
    call = BackgroundCall(host, owner)
    landed: list[object] = []
    call.finished.connect(landed.append)
    call.run(lambda: "load")
    call.join(lambda: "refresh", on_done=lambda result: landed.append(f"on_done {result}"))
    qtbot.waitUntil(lambda: len(landed) == 3, timeout=WAIT_S * 1000)
    assert sorted(landed) == ["load", "on_done refresh", "refresh"]
    gate = threading.Event()
    call.run(blocked, gate, "first")
    call.join(blocked, gate, "second")
    call.drop()
    gate.set()
    settle(qtbot, host)
    assert len(landed) == 3


def test_an_error_becomes_one_sentence(qtbot: QtBot, host: EngineHost, owner: QObject) -> None:
    call = BackgroundCall(host, owner)
    landed: list[object] = []
    call.finished.connect(landed.append)

    def refused() -> None:
        raise UserError("task #7 does not exist")

    def broken() -> None:
        raise ValueError("boom")

    with qtbot.waitSignal(call.failed, timeout=WAIT_S * 1000) as ours:
        call.run(refused)
    assert ours.args == ["task #7 does not exist"]
    with qtbot.waitSignal(call.failed, timeout=WAIT_S * 1000) as other:
        call.run(broken)
    assert other.args == ["Unexpected error (ValueError): boom"]
    assert landed == [] and not call.busy


def test_a_stale_error_is_not_reported(qtbot: QtBot, host: EngineHost, owner: QObject) -> None:
    call = BackgroundCall(host, owner)
    errors: list[str] = []
    call.failed.connect(errors.append)
    gate = threading.Event()

    def fails_late() -> None:
        assert gate.wait(WAIT_S)
        raise UserError("about the old question")

    call.run(fails_late)
    call.drop()
    gate.set()
    settle(qtbot, host)
    assert errors == []


def test_busy_follows_the_current_question(qtbot: QtBot, host: EngineHost, owner: QObject) -> None:
    call = BackgroundCall(host, owner)
    seen: list[bool] = []
    call.busy_changed.connect(seen.append)
    gate = threading.Event()
    call.run(blocked, gate, "slow")
    assert call.busy and seen == [True]
    call.join(blocked, gate, "slow too")
    assert seen == [True]  # still busy: no second signal
    gate.set()
    qtbot.waitUntil(lambda: not call.busy, timeout=WAIT_S * 1000)
    assert seen == [True, False]
    # Dropped: not busy at once, and the late answer does not make it busy again.
    late = threading.Event()
    call.run(blocked, late, "dropped")
    call.drop()
    assert not call.busy and seen == [True, False, True, False]
    late.set()
    settle(qtbot, host)
    assert seen == [True, False, True, False]


def test_a_start_of_the_widgets_own_runs_calls_the_same_way(qtbot: QtBot) -> None:
    """A view handed its own way to run calls (the reviewer's, or a test's at once)."""
    owner = QObject()
    held: list[tuple[Callable[[], object], Done]] = []

    def hold(fn: Callable[[], object], done: Done, _failed: Failed) -> None:
        held.append((fn, done))

    call = BackgroundCall(hold, owner)
    landed: list[object] = []
    call.finished.connect(landed.append)
    call.run(lambda: 1)
    call.run(lambda: 2)
    for fn, done in held:
        done(fn())
    assert landed == [2]
    owner.deleteLater()
