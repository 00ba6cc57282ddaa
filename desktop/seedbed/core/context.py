"""What every verb of the application layer is given, and what a verb says it changed.

A verb is a plain blocking function `verb(ctx, ...)` of core/: the CLI, the window and
(issue 16, step 2) the engine's API call only these. It takes its `Context` explicitly
(never a global), checks its input, and a verb that writes returns `Done[T]`: its value
and a `Changed` naming what moved, so a view repaints what changed instead of everything,
and the engine can push the same `Changed` to every other client.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from seedbed.store import Store

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """The data dir a verb works on and its open store. One per process (or per thread
    that needs its own SQLite connection); cheap to pass, never reached as a global."""

    store: Store

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
