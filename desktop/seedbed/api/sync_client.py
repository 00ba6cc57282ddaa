"""The blocking client of the engine's API (the command line; any plain thread).

websockets' sync client keeps the connection alive (pings) on a thread of its own; this
class adds the calls. A call sends its request and reads until its response arrives;
notifications read meanwhile wait in a queue for `receive()`. One lock makes a client
usable from several threads, one call at a time.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect, unix_connect

from seedbed.api.endpoint import TcpEndpoint, UnixEndpoint
from seedbed.api.handshake import (
    OPEN_TIMEOUT,
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
    Hello,
    Notification,
    Subscribed,
    parse_client_bound,
)


class SyncClient:
    """A blocking connection to the engine of a data dir: `SyncClient.connect(...)`."""

    def __init__(self, ws: ClientConnection, target: Target) -> None:
        self.target = target
        self._ws = ws
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._notes: deque[Notification] = deque()

    @classmethod
    def connect(
        cls,
        data_dir: Path,
        *,
        endpoint: UnixEndpoint | TcpEndpoint | None = None,
        token: str | None = None,
        client_name: str = "command",
        protocol: int = PROTOCOL_VERSION,
        open_timeout: float = OPEN_TIMEOUT,
    ) -> SyncClient:
        """Connect to the engine of `data_dir` (or at `endpoint`). Raises
        EngineUnavailable when none answers, EngineNotAnswering when it does not answer
        the handshake within `open_timeout` s, ProtocolMismatch, AccessRefused."""
        target = target_for(
            data_dir,
            endpoint=endpoint,
            token=token,
            client_name=client_name,
            protocol=protocol,
            open_timeout=open_timeout,
        )
        with connecting(target):
            if isinstance(target.endpoint, UnixEndpoint):
                ws = unix_connect(
                    str(target.endpoint.path), target.uri, legacy=True, **target.options()
                )
            else:
                ws = connect(target.uri, legacy=True, **target.options())
        return cls(ws, target)

    def call(
        self,
        verb: str,
        params: BaseModel | dict[str, Any] | None = None,
        result: Any = None,
        timeout: float | None = None,
        waiting: Callable[[float], None] | None = None,
        every: float = 10.0,
    ) -> Any:
        """Call `verb` and wait for its result (validated as `result` when given). Raises
        the verb's own error again with its sentence; TimeoutError when no answer came
        within `timeout` s (the call may still go on in the engine). `waiting(seconds)`
        is told every `every` s while the answer has not come."""
        with self._lock:
            request_id = next(self._ids)
            started = time.monotonic()
            deadline = None if timeout is None else started + timeout
            note_at = started + every if waiting is not None else None
            try:
                self._ws.send(request_text(request_id, verb, params))
                while True:
                    ends = [t for t in (deadline, note_at) if t is not None]
                    try:
                        text = self._ws.recv(
                            max(0.0, min(ends) - time.monotonic()) if ends else None
                        )
                    except TimeoutError:
                        now = time.monotonic()
                        if deadline is not None and now >= deadline:
                            raise
                        if waiting is not None and note_at is not None and now >= note_at:
                            waiting(now - started)
                            note_at += every
                        continue
                    message = parse_client_bound(text)
                    if isinstance(message, Notification):
                        self._notes.append(message)
                    elif message.id == request_id:
                        break
            except ConnectionClosed:
                raise stopped(self.target) from None
        return reply_value(message, result)

    def hello(self) -> Hello:
        return Hello.model_validate(self.call(HELLO))

    def subscribe(self, topics: Iterable[str]) -> list[str]:
        return Subscribed.model_validate(self.call(SUBSCRIBE, {"topics": list(topics)})).topics

    def unsubscribe(self, topics: Iterable[str]) -> list[str]:
        return Subscribed.model_validate(self.call(UNSUBSCRIBE, {"topics": list(topics)})).topics

    def receive(self, timeout: float | None = None) -> Notification:
        """The next notification; TimeoutError when none comes within `timeout` s,
        EngineStopped when the engine goes away. While it waits, other threads' calls on
        this client wait too: give a timeout when threads share it."""
        with self._lock:
            if self._notes:
                return self._notes.popleft()
            try:
                while True:
                    message = parse_client_bound(self._ws.recv(timeout))
                    if isinstance(message, Notification):
                        return message
            except ConnectionClosed:
                raise stopped(self.target) from None

    def notifications(self, timeout: float | None = None) -> Iterator[Notification]:
        """Notifications as they come, until none comes within `timeout` s."""
        while True:
            try:
                yield self.receive(timeout)
            except TimeoutError:
                return

    def close(self) -> None:
        self._ws.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
