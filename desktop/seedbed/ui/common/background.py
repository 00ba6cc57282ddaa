"""One way for a widget to call something slow: off the GUI thread, latest answer only.

In the spirit of Anki's `CollectionOp`/`QueryOp` and git-cola's `runtask`: the widget
says what to run; the helper keeps the generation token, the busy state and the wording
of errors that each widget used to copy by hand.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from seedbed.ui.common.bridge import Done, Failed
from seedbed.ui.common.errors import describe_error
from seedbed.ui.common.host import EngineHost

# How a call leaves the GUI thread: start(fn, done, failed) runs fn elsewhere, then calls
# done(result) or failed(error) back on the GUI thread.
Start = Callable[[Callable[[], Any], Done, Failed], None]


class BackgroundCall(QObject):
    """Runs one kind of call for a widget (a load, a search, a look at the agents) and
    hands on the answer of the latest one only.

    `run` asks a new question: answers to earlier ones still on their way are dropped
    when they come. `join` adds a call to the current question without dropping the
    others (a load, then refreshes of some of its rows). `drop` drops every answer still
    on its way (the view shows something else now). An answer to a dropped call changes
    nothing, not even the busy state.

    Calls run through the engine host (`host.call`) or through any `Start`; either way
    the callbacks come back on the GUI thread, and not at all once the widget that owns
    this helper is deleted.

    Signals:
        finished(object): the latest call's result: what it read, or what it changed.
        failed(str): the latest call failed; one sentence for the user (`describe_error`).
        busy_changed(bool): whether calls of the current question are on their way.
    """

    finished = Signal(object)
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, runner: EngineHost | Start, parent: QObject, waits: bool = False) -> None:
        """`waits`: the calls may wait long without working (see `EngineHost.call`)."""
        super().__init__(parent)
        if isinstance(runner, EngineHost):
            self._start: Start = functools.partial(self._start_on_host, runner, waits)
        else:
            self._start = runner
        self._generation = 0
        self._on_the_way = 0  # calls of the current generation not answered yet

    @property
    def generation(self) -> int:
        """The current question's number; answers to an earlier one are dropped."""
        return self._generation

    @property
    def busy(self) -> bool:
        return self._on_the_way > 0

    def run(
        self, fn: Callable[..., Any], *args: Any, on_done: Done | None = None, **kwargs: Any
    ) -> None:
        """Ask fn(*args, **kwargs) anew: answers to earlier calls are dropped. `on_done`
        gets this call's result (before `finished` is emitted), if it is still wanted."""
        self._generation += 1
        self._on_the_way = 0
        self.join(fn, *args, on_done=on_done, **kwargs)

    def join(
        self, fn: Callable[..., Any], *args: Any, on_done: Done | None = None, **kwargs: Any
    ) -> None:
        """Add fn(*args, **kwargs) to the current question: its answer is wanted unless
        a later `run` or `drop` comes first."""
        generation = self._generation
        self._set_on_the_way(self._on_the_way + 1)
        self._start(
            functools.partial(fn, *args, **kwargs),
            functools.partial(self._answered, generation, on_done),
            functools.partial(self._refused, generation),
        )

    def drop(self) -> None:
        """Drop every answer still on its way; not busy any more."""
        self._generation += 1
        self._set_on_the_way(0)

    def deliver(self, generation: int, result: object) -> None:
        """What an answer to a call of `generation` does when it comes: handed on when
        that is the current question, dropped when it is older."""
        self._answered(generation, None, result)

    def _answered(self, generation: int, on_done: Done | None, result: object) -> None:
        if generation != self._generation:
            return
        self._set_on_the_way(self._on_the_way - 1)
        if on_done is not None:
            on_done(result)
        self.finished.emit(result)

    def _refused(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._set_on_the_way(self._on_the_way - 1)
        self.failed.emit(describe_error(error))

    def _set_on_the_way(self, count: int) -> None:
        was = self.busy
        self._on_the_way = max(0, count)
        if self.busy != was:
            self.busy_changed.emit(self.busy)

    def _start_on_host(
        self, host: EngineHost, waits: bool, fn: Callable[[], Any], done: Done, failed: Failed
    ) -> None:
        host.call(fn, on_done=done, on_error=failed, owner=self, waits=waits)
