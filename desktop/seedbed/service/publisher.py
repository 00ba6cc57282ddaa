"""What the engine tells its clients of tasks and runs: gathered, and each change once.

Two sources tell the same things: the Engine's listeners (the runs it drives, every
50 ms per run, and the tasks it changes) and the StoreWatcher, which tells what any
process wrote, the engine's own writes included. Published as they came, twenty agents
made about 400 notifications a second, half of them twice, each a JSON message decoded
by the window's client thread beside its GUI thread, sharing its GIL. The Publisher
gathers them and publishes at most one notification of each topic every PUBLISH_EVERY_S
(the first change after a quiet spell at once):

- "tasks" {task_ids}: every task changed since the last one, each named once (the tasks
  a verb changed too: "changes" says so as well, for the clients that want the verb's
  word; the window takes tasks and projects from "tasks" and "projects" only);
- "projects": the projects changed;
- "events" {runs: [{task_id, run_id, first, last, rows}]}: each run's new seqs, every seq
  told once (a range the other source told already is dropped, an overlap trimmed), so
  the last rows of a run are always told and never twice; and the run's count of log
  rows as it is when published (`rows`, one index lookup per run told), so a window
  following the log grows it without asking for the count after every notification.

A task the engine changed is told once too: before naming it, the Publisher lets the
watcher take in the task's version as it is then (`absorb`; the projects' likewise), so
the watcher tells only a later change. The clients read the task after being told, so
after that version.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from seedbed.service.topics import (
    EVENTS,
    PROJECTS,
    TASKS,
    EventsWritten,
    RunsWritten,
    TasksChanged,
)

logger = logging.getLogger("seedbed.service")

RETRY_S = 1.0  # after a flush that failed
PUBLISH_EVERY_S = 0.05  # the bridge gathers 50 ms too: a log view refreshes as often

Publish = Callable[[str, Any], None]
Absorb = Callable[[set[int], bool], Awaitable[None]]
CountRows = Callable[[int], int | None]  # run id → its log rows now (None: unknown)


class Publisher:
    """Gathers task and event hints from any thread; `run()` (on the engine's loop)
    publishes them. `flush()` publishes what is pending now (the engine stopping)."""

    def __init__(
        self,
        publish: Publish,
        absorb: Absorb | None = None,
        every_s: float = PUBLISH_EVERY_S,
        count_rows: CountRows | None = None,
    ) -> None:
        """`count_rows` is called on the loop as each "events" is published, after its
        events were stored: the count it gives covers at least the seqs told."""
        self.every_s = every_s
        self.absorb = absorb
        self.count_rows = count_rows
        self._publish = publish
        self._lock = threading.Lock()
        self._tasks: set[int] = set()
        self._projects = False
        self._runs: dict[int, EventsWritten] = {}
        # run id → the last seq told (or gathered): one number per run the engine saw
        self._told: dict[int, int] = {}
        self._armed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._wanted: asyncio.Event | None = None

    # -- any thread --------------------------------------------------------------------

    def task(self, task_id: int) -> None:
        with self._lock:
            self._tasks.add(task_id)
            wake = self._arm()
        if wake:
            self._wake()

    def projects(self) -> None:
        with self._lock:
            self._projects = True
            wake = self._arm()
        if wake:
            self._wake()

    def events(self, task_id: int, run_id: int, first: int, last: int) -> None:
        """Events first..last of run_id are stored; what was told already is dropped."""
        with self._lock:
            told = self._told.get(run_id, -1)
            if last <= told:
                return
            self._told[run_id] = last
            first = max(first, told + 1)
            pending = self._runs.get(run_id)
            if pending is not None:
                first = pending.first
            self._runs[run_id] = EventsWritten(
                task_id=task_id, run_id=run_id, first=first, last=last
            )
            wake = self._arm()
        if wake:
            self._wake()

    def _arm(self) -> bool:
        if self._armed:
            return False
        self._armed = True
        return True

    def _wake(self) -> None:
        loop, wanted = self._loop, self._wanted
        if loop is None or wanted is None or loop.is_closed():
            return  # not running yet: run() looks at what is pending when it starts
        if threading.get_ident() == self._loop_thread:
            wanted.set()
        else:
            loop.call_soon_threadsafe(wanted.set)

    # -- the engine's loop -------------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        wanted = self._wanted = asyncio.Event()
        with self._lock:
            if self._armed:
                wanted.set()
        while True:
            await wanted.wait()
            wanted.clear()
            try:
                await self.flush()
            except Exception:  # a storage error: what was taken out is tried again
                logger.exception("publishing what changed failed; trying again in 1 s")
                await asyncio.sleep(RETRY_S)
                wanted.set()
            await asyncio.sleep(self.every_s)

    def _put_back(self, tasks: set[int], projects: bool, runs: dict[int, EventsWritten]) -> None:
        with self._lock:
            self._tasks |= tasks
            self._projects = self._projects or projects
            for run_id, told in runs.items():
                newer = self._runs.get(run_id)
                self._runs[run_id] = (
                    told if newer is None else told.model_copy(update={"last": newer.last})
                )
            self._armed = True

    async def flush(self) -> None:
        with self._lock:
            tasks, self._tasks = self._tasks, set()
            projects, self._projects = self._projects, False
            runs, self._runs = self._runs, {}
            self._armed = False
        if (tasks or projects) and self.absorb is not None:
            try:
                await self.absorb(tasks, projects)
            except BaseException:
                # Cancelled (the engine stopping) or failed: what was taken out is put
                # back, for the final flush or the next one to tell.
                self._put_back(tasks, projects, runs)
                raise
        if projects:
            self._publish(PROJECTS, None)
        if tasks:
            self._publish(TASKS, TasksChanged(task_ids=sorted(tasks)))
        if runs:
            told = [runs[r] for r in sorted(runs)]
            if self.count_rows is not None:
                count = self.count_rows
                told = [run.model_copy(update={"rows": count(run.run_id)}) for run in told]
            self._publish(EVENTS, RunsWritten(runs=told))
