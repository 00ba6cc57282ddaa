"""The engine process: the Engine and the API server of its data dir on one asyncio loop.

It serves every verb of core (core/verbs.py) plus its own `engine.status` and
`engine.stop`, and publishes what changes (service/topics.py): the Engine's listeners
tell the runs it drives, a StoreWatcher tells what other processes write (a `seedbed
task add` that did not go through the API), and each verb's `Done` tells what it changed.

Whoever runs it holds the data dir's engine lock (store/lock.py) for as long as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from seedbed import __version__
from seedbed.api.endpoint import describe
from seedbed.api.functions import register_functions
from seedbed.api.protocol import NoParams
from seedbed.api.registry import Registry
from seedbed.api.server import ApiServer
from seedbed.core.context import Context, Done
from seedbed.core.data_dir import storage_problem
from seedbed.core.verbs import VERBS, WAITING
from seedbed.domain.errors import UserError
from seedbed.domain.models import Control, TaskState
from seedbed.engine.engine import Engine
from seedbed.engine.watcher import StoreWatcher
from seedbed.service import launch, ready_server, ready_window
from seedbed.service.notify import Notifier
from seedbed.service.publisher import Publisher
from seedbed.service.topics import (
    CHANGES,
    STATUS,
    STOP,
    STOP_RUNS,
    TASKS,
    EngineStatus,
    RunsStopped,
)
from seedbed.store import Store
from seedbed.store.settings import load_settings

logger = logging.getLogger("seedbed.service")

# Overrides the setting engine_idle_exit_minutes, in seconds (tests, scripts).
IDLE_EXIT_ENV = "SEEDBED_ENGINE_IDLE_EXIT_SECONDS"
IDLE_LOOK_S = 1.0  # between two looks at whether the engine is idle, at most
READY_LOOK_S = 0.5  # how often the engine looks at its ready window
READY_STOP_S = 5.0  # how long a stopping engine waits for it to leave
READY_FAILURES = 3  # ready windows that failed before the engine stops starting them
APPROVES_END_S = 30.0  # how long a stopping engine waits for its approves to end


def idle_exit_seconds(data_dir: Path) -> float | None:
    """How long an idle engine with no client waits before it exits; None: never."""
    given = os.environ.get(IDLE_EXIT_ENV, "").strip()
    if given:
        try:
            seconds = float(given)
        except ValueError:
            raise UserError(f"{IDLE_EXIT_ENV} must be a number of seconds, not {given!r}") from None
    else:
        seconds = load_settings(data_dir).engine_idle_exit_minutes * 60.0
    return seconds if seconds > 0 else None


class EngineProcess:
    """The engine of `data_dir` serving its API. `run()` returns once it stopped: asked
    (`engine.stop`, SIGTERM, Ctrl+C), idle when `until_idle`, or after `idle_exit_s`
    with no client connected and nothing running or queued."""

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        max_parallel: int,
        *,
        until_idle: bool = False,
        idle_exit_s: float | None = None,
        handle_signals: bool = True,
    ) -> None:
        """`handle_signals`: SIGINT and SIGTERM stop it (only on the main thread: an
        engine on another thread, in a test, is stopped by `shutdown`)."""
        self.store = store
        self.data_dir = data_dir
        self.until_idle = until_idle
        self.handle_signals = handle_signals
        self.idle_exit_s = idle_exit_s
        self.engine = Engine(store, data_dir, max_parallel)
        # Its stop interrupts the approves going on in it (core/merging.py).
        self.context = Context(store, stopping=self.engine.stopping)
        self.registry = Registry()
        self.server = ApiServer(self.registry, data_dir)
        self.started_at = time.time()
        self.stop_reason = ""
        # Verbs wait for start-up recovery: before it, a run marked running in the store
        # may be one this engine is about to declare interrupted.
        self._recovered = threading.Event()
        self._run_tasks: dict[int, int] = {}  # run id → its task's id
        self._watcher: StoreWatcher | None = None
        self.publisher = Publisher(
            self.server.publish, self._absorbed, count_rows=self._count_log_rows
        )
        self._stopping: set[asyncio.Task[None]] = set()
        # A window subscribes to "tasks"; while none does, a task that comes to need the
        # user is told on the desktop.
        self.notifier = Notifier(store, self._watched)
        register_functions(
            self.registry, VERBS, self._context, self._published, WAITING, self._worded
        )
        self.registry.add(STOP, NoParams, None, self._stop)
        self.registry.add(STOP_RUNS, NoParams, RunsStopped, self._stop_runs)
        self.registry.add(STATUS, NoParams, EngineStatus, self._status)
        self.engine.task_listeners.append(self._task_changed)
        self.engine.event_listeners.append(self._events_written)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM) if self.handle_signals else ()
        for sig in signals:
            loop.add_signal_handler(sig, self._signalled, sig)
        endpoint = await self.server.serve_unix()
        logger.info(
            "engine %s (pid %d) serves %s on %s",
            __version__,
            os.getpid(),
            self.data_dir,
            describe(endpoint),
        )
        watcher = self._watcher = StoreWatcher(
            self.store.path, self._task_changed, self._events_written, self._projects_changed
        )
        self.notifier.start()
        helpers = [
            asyncio.create_task(watcher.watch()),
            asyncio.create_task(self.publisher.run()),
            asyncio.create_task(self._note_recovered()),
        ]
        if self.idle_exit_s is not None:
            helpers.append(asyncio.create_task(self._exit_when_idle(self.idle_exit_s)))
        if ready_window.enabled():
            helpers.append(asyncio.create_task(self._keep_a_window_ready()))
        try:
            await self.engine.serve(until_idle=self.until_idle)
        finally:
            self._recovered.set()  # a verb still waiting must not wait forever
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            # Approves going on were interrupted by the stop: their end is recorded and
            # answered before the server goes, and no thread of theirs outlives it.
            if not await self.registry.waiting_ended(APPROVES_END_S):
                logger.warning("an approve did not end within %g s of the stop", APPROVES_END_S)
            await self.publisher.flush()  # a run's last rows are told before the server goes
            self._watcher = None
            watcher.close()
            self.notifier.close()
            await self.server.close()
            for sig in signals:
                loop.remove_signal_handler(sig)
            logger.info("engine (pid %d) stopped%s", os.getpid(), self.stop_reason)

    async def _keep_a_window_ready(self) -> None:
        """Keep a ready window (service/ready_server.py) for the next `seedbed`, started
        when a window closes: once a window has subscribed to "tasks" since the last one
        was started, and none is subscribed now. So its imports (~0.4 s of a core) never
        compete with a window at work, nor with the cold start of a window it refused
        (one that leaves is replaced only when the next window closes). After
        READY_FAILURES that failed, no more."""
        server = self.server
        while not server.subscriptions[TASKS]:
            server.subscribed_to.clear()
            await server.subscribed_to.wait()
        if self.engine.paused:
            return  # a screenshot's engine: it stops with its one window
        process: subprocess.Popen[bytes] | None = None
        served = 0  # the "tasks" subscriptions counted when the last one was started
        failures = 0
        try:
            while failures < READY_FAILURES:
                await asyncio.sleep(READY_LOOK_S)
                if process is not None and process.poll() is not None:
                    logger.info("the ready window (pid %d) left", process.pid)
                    failures += 1 if process.returncode else 0
                    process = None
                windows_since = server.subscriptions[TASKS] != served
                if process is not None or not windows_since or server.subscriber_count(TASKS):
                    continue
                served = server.subscriptions[TASKS]
                try:
                    process = await asyncio.to_thread(
                        ready_server.start, self.data_dir, launch.log_path(self.data_dir)
                    )
                except OSError:
                    logger.exception("could not start a ready window")
                    return
                if process is None:
                    return  # none wanted here
                logger.info("a ready window waits for the next window (pid %d)", process.pid)
        finally:
            if process is not None and process.poll() is None:
                process.terminate()  # it removes its socket and leaves
                try:
                    await asyncio.to_thread(process.wait, READY_STOP_S)
                except subprocess.TimeoutExpired:
                    process.kill()

    # -- stopping --------------------------------------------------------------------

    def shutdown(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or f": {reason}"
        self.engine.shutdown()

    def _signalled(self, sig: signal.Signals) -> None:
        self.shutdown(f"{signal.Signals(sig).name} received")

    async def _stop(self, params: NoParams) -> None:
        # The answer goes out before the server closes: the engine's loop ends its runs
        # (work committed) first, from its next turn on.
        self.shutdown("asked by a client")

    async def _stop_runs(self, params: NoParams) -> RunsStopped:
        """A window closing with "Stop": every run stops (work committed, the tasks
        interrupted). When no other window watches, the engine stops too, as it did
        when it lived in the window: queued tasks wait for the next engine. Another
        window is the user's still: its engine goes on, and so does the queue.

        Windows are the clients subscribed to "tasks": the closing one is at most one of
        them (it may ask on a connection of its own, or have left already)."""
        runs = len(self.engine.runners)
        alone = self.server.subscriber_count(TASKS) <= 1
        if alone:
            self.shutdown("a closing window stopped its runs")
        else:
            for runner in list(self.engine.runners.values()):
                stopping = asyncio.create_task(runner.stop(Control.STOP))
                self._stopping.add(stopping)
                stopping.add_done_callback(self._stopping.discard)
        return RunsStopped(runs=runs, engine_stops=alone)

    async def _exit_when_idle(self, seconds: float) -> None:
        look = min(IDLE_LOOK_S, max(0.05, seconds / 5))
        idle_since: float | None = None
        while True:
            await asyncio.sleep(look)
            if not self.data_dir.is_dir():
                self.shutdown(f"its data dir {self.data_dir} is gone")
                return
            try:
                busy = (
                    self.server.client_count() > 0
                    or bool(self.engine.runners)
                    or await asyncio.to_thread(self.engine.queued_count) > 0
                )
            except Exception:  # the database unreadable a moment: not idle, look again
                logger.exception("could not tell whether the engine is idle")
                busy = True
            now = time.monotonic()
            if busy:
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= seconds:
                self.shutdown(f"idle for {seconds:g} s with no client")
                return

    # -- verbs -----------------------------------------------------------------------

    async def _note_recovered(self) -> None:
        await self.engine.recovered.wait()
        self._recovered.set()

    def _worded(self, exc: Exception) -> Exception | None:
        """A SQLite or OS error of the data dir (a full disk, a read-only mount) as the
        sentence the command line says for it in-process."""
        if not isinstance(exc, (sqlite3.Error, OSError)):
            return None
        problem = storage_problem(exc, self.data_dir)
        return UserError(problem) if problem is not None else None

    def _context(self) -> Context:
        """What a verb is given (on its worker thread), once recovery is over."""
        self._recovered.wait()
        return self.context

    def _published(self, value: Any) -> None:
        """On the verb's worker thread: what it changed goes out as the verb's word
        ("changes") and, through the publisher, as "tasks" and "projects" (once: the
        watcher does not tell them again)."""
        if isinstance(value, Done) and value.changed:
            changed = value.changed
            if changed.settings:  # the window's settings: how many run at once
                self.engine.max_parallel = max(1, load_settings(self.data_dir).max_parallel)
            for task_id in changed.tasks:
                self.publisher.task(task_id)
                self.notifier.note(task_id)  # the watcher will not tell it (absorbed)
            if changed.projects:
                self.publisher.projects()
            self.server.publish(CHANGES, changed)

    async def _status(self, params: NoParams) -> EngineStatus:
        queued = await asyncio.to_thread(self.store.list_tasks, states=[TaskState.RUNNING])
        running = sorted(self.engine.runners)
        endpoint = self.server.endpoint
        return EngineStatus(
            pid=os.getpid(),
            version=__version__,
            data_dir=str(self.data_dir),
            socket=describe(endpoint) if endpoint is not None else "",
            started_at=self.started_at,
            uptime_s=time.time() - self.started_at,
            running_tasks=running,
            queued_tasks=len([task for task in queued if task.id not in self.engine.runners]),
            clients=self.server.client_count(),
            idle_exit_s=self.idle_exit_s,
        )

    # -- publishing (any thread) -----------------------------------------------------

    def _task_changed(self, task_id: int) -> None:
        self.publisher.task(task_id)
        self.notifier.note(task_id)

    async def _absorbed(self, task_ids: set[int], projects: bool) -> None:
        """Before the publisher names these tasks (or the projects): the watcher takes
        them in as they are now."""
        watcher = self._watcher
        if watcher is not None:
            with contextlib.suppress(RuntimeError):  # the watcher closed meanwhile
                await watcher.absorbed(task_ids, projects)

    def _watched(self) -> bool:
        """Whether a window is connected (it subscribes to "tasks"; a command does not)."""
        return self.server.subscriber_count(TASKS) > 0

    def _projects_changed(self) -> None:
        self.publisher.projects()

    def _count_log_rows(self, run_id: int) -> int | None:
        """On the loop: the run's log rows now, for "events" (an index lookup)."""
        try:
            return self.store.count_log_rows(run_id)
        except sqlite3.Error:
            return None  # told without: a client that wants the count asks for it

    def _events_written(self, run_id: int, first: int, last: int) -> None:
        task_id = self._run_tasks.get(run_id)
        if task_id is None:
            with contextlib.suppress(sqlite3.Error):
                task_id = self.store.task_of_run(run_id)
            if task_id is None:
                return  # a run deleted meanwhile (its project removed)
            self._run_tasks[run_id] = task_id
        self.publisher.events(task_id, run_id, first, last)
