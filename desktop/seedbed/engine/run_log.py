"""The log of a task's runs while they go: events stored as they come (a flush every
50 ms), every known key scrubbed from them, and a full disk: the run ends for it, and
each step of its end is tried again until space is back (Qt-free)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from seedbed import secrets
from seedbed.agents.process import withheld_note
from seedbed.core.recorder import EventRecorder, FlushListener
from seedbed.domain.events import ErrorEvent, StatusEvent
from seedbed.store import Store
from seedbed.store.problems import disk_full, disk_full_reason

STORAGE_RETRY_S = 1.0  # how often a run ended by a full disk tries to record its end
FLUSH_EVERY_S = 0.05
T = TypeVar("T")


class RunLog:
    """The recorder of a task's current run (`begin` makes it), and what a full disk
    does to the run: `disk_full` says why it ends, `on_full` ends its processes."""

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        on_flush: FlushListener | None,
        on_full: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.on_flush = on_flush
        self._on_full = on_full
        self._recorder: EventRecorder | None = None
        self.disk_full = ""  # why the run ends: its log could not be stored
        # The engine is stopping: an end that cannot be stored is left to the next start's
        # recovery (a user's stop waits for space like the rest of the run's end).
        self.abandon = False
        # True while a step waits for disk space to be stored (nothing of the run lives).
        self.waiting_for_space = False
        self._ending: asyncio.Task[None] | None = None

    async def begin(self, run_id: int) -> None:
        """A new recorder for the run `run_id`. Every key Seedbed knows is scrubbed from
        everything the run records, from its first line on (a setup command can print the
        environment, too)."""
        self.disk_full = ""
        self._recorder = EventRecorder(self.store, run_id, on_flush=self.on_flush)
        for value in await asyncio.to_thread(secrets.known_key_values):
            self._recorder.add_secret(value)
        if note := withheld_note():
            self.log(StatusEvent(phase="preparing", message=note))

    @property
    def recorder(self) -> EventRecorder:
        assert self._recorder is not None, "no run has begun"
        return self._recorder

    @property
    def begun(self) -> bool:
        return self._recorder is not None

    def log(self, event: StatusEvent | ErrorEvent) -> None:
        event.ts = time.time()
        self.recorder.add([event])

    async def autoflush(self) -> None:
        """Store what was recorded, every FLUSH_EVERY_S, until cancelled."""
        recorder = self.recorder
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            recorder.flush()
            if recorder.full is not None and not self.disk_full:
                self.out_of_space(recorder.full)

    def out_of_space(self, exc: BaseException) -> None:
        """The run's log (or its state) cannot be stored: end its processes; the run
        then ends as failed for it, its work committed if git still can."""
        self.disk_full = disk_full_reason(exc, self.data_dir)
        self.log(ErrorEvent(message=self.disk_full))
        self._ending = asyncio.create_task(self._on_full())

    async def when_stored(self, step: Callable[[], Awaitable[T]]) -> T:
        """`step`, tried again while the disk is full, until space is back or the engine
        stops (then the next start's recovery ends the run)."""
        while True:
            try:
                stored = await step()
                self.waiting_for_space = False
                return stored
            except (sqlite3.Error, OSError) as exc:
                if not disk_full(exc) or self.abandon:
                    self.waiting_for_space = False
                    raise
            self.waiting_for_space = True
            await asyncio.sleep(STORAGE_RETRY_S)
