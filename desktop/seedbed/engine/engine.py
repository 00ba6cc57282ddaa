"""The engine: one asyncio loop that owns every run of a data dir.

It polls the store (cheaply) for queued tasks and for control requests left by other
processes (`seedbed task stop` from another terminal, the window), so any number of
readers and one writer of runs share the database without talking to each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

from seedbed.core.context import Stopping
from seedbed.core.dependencies import blocked_by
from seedbed.core.tasks import apply_control_to_queued, has_run_going
from seedbed.domain.errors import SeedbedError, UserError
from seedbed.domain.models import Control, Phase, Task, TaskState
from seedbed.engine.recovery import recover, recover_dead_merges
from seedbed.engine.run_support import DIFF_EVERY_S
from seedbed.engine.runner import TaskRunner
from seedbed.store import Store
from seedbed.store.backup import back_up
from seedbed.store.problems import disk_full
from seedbed.vcs.runner import GitScope, git_scope

POLL_SECONDS = 0.2
DEAD_MERGES_EVERY = 25  # polls between looks for approves that died (5 s)
ENGINE_STOPPED = "stopped: the engine stopped"  # the reason its runs end with
ENGINE_STOPPING = "the engine is stopping"  # why the git of its runs was cut


class Engine:
    """Runs queued tasks in board order, at most `max_parallel` at once.

    Listeners: `on_task_changed(task_id)` and `on_events(run_id, first_seq, last_seq)`
    are called on the engine loop; the window's bridge turns them into Qt signals.
    """

    def __init__(self, store: Store, data_dir: Path, max_parallel: int = 4) -> None:
        self.store = store
        self.data_dir = data_dir
        self.max_parallel = max(1, max_parallel)
        # Paused, it starts no queued task (an engine serving a screenshot's window).
        self.paused = False
        self.runners: dict[int, TaskRunner] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self.diff_every = DIFF_EVERY_S  # seconds between a running card's diff sizes
        self.task_listeners: list[Callable[[int], None]] = []
        self.event_listeners: list[Callable[[int, int, int], None]] = []
        self._shutdown = asyncio.Event()
        self._stopping: set[asyncio.Task[None]] = set()
        # Set once start-up recovery is done: before that, a run marked running in the
        # store may be one this engine is about to declare interrupted.
        self.recovered = asyncio.Event()
        self._backing_up: asyncio.Task[None] | None = None
        self._recovering: asyncio.Task[None] | None = None  # the look for dead approves
        # Every git this engine runs (its runs' too) is cut when it stops.
        self.git = GitScope()
        # Set when it stops: an approve going on in this process ends, interrupted.
        self.stopping = Stopping()

    # -- the loop -------------------------------------------------------------------

    async def serve(self, until_idle: bool = False) -> None:
        """Back up the database, recover, then schedule until shutdown() (or until
        idle, if asked)."""
        with git_scope(self.git):
            await self._serve(until_idle)

    async def _serve(self, until_idle: bool) -> None:
        await self._back_up()
        # On a thread: the loop hears a shutdown while a recovery's git hangs, and cuts it.
        for task_id in await asyncio.to_thread(recover, self.store):
            self._task_changed(task_id)
        self.recovered.set()
        try:
            polls = 0
            while not self._shutdown.is_set():
                polls += 1
                if polls % DEAD_MERGES_EVERY == 0:
                    if self._recovering is None or self._recovering.done():
                        self._recovering = asyncio.create_task(self._recover_dead_merges())
                    if self._backing_up is None or self._backing_up.done():
                        self._backing_up = asyncio.create_task(self._back_up())
                full = False
                try:
                    self._handle_controls()
                    queued = self._start_queued()
                except (sqlite3.Error, OSError) as exc:
                    if not disk_full(exc):
                        raise
                    full = True
                    queued = 1  # waits for space, as its runs do; nothing is idle yet
                if until_idle and not self._tasks and not queued:
                    break
                if until_idle and self._only_a_full_disk_left(full):
                    # Nothing happens until space is freed: an engine asked to end when
                    # idle ends saying so rather than wait forever.
                    raise UserError(self._waiting_on_a_full_disk())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._shutdown.wait(), POLL_SECONDS)
        finally:
            await self.stop_all()

    async def _recover_dead_merges(self) -> None:
        """Undo approves that died meanwhile; a look that fails waits for the next one
        (the engine goes on: its runs matter more). On a thread: it reads every process's
        environment and may run git (a take-back's smudge filter), and the loop must go
        on meanwhile (events, stops, a SIGTERM)."""
        try:
            changed = await asyncio.to_thread(recover_dead_merges, self.store)
        except (sqlite3.Error, OSError, SeedbedError):
            return
        for task_id in changed:
            self._task_changed(task_id)

    async def _back_up(self) -> None:
        """A backup of the database when one is due (store/backup.py); one that fails
        (a full disk) waits for the next look: the runs matter more."""
        with contextlib.suppress(sqlite3.Error, OSError):
            await asyncio.to_thread(back_up, self.data_dir)

    def shutdown(self) -> None:
        """Stop: a git that hangs is cut, one that works may finish (its time limit); a
        second shutdown (a second Ctrl+C or SIGTERM: the user insists) cuts what runs."""
        if self._shutdown.is_set():
            self.git.stop(ENGINE_STOPPING)
        self._shutdown.set()
        self.stopping.set()
        self.git.wind_down(ENGINE_STOPPING)

    async def stop_all(self, control: Control = Control.STOP) -> None:
        """Stop every run (work committed, tasks interrupted) and wait for them: the
        engine stops, and its runs say so. A git that hangs is cut, not waited for."""
        self.git.wind_down(ENGINE_STOPPING)
        for runner in list(self.runners.values()):
            await runner.stop(control, ENGINE_STOPPED)
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def queued_count(self) -> int:
        """Queued tasks that could start now, on a free slot (one waiting for others to be
        merged does not count). Reads the store: off the loop."""
        return len(self._startable())

    # -- scheduling -----------------------------------------------------------------

    def _startable(self) -> list[Task]:
        """The queued tasks that could start now, in board order."""
        queued = [
            task
            for task in self.store.list_tasks(states=[TaskState.RUNNING], phase=Phase.QUEUED)
            if task.id not in self.runners and task.control is Control.NONE
        ]
        if any(task.after for task in queued):
            # A task waiting for others to be merged stays queued, out of the count: an
            # engine run --until-idle is idle when only such tasks are left.
            states = {t.id: t.state for t in self.store.list_tasks()}
            queued = [task for task in queued if not blocked_by(task, states)]
        return queued

    def _only_a_full_disk_left(self, starting_failed: bool) -> bool:
        """True when the disk is full (a task could not start, or a run cannot store its
        start or end) and every run only waits for space."""
        runners = list(self.runners.values())
        full = starting_failed or any(r.waiting_for_space for r in runners)
        return full and all(r.waiting_for_space for r in runners)

    def _waiting_on_a_full_disk(self) -> str:
        """Why an --until-idle engine ends: what waits for space (the next start records
        the end of a run that could not store it)."""
        try:
            count = len(self._startable())
        except (sqlite3.Error, OSError):
            count = -1
        if count == 1:
            waiting = "1 queued task waits"
        elif count > 1:
            waiting = f"{count} queued tasks wait"
        elif count == 0:
            waiting = "the end of a run waits to be stored"
        else:
            waiting = "queued tasks wait"
        return f"the disk holding {self.data_dir} is full: {waiting}; free space and run again"

    def _start_queued(self) -> int:
        """Start queued tasks while slots are free; returns how many still wait."""
        queued = self._startable()
        while queued and len(self.runners) < self.max_parallel and not self.paused:
            task = queued.pop(0)
            runner = TaskRunner(
                self.store,
                self.data_dir,
                task,
                on_flush=self._events_flushed,
                on_change=self._task_changed,
                diff_every=self.diff_every,
            )
            self.runners[task.id] = runner
            self._tasks[task.id] = asyncio.create_task(self._drive(runner))
        return len(queued)

    async def _drive(self, runner: TaskRunner) -> None:
        try:
            await runner.execute()
        except (sqlite3.Error, OSError) as exc:
            # Only a run the engine gave up on while stopping ends here (its end could
            # not be stored): the next start's recovery ends it.
            if not (disk_full(exc) and self._shutdown.is_set()):
                raise
        finally:
            self.runners.pop(runner.task.id, None)
            self._tasks.pop(runner.task.id, None)
            self._task_changed(runner.task.id)

    def _handle_controls(self) -> None:
        # A task whose agent waits on a question is in Awaiting review, its run going on.
        states = [TaskState.RUNNING, TaskState.AWAITING_REVIEW]
        for task in self.store.list_tasks(states=states):
            if task.control is Control.NONE or not has_run_going(task):
                continue
            runner = self.runners.get(task.id)
            if runner is not None:
                if runner.control is Control.NONE:
                    # Stopping waits out the grace period; the scheduler must not.
                    stopping = asyncio.create_task(runner.stop(task.control))
                    self._stopping.add(stopping)
                    stopping.add_done_callback(self._stopping.discard)
                elif task.control is Control.STOP_NOW:
                    runner.stop_now()
            elif task.phase is Phase.QUEUED:
                apply_control_to_queued(self.store, task.id, task.control)
                self._task_changed(task.id)

    # -- listeners ------------------------------------------------------------------

    def _task_changed(self, task_id: int) -> None:
        for listener in self.task_listeners:
            listener(task_id)

    def _events_flushed(self, run_id: int, first: int, last: int) -> None:
        for listener in self.event_listeners:
            listener(run_id, first, last)
