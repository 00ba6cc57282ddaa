"""The window's line to its engine: an API client on one asyncio loop thread.

The engine runs in a process of its own (service/engine_process.py); the window is one
of its clients. The host finds the engine of the data dir (starting it detached when
none answers), subscribes to what it publishes, and calls its verbs. Pointed at a socket
(`--engine-socket`, SEEDBED_ENGINE_SOCKET: an engine of another machine, forwarded by
`ssh -L`), it talks to that engine only and never starts one here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from seedbed.api.client import ApiClient
from seedbed.api.endpoint import UnixEndpoint, describe, forwarded_endpoint, no_forwarded_engine
from seedbed.api.errors import EngineNotAnswering, EngineStopped, EngineUnavailable
from seedbed.api.functions import function_verb
from seedbed.api.limits import CALL_TIMEOUT_ENV, call_timeout
from seedbed.api.protocol import Notification
from seedbed.core import verb_names
from seedbed.service import launch
from seedbed.service.topics import (
    CHANGES,
    EVENTS,
    PROJECTS,
    STATUS,
    TASKS,
    TOPICS,
    EngineStatus,
)
from seedbed.ui.common.bridge import Bridge, Done, Failed

ENGINE = "engine"  # connected to the engine: every control works
SNAPSHOT = "snapshot"  # `gui --screenshot`: connected to an engine that starts no run
LOST = "lost"  # the engine went away: nothing works until it is back

STATUS_EVERY_S = 0.5  # how often the engine's count of running tasks is read while any run

# `host.remote`: remote(verb, *args, **kwargs) calls a verb in the engine and waits for
# its answer; what a composed read run on a worker thread is given.
Remote = Callable[..., Any]

# A call the loop has yet to start: fn, its arguments, the future its caller holds.
Queued = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], Future[Any]]


def split_call(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    """`fn`, its arguments, with any `functools.partial` around it opened up."""
    while isinstance(fn, functools.partial):
        args = (*fn.args, *args)
        kwargs = {**fn.keywords, **kwargs}
        fn = fn.func
    return fn, args, kwargs


def call_key(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Hashable | None:
    """What tells two calls apart: the function and its arguments (see ask_early); None
    for arguments that cannot be told apart so (a list, a model): never asked early."""
    function, args, kwargs = split_call(fn, args, kwargs)
    key = (function, args, tuple(sorted(kwargs.items())))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def forwarded_socket(engine_socket: str | Path | None) -> Path | None:
    """The socket a window given `engine_socket` talks to (else SEEDBED_ENGINE_SOCKET's);
    None: the engine of its data dir."""
    endpoint = forwarded_endpoint(engine_socket)
    return endpoint.path if endpoint is not None else None


def is_verb(fn: Callable[..., Any]) -> bool:
    return verb_names.is_verb(split_call(fn, (), {})[0])


def _hand_on(future: Future[Any], task: asyncio.Future[Any]) -> None:
    """A finished call's outcome, handed to the caller's future (on the loop thread)."""
    if task.cancelled():
        future.cancel()
        return
    if not future.set_running_or_notify_cancel():
        return  # the caller cancelled it meanwhile
    error = task.exception()
    if error is None:
        future.set_result(task.result())
    else:
        future.set_exception(error)


class EngineHost:
    """Connects the window to the engine of `data_dir` and calls its verbs.

    `call(fn, *args)`: when `fn` is a verb of core (core/verbs.py), it is called in the
    engine over the API, without the context (the engine supplies its own): the window
    writes `host.call(tasks.start_task, task_id)`. Any other function runs on a worker
    thread of this process: those are the window's own (launching an editor, probing
    the agent CLIs, keys in the keyring) or composed reads given `host.remote`, which
    calls verbs from a worker thread. Results and errors come back on the GUI thread.

    What the engine publishes ("tasks", "projects", "events", "changes") reaches the
    bridge; when the engine goes away, `bridge.engine_lost` says so.
    """

    def __init__(
        self,
        data_dir: Path,
        bridge: Bridge,
        snapshot: bool = False,
        found: Future[bool] | None = None,
        engine_socket: str | Path | None = None,
    ) -> None:
        """With `snapshot` (screenshots) the host never lets a run start: it connects to
        the engine that runs, or starts one that starts no run and stops it at the end.
        `found`: the engine is being looked for (or started) already, by
        `launch.find_engine_soon(data_dir, paused=snapshot)`; its result says whether it
        was started. `engine_socket` (else SEEDBED_ENGINE_SOCKET): the engine to talk to
        instead of the data dir's; nothing is started when it does not answer."""
        self.data_dir = data_dir
        self.forwarded: UnixEndpoint | None = forwarded_endpoint(engine_socket)
        self.snapshot = snapshot
        self._found = found
        self.bridge = bridge
        self.mode = ""
        self.client: ApiClient | None = None
        self.error: BaseException | None = None
        self._started_engine = False
        self._running = 0
        self._status_wanted: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._back: asyncio.Event | None = None
        self._reconnecting = False
        self._pending = 0
        self._closing = False
        self._pending_lock = threading.Lock()  # guards _pending and _queued
        self._queued: list[Queued] = []  # calls made that the loop has not started yet
        self._first: Callable[..., Any] | None = None
        self._first_answer: Any = None
        self._early: dict[Hashable, Future[Any]] = {}  # see ask_early (GUI thread only)

    # -- life ------------------------------------------------------------------------

    def start(self, first: Callable[..., Any] | None = None) -> Any:
        """Connect (starting the engine when none runs). With `first`, a verb taking no
        argument is called as part of connecting, once subscribed (so no change after
        it goes unseen), and its answer returned: what the window holds before it shows,
        read on the loop thread. Raises what kept it from it (EngineUnavailable,
        OperationError with the engine's log, ProtocolMismatch, `first`'s own error)."""
        self._first = first
        self._thread = threading.Thread(target=self._main, name="seedbed-client", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            self._thread.join()
            raise self.error
        return self._first_answer

    def stop(self, timeout: float = 10.0) -> None:
        """Disconnect: the engine and its runs go on (a snapshot's own engine stops)."""
        if self._loop is None or self._thread is None or self._loop.is_closed():
            return  # never started, or stopped already
        stopped = self._stopped
        assert stopped is not None
        self._closing = True
        self._loop.call_soon_threadsafe(stopped.set)
        self._thread.join(timeout)
        if self._started_engine:
            launch.stop(self.data_dir)

    @property
    def engine_socket(self) -> Path | None:
        """The forwarded socket the window talks to; None: the data dir's own engine."""
        return self.forwarded.path if self.forwarded is not None else None

    def where(self) -> str:
        """The engine, as the window names it to the user."""
        if self.forwarded is not None:
            return f"the engine at {describe(self.forwarded)}"
        return f"the engine of {self.data_dir}"

    def running_count(self) -> int:
        """Runs the engine drives now (as it last said)."""
        return self._running

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
        """Call fn(*args, **kwargs): a verb in the engine, anything else on a worker
        thread here; the callbacks run on the GUI thread, and not at all once `owner` has
        been deleted. `waits` is kept for the callers' sake: the engine runs the verbs
        that wait (an approve queued behind others) in a pool of their own."""
        assert self._loop is not None, "start() the host first"
        if self._closing:
            # The window is going away: nothing more runs, and nothing calls back.
            dropped: Future[Any] = Future()
            dropped.cancel()
            return dropped
        token = self.bridge.register(on_done, on_error, owner)
        key = call_key(fn, args, kwargs) if self._early else None
        future = self._early.pop(key, None) if key is not None else None
        if future is None:
            future = Future()
            with self._pending_lock:
                self._pending += 1
                self._queued.append((fn, args, kwargs, future))
                wake = len(self._queued) == 1
            if wake:
                self._wake_loop()
        else:
            with self._pending_lock:
                self._pending += 1
        future.add_done_callback(functools.partial(self._finished, token))
        return future

    def _wake_loop(self) -> None:
        """Have the loop start the queued calls: one wake-up (a write to its socket) for
        every call the GUI thread makes before the loop gets to them."""
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._start_queued)
        except RuntimeError:  # the loop closed: nobody is left to answer
            with self._pending_lock:
                queued, self._queued = self._queued, []
            for *_call, future in queued:
                future.cancel()

    def _start_queued(self) -> None:
        """On the loop thread: start the calls queued since the last wake-up, in order.
        Each call's future stays pending until its answer (as run_coroutine_threadsafe's
        does), so a call cancelled before it started is never asked."""
        with self._pending_lock:
            queued, self._queued = self._queued, []
        for fn, args, kwargs, future in queued:
            if self._closing:
                future.cancel()  # the window is going away: nothing calls back
            elif not future.cancelled():
                task = asyncio.ensure_future(self._call(fn, args, kwargs))
                task.add_done_callback(functools.partial(_hand_on, future))

    def ask_early(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """Ask fn(*args, **kwargs) now for the first `call` of the same (same function,
        same arguments), which then gets this answer (this future) rather than asking
        again: the window asks for its first board while its own modules load. On the
        GUI thread."""
        assert self._loop is not None, "start() the host first"
        key = call_key(fn, args, kwargs)
        if key is None:
            raise TypeError(f"{fn!r} cannot be asked early: its arguments are not hashable")
        if key not in self._early:
            call = self._call(fn, args, kwargs)
            self._early[key] = asyncio.run_coroutine_threadsafe(call, self._loop)
        return self._early[key]

    def remote(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the verb `fn` in the engine and wait for its answer: for a worker thread
        (a composed read), never the GUI thread nor the host's loop. On the GUI thread
        it raises at once: a window that waited there would freeze with a slow engine."""
        assert self._loop is not None, "start() the host first"
        if threading.current_thread() is threading.main_thread():
            raise RuntimeError(f"host.remote({fn.__name__}) on the GUI thread: use host.call")
        if self._closing or self._loop.is_closed():
            raise EngineStopped(f"this window is closing: {fn.__name__} was not asked")
        call = self._verb(fn, args, kwargs)
        try:
            future = asyncio.run_coroutine_threadsafe(call, self._loop)
        except RuntimeError:  # the loop closed meanwhile
            call.close()
            raise EngineStopped(f"this window is closing: {fn.__name__} was not asked") from None
        return future.result()

    async def _call(self, fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        if is_verb(fn):
            return await self._verb(fn, args, kw)
        return await asyncio.to_thread(fn, *args, **kw)

    async def _verb(self, fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        function, args, kw = split_call(fn, args, kw)
        name = verb_names.verb_name(function)
        verb = function_verb(name, function)
        params = verb.bind(*args, **kw)
        client = self.client
        if client is None:
            raise EngineStopped(f"Seedbed is not connected to {self.where()}")
        # A verb that waits (an approve queued behind others) may take as long as it must.
        limit = None if name in verb_names.WAITING else call_timeout()
        try:
            return await asyncio.wait_for(client.call(name, params, verb.result_type), limit)
        except TimeoutError:
            assert limit is not None
            raise EngineNotAnswering(
                f"{self.where()} has not answered {name} within {limit:g} s: it may be hung "
                f"(`seedbed engine stop` stops it; {CALL_TIMEOUT_ENV} sets a longer wait)"
            ) from None

    def _finished(self, token: int, done: Future[Any]) -> None:
        """On the loop thread: count the call done and hand the bridge its token (never
        its callbacks: see Bridge.register)."""
        with self._pending_lock:
            self._pending -= 1
        self.bridge.deliver(token, done)

    def pending(self) -> int:
        """Calls not finished yet (a screenshot waits until there are none)."""
        with self._pending_lock:
            return self._pending

    # -- the loop thread -------------------------------------------------------------

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
            self._ready.set()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        self._back = asyncio.Event()
        self._status_wanted = asyncio.Event()
        try:
            await asyncio.to_thread(self._find_engine)
            await self._attach()
            if self._first is not None:
                self._first_answer = await self._verb(self._first, (), {})
        except Exception as exc:  # said by start(), on the GUI thread
            self.error = exc
            if self.client is not None:
                await self.client.close()
            return
        self._ready.set()
        stopping = asyncio.create_task(self._stopped.wait())
        while True:
            client = self.client
            assert client is not None
            status = asyncio.create_task(self._follow_status(client))
            closed = asyncio.create_task(client.wait_closed())
            await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
            status.cancel()
            await client.close()
            closed.cancel()
            if self._stopped.is_set():
                break
            self.mode = LOST
            self._running = 0  # none that this window can know of
            self.bridge.note_engine_lost(self._lost_words())
            # Until the window closes, or `reconnect` finds an engine again.
            back = asyncio.create_task(self._back.wait())
            await asyncio.wait({back, stopping}, return_when=asyncio.FIRST_COMPLETED)
            back.cancel()
            if self._stopped.is_set():
                break
            self._back.clear()
            self.bridge.note_engine_back()
        stopping.cancel()

    async def _attach(self) -> None:
        """Connect and subscribe; the host is then the new connection's."""
        client = await self._connect()
        try:
            await client.subscribe(TOPICS)
            await self._read_status_once(client)
        except BaseException:
            await client.close()
            raise
        self.client = client
        self.mode = SNAPSHOT if self.snapshot else ENGINE

    def reconnect(
        self,
        on_done: Done | None = None,
        on_error: Failed | None = None,
        owner: QObject | None = None,
    ) -> None:
        """After the engine was lost: connect again (an engine answers again: restarted,
        or its forwarding is back; nothing is started here). `on_done(None)` once
        connected, `on_error(exc)` when not, on the GUI thread."""
        assert self._loop is not None, "start() the host first"
        token = self.bridge.register(on_done, on_error, owner)
        future = asyncio.run_coroutine_threadsafe(self._reconnect(), self._loop)
        future.add_done_callback(functools.partial(self.bridge.deliver, token))

    async def _reconnect(self) -> None:
        back = self._back
        if self.mode != LOST or back is None or back.is_set() or self._reconnecting:
            return  # connected, being connected, or connected again and not yet told
        self._reconnecting = True
        try:
            await self._attach()
        finally:
            self._reconnecting = False
        back.set()

    async def _connect(self) -> ApiClient:
        if self.forwarded is None:
            return await ApiClient.connect(
                self.data_dir, client_name="window", on_notification=self._notified
            )
        try:
            return await ApiClient.connect(
                self.data_dir,
                endpoint=self.forwarded,
                client_name="window",
                on_notification=self._notified,
            )
        except EngineUnavailable:
            raise EngineUnavailable(no_forwarded_engine(self.forwarded)) from None

    def _lost_words(self) -> str:
        if self.forwarded is not None:
            return (
                f"The Seedbed engine at {describe(self.forwarded)} stopped, or its "
                "forwarding (ssh -L) ended; its log is on its own machine."
            )
        log = launch.log_path(self.data_dir)
        return f"The Seedbed engine of {self.data_dir} stopped (its log: {log})."

    def _find_engine(self) -> None:
        """On a worker thread: make sure an engine answers (a snapshot's starts no run,
        and stops with the window). A forwarded socket's engine is another machine's:
        nothing is started for it."""
        if self.forwarded is not None:
            return
        if self._found is not None:
            started = self._found.result()
        else:
            started = launch.find_engine(self.data_dir, paused=self.snapshot)
        self._started_engine = started and self.snapshot

    # -- what the engine publishes (on the loop thread) --------------------------------

    def _notified(self, note: Notification) -> None:
        """On the loop thread, beside the GUI thread and sharing its GIL: the payloads are
        read as the plain JSON they are (no models: this runs up to ten times a second per
        topic while agents write), and the bridge only records them."""
        topic = note.params.get("topic")
        payload = note.params.get("payload") or {}
        if topic == TASKS:
            self.bridge.note_tasks([int(task_id) for task_id in payload.get("task_ids", ())])
            self._ask_status()
        elif topic == EVENTS:
            for run in payload.get("runs", ()):
                rows = run.get("rows")  # None: not told; the log asks for the count
                self.bridge.note_events(
                    int(run["run_id"]),
                    int(run["first"]),
                    int(run["last"]),
                    None if rows is None else int(rows),
                )
        elif topic == PROJECTS:
            self.bridge.note_projects()
        elif topic == CHANGES:
            # A verb's tasks and projects are told on "tasks" and "projects" as well.
            if payload.get("profiles"):
                self.bridge.note_projects()
            if payload.get("settings"):  # saved by this window or another client
                self.bridge.note_settings()

    def _ask_status(self) -> None:
        """Have the engine's count of running tasks read again (once for a burst)."""
        if self._status_wanted is not None:
            self._status_wanted.set()

    async def _read_status_once(self, client: ApiClient) -> None:
        with contextlib.suppress(EngineUnavailable):
            status = EngineStatus.model_validate(await client.call(STATUS))
            self._running = len(status.running_tasks)

    async def _follow_status(self, client: ApiClient) -> None:
        """Keep `running_count` current: read the engine's status after changes, and
        every STATUS_EVERY_S while something runs (a run's end may come after the last
        change told)."""
        wanted = self._status_wanted
        assert wanted is not None
        while True:
            with contextlib.suppress(TimeoutError):
                timeout = STATUS_EVERY_S if self._running else None
                await asyncio.wait_for(wanted.wait(), timeout)
            wanted.clear()
            try:
                status = EngineStatus.model_validate(await client.call(STATUS))
            except EngineUnavailable:
                return
            self._running = len(status.running_tasks)
