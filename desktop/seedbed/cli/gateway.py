"""How a command reaches the verbs of core: through the engine of its data dir when one
answers, in this process when none does (as before the engine had a process of its own).

A command that wrote in its own process while an engine ran made two writers of one data
dir, each deciding from what it had read; through the engine's API there is one. Reads go
the same way (one rule, and a command sees what the engine has done). Deciding costs a
look for the socket file: the API client (websockets) loads only when there is one, so a
list with no engine running starts as fast as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from seedbed.api.endpoint import (
    UnixEndpoint,
    forwarded_endpoint,
    no_forwarded_engine,
    read_endpoint,
)
from seedbed.api.errors import EngineStopped, EngineUnavailable
from seedbed.core.context import Context
from seedbed.domain.errors import UserError

if TYPE_CHECKING:
    from seedbed.api.sync_client import SyncClient

P = ParamSpec("P")
R = TypeVar("R")


class Gateway:
    """The verbs of one command's data dir: `call(verb, *args, **kwargs)` does what
    `verb(ctx, *args, **kwargs)` does in this process, and returns the same objects."""

    def __init__(self, data_dir: Path, engine_socket: str | None = None) -> None:
        self.data_dir = data_dir
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

    def call(
        self, verb: Callable[Concatenate[Context, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        engine = self.engine
        if engine is None:
            return verb(self.context, *args, **kwargs)
        # Loaded only with an engine to talk to: core.verbs names every verb, so it loads
        # all of core (git, the agents), which a list run here never needs.
        from seedbed.api.functions import function_verb
        from seedbed.core.verbs import verb_name

        name = verb_name(verb)
        remote = function_verb(name, verb)
        try:
            result: R = engine.call(name, remote.bind(*args, **kwargs), remote.result_type)
        except EngineStopped as exc:
            raise UserError(
                f"{exc}: {name} may not have been done "
                "(`seedbed engine start` starts the engine again)"
            ) from None
        return result

    def _connect(self) -> SyncClient | None:
        endpoint = self.forwarded or read_endpoint(self.data_dir)
        if isinstance(endpoint, UnixEndpoint) and not os.path.exists(endpoint.path):
            if self.forwarded is not None:
                raise UserError(self._no_forwarded_engine())
            return None
        # Start-up speed: websockets loads only when there is a socket to talk to.
        from seedbed.api.sync_client import SyncClient

        try:
            return SyncClient.connect(self.data_dir, endpoint=endpoint, client_name="command")
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
