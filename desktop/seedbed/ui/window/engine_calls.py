"""The window's calls about its engine process itself (start it again, stop its runs),
off the GUI thread on a thread of their own: they must work when the engine host cannot
(the engine it talks to is gone).

This module is the window's one way into `service.launch` (tests/test_architecture.py
lists it as an exception): what an engine process is lives there, not here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

import seedbed.service.launch as launch
from seedbed.ui.common.bridge import Done, Failed


def restart_engine(data_dir: Path) -> str:
    """Start the engine of `data_dir` (detached) unless one answers; where it listens."""
    return str(launch.ensure_engine(data_dir))


def reach_forwarded(data_dir: Path, socket: Path) -> str:
    """Whether the engine at the forwarded `socket` answers again (none is started: it
    is another machine's); where it listens. Raises, in words, when it does not."""
    launch.forwarded_answering(data_dir, socket)
    return str(socket)


def stop_runs(data_dir: Path, socket: Path | None = None) -> int | None:
    """Ask the engine of `data_dir` (or at the forwarded `socket`) to stop every run; how
    many it stops (None: no engine process answers, so none of its runs can be running)."""
    stopped = launch.stop_runs(data_dir, socket)
    return stopped.runs if stopped is not None else None


class ThreadStart(QObject):
    """A `Start` for BackgroundCall: runs each call on a new daemon thread and hands the
    answer back on the GUI thread. The worker holds only a token, never the callbacks
    (they hold widgets, which must not be destroyed off the GUI thread)."""

    _answered = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._callbacks: dict[int, tuple[Done, Failed]] = {}
        self._next = 0
        self._answered.connect(self._on_answered, Qt.ConnectionType.QueuedConnection)

    def __call__(self, fn: Callable[[], Any], done: Done, failed: Failed) -> None:
        self._next += 1
        token = self._next
        self._callbacks[token] = (done, failed)
        threading.Thread(
            target=self._work, args=(token, fn), name="seedbed-engine-call", daemon=True
        ).start()

    def _work(self, token: int, fn: Callable[[], Any]) -> None:
        try:
            answer: tuple[int, bool, object] = (token, True, fn())
        except Exception as exc:  # handed to the GUI thread, which words it
            answer = (token, False, exc)
        # The window may have gone meanwhile (it closed): nobody is left to answer.
        with contextlib.suppress(RuntimeError):
            self._answered.emit(answer)

    @Slot(object)
    def _on_answered(self, answer: tuple[int, bool, object]) -> None:
        token, ok, value = answer
        callbacks = self._callbacks.pop(token, None)
        if callbacks is None:
            return
        done, failed = callbacks
        if ok:
            done(value)
        else:
            assert isinstance(value, BaseException)
            failed(value)
