"""Engine → GUI: changes noted on the engine thread, re-emitted as coalesced Qt signals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

COALESCE_MS = 50

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class Bridge(QObject):
    """Carries what the engine did to the GUI thread without ever making it wait.

    The engine thread only records, under a lock, which tasks and runs changed. The
    first change after a quiet spell posts one queued wake-up; 50 ms later the GUI
    thread takes everything that piled up and emits it once. A flood of events thus
    costs the GUI one update per 50 ms, whatever the rate.

    Signals:
        tasks_changed(list[int]): these tasks' cards changed (or appeared, or went).
        events_appended(dict[int, int]): run id → the newest stored event's seq.
        rows_appended(dict[int, int | None]): the same runs → how many log rows each
            shows now, as the engine told with the events (None: not told, ask it); a
            log view grows by it without asking for the count.
        mode_changed(str, str): the host's mode (host.py), and a sentence for the user.
        projects_changed(): a project was added or removed (by any process).
        settings_changed(): the application's settings were saved (by any client).
        engine_lost(str): the connection to the engine process dropped; why, in words.
        engine_back(): an engine answers again.
    """

    tasks_changed = Signal(object)
    events_appended = Signal(object)
    rows_appended = Signal(object)
    projects_changed = Signal()
    settings_changed = Signal()
    mode_changed = Signal(str, str)
    engine_lost = Signal(str)
    engine_back = Signal()
    _woken = Signal()
    _calls_finished = Signal()
    _mode_noted = Signal(str, str)
    _lost_noted = Signal(str)
    _back_noted = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._tasks: set[int] = set()
        self._events: dict[int, int] = {}
        self._rows: dict[int, int | None] = {}
        self._projects = False
        self._settings = False
        self._armed = False
        self._next_token = 0
        self._callbacks: dict[int, tuple[Done | None, Failed | None, QObject | None]] = {}
        self._finished: list[tuple[int, Future[Any]]] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COALESCE_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._woken.connect(self._on_woken)
        # Queued even when emitted on the GUI thread (a call that finished before its
        # callback was attached): a callback never runs inside `host.call` itself.
        self._calls_finished.connect(self._on_calls_finished, Qt.ConnectionType.QueuedConnection)
        self._mode_noted.connect(self._on_mode_noted)
        self._lost_noted.connect(self._on_lost_noted)
        self._back_noted.connect(self._on_back_noted)

    # -- called on the engine thread -------------------------------------------------

    def note_task(self, task_id: int) -> None:
        self.note_tasks([task_id])

    def note_tasks(self, task_ids: list[int]) -> None:
        if not task_ids:
            return
        with self._lock:
            self._tasks.update(task_ids)
            wake = self._arm()
        if wake:
            self._woken.emit()

    def note_events(
        self, run_id: int, first_seq: int, last_seq: int, rows: int | None = None
    ) -> None:
        """`rows`: the run's count of log rows, when the engine told it."""
        with self._lock:
            if last_seq > self._events.get(run_id, -1):
                self._events[run_id] = last_seq
            if rows is None or run_id not in self._rows:
                self._rows[run_id] = rows
            else:  # told twice in one burst: the larger (None, once told, stays None)
                known = self._rows[run_id]
                self._rows[run_id] = None if known is None else max(known, rows)
            wake = self._arm()
        if wake:
            self._woken.emit()

    def note_projects(self) -> None:
        with self._lock:
            self._projects = True
            wake = self._arm()
        if wake:
            self._woken.emit()

    def note_settings(self) -> None:
        with self._lock:
            self._settings = True
            wake = self._arm()
        if wake:
            self._woken.emit()

    def note_mode(self, mode: str, message: str) -> None:
        self._mode_noted.emit(mode, message)

    def note_engine_lost(self, message: str) -> None:
        self._lost_noted.emit(message)

    def note_engine_back(self) -> None:
        self._back_noted.emit()

    def register(self, on_done: Done | None, on_error: Failed | None, owner: QObject | None) -> int:
        """Keep a call's callbacks here, on the GUI thread, under a token (GUI thread only).

        The worker that finishes the call only ever holds the token. Callbacks usually
        hold widgets; were a worker thread to drop the last reference to one, Python would
        destroy a Qt object off the GUI thread, which crashes.
        """
        self._next_token += 1
        self._callbacks[self._next_token] = (on_done, on_error, owner)
        return self._next_token

    def deliver(self, token: int, future: Future[Any]) -> None:
        """Run a finished call's callback on the GUI thread (if its owner still lives).

        Calls that finish while the GUI thread has not yet run the earlier ones' callbacks
        join them: one queued wake-up per burst, not one per call (each wakes the GUI
        thread, and each emit from here takes the GIL it shares)."""
        with self._lock:
            self._finished.append((token, future))
            wake = len(self._finished) == 1
        if wake:
            self._calls_finished.emit()

    def _arm(self) -> bool:
        if self._armed:
            return False
        self._armed = True
        return True

    # -- on the GUI thread -----------------------------------------------------------

    @Slot()
    def _on_woken(self) -> None:
        self._timer.start()

    @Slot()
    def _on_timer_timeout(self) -> None:
        with self._lock:
            tasks, self._tasks = self._tasks, set()
            events, self._events = self._events, {}
            rows, self._rows = self._rows, {}
            projects, self._projects = self._projects, False
            settings, self._settings = self._settings, False
            self._armed = False
        if projects:
            self.projects_changed.emit()
        if settings:
            self.settings_changed.emit()
        if tasks:
            self.tasks_changed.emit(sorted(tasks))
        if events:
            self.events_appended.emit(events)
            self.rows_appended.emit(rows)

    @Slot(str, str)
    def _on_mode_noted(self, mode: str, message: str) -> None:
        self.mode_changed.emit(mode, message)

    @Slot(str)
    def _on_lost_noted(self, message: str) -> None:
        self.engine_lost.emit(message)

    @Slot()
    def _on_back_noted(self) -> None:
        self.engine_back.emit()

    @Slot()
    def _on_calls_finished(self) -> None:
        with self._lock:
            finished, self._finished = self._finished, []
        for i, (token, future) in enumerate(finished):
            try:
                self._call_finished(token, future)
            except BaseException:
                # The error goes on up, as it did with one wake-up per call; the calls
                # after it still get theirs, on the next turn of the event loop.
                with self._lock:
                    wake = not self._finished
                    self._finished[:0] = finished[i + 1 :]
                    wake = wake and bool(self._finished)
                if wake:
                    self._calls_finished.emit()
                raise

    def _call_finished(self, token: int, future: Future[Any]) -> None:
        callbacks = self._callbacks.pop(token, None)
        if callbacks is None or future.cancelled():
            return
        on_done, on_error, owner = callbacks
        if owner is not None and not shiboken6.isValid(owner):
            return
        error = future.exception()
        if error is None:
            if on_done is not None:
                on_done(future.result())
        elif on_error is not None:
            on_error(error)
        else:
            raise error
