"""What every verb of the application layer is given, and what a verb says it changed.

A verb is a plain blocking function `verb(ctx, ...)` of core/: the CLI, the window and
(issue 16, step 2) the engine's API call only these. It takes its `Context` explicitly
(never a global), checks its input, and a verb that writes returns `Done[T]`: its value
and a `Changed` naming what moved, so a view repaints what changed instead of everything,
and the engine can push the same `Changed` to every other client.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from seedbed.store import Store

T = TypeVar("T")


class Stopping:
    """Set once when the process that serves the verbs stops (an engine asked to stop, a
    SIGTERM): a verb that may go on for long (an approve waiting in the merge queue or
    running the checks on the merge result) ends early, interrupted, instead of keeping
    the process alive. Any thread may set it or look."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self.reason = ""

    def set(self, reason: str = "the engine stopped") -> None:
        """Set it; `reason` says why, as the end of what it interrupted says it."""
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds, less if it is set meanwhile; whether it is."""
        return self._event.wait(timeout)

    @contextlib.contextmanager
    def calling(self, callback: Callable[[], None]) -> Iterator[None]:
        """Within the block, `callback()` runs (on the thread that sets it) when it is set,
        at once if it is already."""
        with self._lock:
            self._callbacks.append(callback)
            already = self._event.is_set()
        if already:
            callback()
        try:
            yield
        finally:
            with self._lock:
                self._callbacks.remove(callback)


@dataclass(frozen=True)
class Context:
    """The data dir a verb works on and its open store. One per process (or per thread
    that needs its own SQLite connection); cheap to pass, never reached as a global.
    `stopping` is set when the process serving the verbs stops."""

    store: Store
    stopping: Stopping = field(default_factory=Stopping)

    @property
    def data_dir(self) -> Path:
        return self.store.path.parent

    @property
    def read_only(self) -> bool:
        """The data dir can be read, not changed (another user's, a read-only mount)."""
        return self.store.read_only

    @classmethod
    def open(cls, data_dir: Path) -> Context:
        return cls(Store.open(data_dir))


class Changed(BaseModel):
    """What a verb changed: the tasks (by id), and whether the projects, the agent
    profiles or the settings moved. Empty when nothing did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tasks: frozenset[int] = frozenset()
    projects: bool = False
    profiles: bool = False
    settings: bool = False

    def __or__(self, other: Changed) -> Changed:
        return Changed(
            tasks=self.tasks | other.tasks,
            projects=self.projects or other.projects,
            profiles=self.profiles or other.profiles,
            settings=self.settings or other.settings,
        )

    def __bool__(self) -> bool:
        return bool(self.tasks) or self.projects or self.profiles or self.settings

    @classmethod
    def task(cls, *task_ids: int) -> Changed:
        return cls(tasks=frozenset(task_ids))


class Done(BaseModel, Generic[T]):
    """What a verb that writes returns: its value and what it changed."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    value: T
    changed: Changed
