"""The engine thread: one asyncio loop in the window's process."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from seedbed.core.context import Context
from seedbed.engine.engine import Engine
from seedbed.engine.watcher import StoreWatcher
from seedbed.store.lock import EngineBusy, EngineLock
from seedbed.ui.common.bridge import Bridge, Done, Failed

TAKEOVER_SECONDS = 1.0
# Calls that may wait long without working (approves in the merge queue).
WAITING_CALLS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="seedbed-waiting")


async def _in_thread(work: Callable[[], Any], waits: bool) -> Any:
    """On the engine loop: run `work` on a worker thread (of WAITING_CALLS if it waits)."""
    if waits:
        return await asyncio.get_running_loop().run_in_executor(WAITING_CALLS, work)
    return await asyncio.to_thread(work)


ENGINE = "engine"
FOLLOW = "follow"
SNAPSHOT = "snapshot"


class EngineHost:
    """Runs the engine on its own thread, or follows another one read-only.

    When this process gets the data dir's engine lock, the Engine runs here and every
    run lives on this loop. When another engine holds it (`seedbed run` in a terminal),
    the window only follows the store; once that engine exits, the host takes over.
    Either way a StoreWatcher reports changes through the bridge.

    `call(fn, *args)` runs a blocking operation (git, a store write) off the GUI thread
    and hands its result or error back to the GUI thread.
    """

    def __init__(
        self, data_dir: Path, bridge: Bridge, max_parallel: int = 4, run_engine: bool = True
    ) -> None:
        """With run_engine False (screenshots) the host only reads: it never starts an
        engine, so showing the window cannot start a queued task."""
        self.data_dir = data_dir
        self.run_engine = run_engine
        self.bridge = bridge
        self.max_parallel = max_parallel
        self.mode = ""
        self.engine: Engine | None = None
        self._lock = EngineLock(data_dir)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._pending = 0
        self._serving: asyncio.Task[None] | None = None
        self._closing = False
        self._pending_lock = threading.Lock()

    # -- life ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="seedbed-engine", daemon=True)
        self._thread.start()
        self._ready.wait()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop every run (work committed, tasks interrupted) and end the thread."""
        if self._loop is None or self._thread is None or self._loop.is_closed():
            return  # never started, or stopped already
        stopped = self._stopped
        assert stopped is not None
        self._closing = True
        self._loop.call_soon_threadsafe(stopped.set)
        self._thread.join(timeout)

    def running_count(self) -> int:
        """Runs this process drives now (0 when following)."""
        return len(self.engine.runners) if self.engine is not None else 0

    def set_max_parallel(self, count: int) -> None:
        self.max_parallel = count
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._apply_max_parallel)

    def _apply_max_parallel(self) -> None:
        if self.engine is not None:
            self.engine.max_parallel = self.max_parallel

    # -- calls -----------------------------------------------------------------------

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Done | None = None,
        on_error: Failed | None = None,
        owner: QObject | None = None,
        waits: bool = False,
        **kwargs: Any,
    ) -> Future[Any]:
        """Run fn(*args, **kwargs) in a worker thread of the engine loop; the callbacks
        run on the GUI thread, and not at all once `owner` has been deleted. A call that
        `waits` (an approve queued behind others) gets a thread of its own pool, so that
        waiting calls never hold up the board's reads."""
        assert self._loop is not None, "start() the host first"
        if self._closing:
            # The window is going away: nothing more runs, and nothing calls back.
            dropped: Future[Any] = Future()
            dropped.cancel()
            return dropped
        token = self.bridge.register(on_done, on_error, owner)
        with self._pending_lock:
            self._pending += 1
        work = functools.partial(fn, *args, **kwargs)
        future = asyncio.run_coroutine_threadsafe(_in_thread(work, waits), self._loop)
        future.add_done_callback(functools.partial(self._finished, token))
        return future

    def _finished(self, token: int, done: Future[Any]) -> None:
        """On the engine thread: count the call done and hand the bridge its token (never
        its callbacks: see Bridge.register)."""
        with self._pending_lock:
            self._pending -= 1
        self.bridge.deliver(token, done)

    def pending(self) -> int:
        """Calls not finished yet (a screenshot waits until there are none)."""
        with self._pending_lock:
            return self._pending

    # -- the engine thread -----------------------------------------------------------

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        finally:
            # Calls still in flight end here (cancelled: nobody is left to answer), so no
            # task is destroyed pending when the loop closes.
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        watcher = StoreWatcher(
            Context.open(self.data_dir).store.path,
            self.bridge.note_task,
            self.bridge.note_events,
            self.bridge.note_projects,
        )
        watching = asyncio.create_task(watcher.watch())
        if self._take_engine_lock():
            # start() returns once recovery is over, so nothing the window does next
            # can be mistaken for a run left over from a crash.
            assert self.engine is not None
            self._serving = asyncio.create_task(self.engine.serve())
            recovered = asyncio.create_task(self.engine.recovered.wait())
            await asyncio.wait({self._serving, recovered}, return_when=asyncio.FIRST_COMPLETED)
            recovered.cancel()
        self._ready.set()
        try:
            while not self._stopped.is_set():
                if self.engine is not None or self._take_engine_lock():
                    await self._run_engine()
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), TAKEOVER_SECONDS)
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            watcher.close()
            self._lock.release()

    def _take_engine_lock(self) -> bool:
        if not self.run_engine:
            self.mode = SNAPSHOT
            return False
        try:
            self._lock.acquire()
        except EngineBusy as exc:
            if self.mode != FOLLOW:
                self.mode = FOLLOW
                self.bridge.note_mode(
                    FOLLOW,
                    f"Another Seedbed engine runs on this data dir ({exc}). "
                    "This window follows it read-only and takes over when it stops.",
                )
            return False
        except OSError as exc:  # a read-only data dir: no engine can run on it
            if self.mode != FOLLOW:
                self.mode = FOLLOW
                self.bridge.note_mode(
                    FOLLOW,
                    f"Seedbed cannot write to {self.data_dir} ({exc.strerror}): "
                    "this window only shows it.",
                )
            return False
        self.mode = ENGINE
        self.engine = Engine(Context.open(self.data_dir).store, self.data_dir, self.max_parallel)
        self.engine.task_listeners.append(self.bridge.note_task)
        self.engine.event_listeners.append(self.bridge.note_events)
        self.bridge.note_mode(ENGINE, "")
        return True

    async def _run_engine(self) -> None:
        engine = self.engine
        assert engine is not None and self._stopped is not None
        serving = self._serving or asyncio.create_task(engine.serve())
        stopping = asyncio.create_task(self._stopped.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        engine.shutdown()
        await serving
        stopping.cancel()
        engine.store.close()
