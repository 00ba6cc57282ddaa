"""The verbs an engine answers: name -> params model, result type and the callable.

Whoever builds the server fills the registry, one line a verb:

    registry.add("task.move", MoveTask, TaskChange, lambda p: core.tasks.move(context, p))

A blocking callable (a core verb: SQLite, git) runs on a worker thread through
`asyncio.to_thread`, so the engine's loop never waits on it; an async callable runs on the
loop itself. A verb that may wait long without working (an approve waiting its turn in the
merge queue) is added with `waits=True` and runs in a pool of its own, so that such
waits never hold up the threads the quick verbs (reads) run on.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

P = TypeVar("P", bound=BaseModel)

# The threads of the verbs that wait (`Registry.add(..., waits=True)`).
WAITING_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="seedbed-waiting")


@dataclass(frozen=True)
class Verb(Generic[P]):
    name: str
    params: type[P]
    result: TypeAdapter[Any]
    call: Callable[[P], Any]
    is_async: bool
    waits: bool = False
    # The calls of a verb that waits still going on their thread (the registry's set).
    going: set[Future[Any]] = field(default_factory=set)

    async def run(self, params: P) -> Any:
        """Run the verb on validated params; its result as JSON-ready data. Raises what
        the verb raises."""
        if self.is_async:
            value = await self.call(params)
        elif self.waits:
            call = WAITING_POOL.submit(self.call, params)
            self.going.add(call)
            call.add_done_callback(self.going.discard)
            value = await asyncio.wrap_future(call)
        else:
            value = await asyncio.to_thread(self.call, params)
        if inspect.isawaitable(value):  # a plain callable that hands back a coroutine
            value = await value
        # Checked against the declared type, so a verb that returns the wrong thing fails in
        # the engine, naming the verb, rather than in every client.
        return self.result.dump_python(value, mode="json", warnings="error")


class Registry:
    """Verbs by name. Names are dotted (`task.move`); the server answers `hello`,
    `subscribe` and `unsubscribe` itself, so those names are taken."""

    RESERVED = frozenset({"hello", "subscribe", "unsubscribe"})

    def __init__(self) -> None:
        self._verbs: dict[str, Verb[Any]] = {}
        self._later: dict[str, Callable[[], None]] = {}
        self._going: set[Future[Any]] = set()  # calls of waiting verbs, on their threads

    def add(
        self,
        name: str,
        params: type[P],
        result: Any,
        call: Callable[[P], Any],
        waits: bool = False,
    ) -> None:
        """Register `call(params) -> result` under `name`; `result` is a type pydantic
        knows (a model, `list[Task]`, `None`, `int` …). A verb that `waits` runs in the
        pool of waiting verbs."""
        if name in self.RESERVED or name in self._verbs or name in self._later:
            raise ValueError(f"the verb {name!r} is already taken")
        self._verbs[name] = Verb(
            name=name,
            params=params,
            result=TypeAdapter(result),
            call=call,
            is_async=inspect.iscoroutinefunction(call),
            waits=waits,
            going=self._going,
        )

    async def waiting_ended(self, timeout: float) -> bool:
        """Wait (up to `timeout` s) until no call of a waiting verb goes on, even one
        whose caller left (a cancelled call's thread goes on); whether none does."""
        going = [asyncio.wrap_future(call) for call in list(self._going)]
        if not going:
            return True
        _done, pending = await asyncio.wait(going, timeout=timeout)
        return not pending

    def add_later(self, name: str, add: Callable[[], None]) -> None:
        """Take `name` now; `add()` adds its verb (with `add`) when it is first asked for.
        An engine then answers before it has built the models of every verb."""
        if name in self.RESERVED or name in self._verbs or name in self._later:
            raise ValueError(f"the verb {name!r} is already taken")
        self._later[name] = add

    def get(self, name: str) -> Verb[Any] | None:
        """The verb `name` (built now if it was added for later); None if there is none.
        On the server's loop thread only."""
        add = self._later.pop(name, None)
        if add is not None:
            add()
        return self._verbs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._verbs or name in self._later

    def __iter__(self) -> Iterator[str]:
        return iter(sorted([*self._verbs, *self._later]))
