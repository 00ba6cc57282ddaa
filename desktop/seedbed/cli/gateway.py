"""How a command reaches the verbs of core: through the engine of its data dir when one
answers, in this process when none does (as before the engine had a process of its own).

A command that wrote in its own process while an engine ran made two writers of one data
dir, each deciding from what it had read; through the engine's API there is one. Reads go
the same way (one rule, and a command sees what the engine has done). Deciding costs a
look for the socket file: the API client (websockets) loads only when there is one, so a
list with no engine running starts as fast as before.

A command never waits on an engine forever: a call unanswered within its limit
(SEEDBED_ENGINE_TIMEOUT_S, default 60 s) fails naming the engine's log and how to stop
it. A verb that waits its turn (an approve in the merge queue) has no limit; it says
every so often that it still waits, and Ctrl+C says what the engine goes on doing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from seedbed.api.endpoint import (
    UnixEndpoint,
    describe,
    forwarded_endpoint,
    no_forwarded_engine,
    read_endpoint,
)
from seedbed.api.errors import EngineNotAnswering, EngineStopped, EngineUnavailable
from seedbed.api.limits import CALL_TIMEOUT_ENV, call_timeout
from seedbed.core.context import Context
from seedbed.domain.errors import OperationError, UserError

if TYPE_CHECKING:
    from seedbed.api.sync_client import SyncClient

P = ParamSpec("P")
R = TypeVar("R")

WAIT_NOTE_S = 10.0  # how often a waiting verb says it still waits


def say(line: str) -> None:
    sys.stderr.write(f"{line}\n")
    sys.stderr.flush()


class EngineGone(UserError):
    """The engine went away while the command used it (stopped, idle, killed)."""


class Gateway:
    """The verbs of one command's data dir: `call(verb, *args, **kwargs)` does what
    `verb(ctx, *args, **kwargs)` does in this process, and returns the same objects."""

    def __init__(
        self,
        data_dir: Path,
        engine_socket: str | None = None,
        note: Callable[[str], None] = say,
    ) -> None:
        """`note(line)`: what a command says while it waits (standard error)."""
        self.data_dir = data_dir
        self.note = note
        # A socket forwarded from another machine: its engine or nothing, never this one.
        self.forwarded = forwarded_endpoint(engine_socket)
        self._engine: SyncClient | None = None
        self._looked = False

    @cached_property
    def context(self) -> Context:
        """The data dir opened in this process: for verbs run here (no engine runs), and
        for what always stays here (`seedbed run` is the engine)."""
        return Context.open(self.data_dir)

    @property
    def engine(self) -> SyncClient | None:
        """The connection to the engine; None when none runs (the verbs run here)."""
        if not self._looked:
            self._looked = True
            self._engine = self._connect()
        return self._engine

    def stay_here(self) -> bool:
        """After EngineGone: whether the verbs can run in this process from now on (the
        data dir is this machine's, not one at the end of a forwarded socket)."""
        if self.forwarded is not None:
            return False
        if self._engine is not None:
            self._engine.close()
        self._engine = None
        self._looked = True
        return True

    def call(
        self, verb: Callable[Concatenate[Context, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        engine = self.engine
        if engine is None:
            return verb(self.context, *args, **kwargs)
        # Loaded only with an engine to talk to: core.verbs names every verb, so it loads
        # all of core (git, the agents), which a list run here never needs.
        from seedbed.api.functions import function_verb
        from seedbed.core.verbs import WAITING, verb_name

        name = verb_name(verb)
        remote = function_verb(name, verb)
        waits = name in WAITING
        limit = None if waits else call_timeout()
        try:
            result: R = engine.call(
                name,
                remote.bind(*args, **kwargs),
                remote.result_type,
                timeout=limit,
                waiting=(lambda s: self.note(self._still_waiting(name, s))) if waits else None,
                every=WAIT_NOTE_S,
            )
        except EngineStopped as exc:
            raise EngineGone(
                f"{exc}: {name} may not have been done "
                "(`seedbed engine start` starts the engine again)"
            ) from None
        except TimeoutError:
            assert limit is not None
            raise OperationError(
                self._hung(f"has not answered {name} within {limit:g} s")
            ) from None
        except KeyboardInterrupt:
            if waits:
                self.note(self._left_to_engine(name))
            raise
        return result

    def _where(self) -> str:
        if self.forwarded is not None:
            return f"the engine at {describe(self.forwarded)}"
        return f"the engine of {self.data_dir}"

    def _hung(self, what: str) -> str:
        """`what` the engine did not do, and what the user can do about a hung engine."""
        if self.forwarded is not None:
            return (
                f"{self._where()} {what}: it may be hung, or its forwarding (ssh -L) stalled; "
                "its log is engine.log in its data dir on its machine, and `seedbed engine "
                f"stop` there stops it ({CALL_TIMEOUT_ENV} sets a longer wait)"
            )
        # Start-up speed: launch (and the sync client it loads) only on this error's path.
        from seedbed.service.launch import log_path

        return (
            f"{self._where()} {what}: it may be hung; its log: {log_path(self.data_dir)}; "
            f"`seedbed engine stop` stops it ({CALL_TIMEOUT_ENV} sets a longer wait)"
        )

    def _still_waiting(self, name: str, seconds: float) -> str:
        return (
            f"still waiting for {self._where()}: {name} waits its turn or its checks "
            f"({seconds:.0f} s so far; Ctrl+C stops waiting here, not {name} in the engine)"
        )

    def _left_to_engine(self, name: str) -> str:
        return (
            f"interrupted: this command no longer waits, but {self._where()} goes on with "
            f"{name} (a call once asked is the engine's to finish); `seedbed task list` and "
            "`seedbed task show ID` show how it ends"
        )

    def _connect(self) -> SyncClient | None:
        endpoint = self.forwarded or read_endpoint(self.data_dir)
        if isinstance(endpoint, UnixEndpoint) and not os.path.exists(endpoint.path):
            if self.forwarded is not None:
                raise UserError(self._no_forwarded_engine())
            return None
        # Start-up speed: websockets loads only when there is a socket to talk to.
        from seedbed.api.handshake import OPEN_TIMEOUT
        from seedbed.api.sync_client import SyncClient

        limit = call_timeout()
        opening = min(OPEN_TIMEOUT, limit) if limit is not None else OPEN_TIMEOUT
        try:
            return SyncClient.connect(
                self.data_dir, endpoint=endpoint, client_name="command", open_timeout=opening
            )
        except EngineNotAnswering:
            # Something holds the socket and says nothing: not "no engine", so the command
            # does not run in its stead.
            said = self._hung("accepted the connection but did not answer")
            if self.forwarded is None:  # its loop may be stuck: a stop would not be heard
                lock = self.data_dir / "engine.lock"
                said += f"; if that cannot reach it either, `kill -9` the pid in {lock}"
            raise OperationError(said) from None
        except EngineUnavailable:
            if self.forwarded is not None:
                raise UserError(self._no_forwarded_engine()) from None
            return None  # a socket left by an engine that died (kill -9): none runs

    def _no_forwarded_engine(self) -> str:
        assert self.forwarded is not None
        return no_forwarded_engine(self.forwarded)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
