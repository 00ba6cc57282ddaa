"""An engine's API server on a loop thread of its own, with a registry of test verbs.

The server runs as it will in the engine: on an asyncio loop that is not the client's.
Async clients run in the test's own `asyncio.run`, sync ones in the test's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel, Field

from seedbed.api.registry import Registry
from seedbed.api.server import ApiServer
from seedbed.domain.errors import Busy, NotFound, OperationError, UserError

T = TypeVar("T")


class Echo(BaseModel):
    text: str
    times: int = Field(default=1, ge=1, le=10)


class Echoed(BaseModel):
    text: str
    thread: str


class TaskRef(BaseModel):
    task_id: int


def echo(params: Echo) -> Echoed:
    return Echoed(text=params.text * params.times, thread=threading.current_thread().name)


async def async_echo(params: Echo) -> Echoed:
    await asyncio.sleep(0)
    return Echoed(text=params.text.upper(), thread=threading.current_thread().name)


def refuse(params: TaskRef) -> None:
    raise UserError(f"task {params.task_id} cannot move from merged to running")


def missing(params: TaskRef) -> None:
    raise NotFound(f"no task with id {params.task_id}")


def busy(params: TaskRef) -> None:
    raise Busy(f"task {params.task_id} is being merged")


def failed(params: TaskRef) -> None:
    raise OperationError(f"the merge of task {params.task_id} conflicts in README.md")


def crash(params: TaskRef) -> None:
    raise RuntimeError("disk on fire")


def wrong_result(params: TaskRef) -> Any:
    return {"text": "no thread"}


# Opened by a test: the verb "wait" (declared waiting) blocks until then.
GATE = threading.Event()


def wait_at_gate(params: Echo) -> Echoed:
    assert GATE.wait(10)
    return Echoed(text=params.text, thread=threading.current_thread().name)


class Never(BaseModel):
    pass


async def never(params: Never) -> None:
    await asyncio.Event().wait()


def verbs() -> Registry:
    registry = Registry()
    registry.add("echo", Echo, Echoed, echo)
    registry.add("async_echo", Echo, Echoed, async_echo)
    registry.add("refuse", TaskRef, None, refuse)
    registry.add("missing", TaskRef, None, missing)
    registry.add("busy", TaskRef, None, busy)
    registry.add("failed", TaskRef, None, failed)
    registry.add("crash", TaskRef, None, crash)
    registry.add("wrong_result", TaskRef, Echoed, wrong_result)
    registry.add("never", Never, None, never)
    registry.add("wait", Echo, Echoed, wait_at_gate, waits=True)
    return registry


class LoopThread:
    """An asyncio loop running in a thread of its own, named `engine-loop`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        # A daemon: a test that fails half-way must not keep the test run from exiting.
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="engine-loop", daemon=True
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.run(self.loop.shutdown_default_executor())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class RunningEngine:
    """An ApiServer serving on its loop thread."""

    def __init__(self, server: ApiServer, loop: LoopThread) -> None:
        self.server = server
        self.loop = loop
        self.data_dir = server.data_dir

    def publish(self, topic: str, payload: Any = None) -> None:
        self.server.publish(topic, payload)

    def close(self) -> None:
        self.loop.run(self.server.close())


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Callable[..., RunningEngine]]:
    """`engine(tcp=False, data_dir=…, **ApiServer options)` starts one; all stop after."""
    loops: list[tuple[LoopThread, ApiServer]] = []

    def start(tcp: bool = False, directory: Path | None = None, **options: Any) -> RunningEngine:
        loop = LoopThread()
        server = ApiServer(verbs(), directory or data_dir, **options)
        loops.append((loop, server))
        loop.run(server.serve_tcp() if tcp else server.serve_unix())
        return RunningEngine(server, loop)

    yield start
    for loop, server in loops:
        try:
            loop.run(server.close(), timeout=30)
        finally:
            loop.stop()
