"""The asyncio client of the engine's API (the window, on its background loop thread).

One reader task receives everything: a response resolves the call waiting for its id; a
notification goes to the callback given at connect, or else to `notifications()`. When
the engine goes away every waiting call, and the next ones, raise EngineStopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ValidationError
from websockets.asyncio.client import ClientConnection, connect, unix_connect
from websockets.exceptions import ConnectionClosed

from seedbed.api.endpoint import TcpEndpoint, UnixEndpoint
from seedbed.api.errors import EngineStopped
from seedbed.api.handshake import (
    Target,
    connecting,
    reply_value,
    request_text,
    stopped,
    target_for,
)
from seedbed.api.protocol import (
    HELLO,
    PROTOCOL_VERSION,
    SUBSCRIBE,
    UNSUBSCRIBE,
    ErrorResponse,
    Hello,
    Notification,
    Response,
    Subscribed,
    parse_client_bound,
)

logger = logging.getLogger("seedbed.api")

NotificationCallback = Callable[[Notification], None]


class ApiClient:
    """A connection to the engine of a data dir. Use `await ApiClient.connect(...)`, and
    `close()` (or `async with`) when done; all of it on one event loop."""

    def __init__(
        self,
        ws: ClientConnection,
        target: Target,
        on_notification: NotificationCallback | None = None,
    ) -> None:
        self.target = target
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int | str, asyncio.Future[Response | ErrorResponse]] = {}
        self._notes: asyncio.Queue[Notification | None] = asyncio.Queue()
        self._on_notification = on_notification
        self._closing = False
        self._failure: EngineStopped | None = None
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls,
        data_dir: Path,
        *,
        endpoint: UnixEndpoint | TcpEndpoint | None = None,
        token: str | None = None,
        client_name: str = "client",
        protocol: int = PROTOCOL_VERSION,
        on_notification: NotificationCallback | None = None,
    ) -> ApiClient:
        """Connect to the engine of `data_dir` (or at `endpoint`). Raises
        EngineUnavailable when none answers, ProtocolMismatch, AccessRefused."""
        target = target_for(
            data_dir, endpoint=endpoint, token=token, client_name=client_name, protocol=protocol
        )
        with connecting(target):
            if isinstance(target.endpoint, UnixEndpoint):
                ws = await unix_connect(str(target.endpoint.path), target.uri, **target.options())
            else:
                ws = await connect(target.uri, **target.options())
        return cls(ws, target, on_notification)

    async def call(
        self, verb: str, params: BaseModel | dict[str, Any] | None = None, result: Any = None
    ) -> Any:
        """Call `verb`; its result (validated as `result` when given: a model, `list[X]` …).
        Raises the verb's own error again (UserError, NotFound …) with its sentence."""
        if self._failure is not None:
            raise stopped(self.target)
        request_id = next(self._ids)
        future: asyncio.Future[Response | ErrorResponse] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[request_id] = future
        try:
            await self._ws.send(request_text(request_id, verb, params))
            reply = await future
        except ConnectionClosed:
            raise stopped(self.target) from None
        finally:
            self._pending.pop(request_id, None)
        return reply_value(reply, result)

    async def hello(self) -> Hello:
        return Hello.model_validate(await self.call(HELLO))

    async def subscribe(self, topics: Iterable[str]) -> list[str]:
        """Receive the events of `topics` from now on; every topic subscribed to after."""
        reply = await self.call(SUBSCRIBE, {"topics": list(topics)})
        return Subscribed.model_validate(reply).topics

    async def unsubscribe(self, topics: Iterable[str]) -> list[str]:
        reply = await self.call(UNSUBSCRIBE, {"topics": list(topics)})
        return Subscribed.model_validate(reply).topics

    async def notifications(self) -> AsyncIterator[Notification]:
        """The notifications as they come (without a callback given at connect). Ends when
        the client is closed; raises EngineStopped when the engine goes away."""
        while True:
            note = await self._notes.get()
            if note is None:
                self._notes.put_nowait(None)  # for any other reader, and the next call
                if self._failure is not None:
                    raise stopped(self.target)
                return
            yield note

    async def wait_closed(self) -> None:
        """Return once the connection has ended: closed here, or the engine went away."""
        await asyncio.shield(self._reader)

    @property
    def lost(self) -> bool:
        """Whether the engine went away (not closed by this client)."""
        return self._failure is not None

    async def close(self) -> None:
        self._closing = True
        await self._ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                self._dispatch(message)
        except ConnectionClosed:
            pass
        finally:
            if not self._closing:
                self._failure = stopped(self.target)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(stopped(self.target))
            self._notes.put_nowait(None)

    def _dispatch(self, message: str | bytes) -> None:
        try:
            parsed = parse_client_bound(message)
        except ValidationError:
            logger.warning("the engine sent a message that is not of the protocol: %.200r", message)
            return
        if isinstance(parsed, Notification):
            if self._on_notification is not None:
                try:
                    self._on_notification(parsed)
                except Exception:  # one bad notification never ends the connection
                    logger.exception("a notification could not be handled: %.200r", message)
            else:
                self._notes.put_nowait(parsed)
            return
        future = self._pending.get(parsed.id) if parsed.id is not None else None
        if future is not None and not future.done():
            future.set_result(parsed)
