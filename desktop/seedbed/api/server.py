"""The engine's side of the API: a WebSocket server that answers the registry's verbs and
pushes published events to subscribed clients.

It runs on the engine's asyncio loop. Each request runs in a task of its own, so a slow
verb never holds up another call of the same client; a blocking verb runs on a worker
thread (see registry.py). `publish` may be called from any thread and never waits.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hmac
import json
import logging
import os
import threading
from http import HTTPStatus
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from websockets.asyncio.server import Server, ServerConnection, serve, unix_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse

from seedbed import __version__
from seedbed.api.endpoint import SOCKET_NAME, TcpEndpoint, UnixEndpoint, new_token, write_endpoint
from seedbed.api.errors import error_for, invalid_params, unknown_verb
from seedbed.api.hub import Hub, Subscriber
from seedbed.api.protocol import (
    HELLO,
    MAX_MESSAGE_BYTES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    SUBSCRIBE,
    TOKEN_HEADER,
    UNSUBSCRIBE,
    ErrorCode,
    ErrorData,
    ErrorKind,
    ErrorObject,
    ErrorResponse,
    Hello,
    NoParams,
    Request,
    Response,
    Subscribed,
    Topics,
    subprotocol,
)
from seedbed.api.registry import Registry
from seedbed.api.socket_path import bind_unix, socket_path, unlink_if_ours

logger = logging.getLogger("seedbed.api")

# Events a client may have waiting before it is told it missed some.
QUEUE_LIMIT = 10_000


class ApiServer:
    """Serves `registry` for the engine of `data_dir` on a Unix socket or on TCP.

    `token`: when set (always for TCP), a client must present it in its handshake.
    `protocol`: the version spoken (tests set another to see a mismatch)."""

    def __init__(
        self,
        registry: Registry,
        data_dir: Path,
        *,
        token: str | None = None,
        protocol: int = PROTOCOL_VERSION,
        engine_version: str = __version__,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self.registry = registry
        self.data_dir = data_dir
        self.token = token
        self.protocol = protocol
        self.engine_version = engine_version
        self.queue_limit = queue_limit
        self.endpoint: UnixEndpoint | TcpEndpoint | None = None
        self._hub = Hub()
        self._server: Server | None = None
        self._socket_inode: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._calls: set[asyncio.Task[None]] = set()
        # How many times a client subscribed to each topic (a window: to "tasks").
        self.subscriptions: collections.Counter[str] = collections.Counter()
        self.subscribed_to = asyncio.Event()  # set at each subscription (on the loop)

    # -- listening ---------------------------------------------------------------------

    async def serve_unix(self, path: Path | None = None) -> UnixEndpoint:
        """Listen on `path` (default: the data dir's engine socket, or its short stand-in)."""
        path = path or socket_path(self.data_dir)
        sock = bind_unix(path, self.data_dir)
        self._socket_inode = os.stat(path).st_ino
        self._server = await unix_serve(self._connection, sock=sock, **self._options())
        self.endpoint = UnixEndpoint(path=path)
        default = path == self.data_dir / SOCKET_NAME
        write_endpoint(self.data_dir, None if default else self.endpoint)
        self._remember_loop()
        return self.endpoint

    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> TcpEndpoint:
        """Listen on TCP (loopback) with a token. None given: a new one, written in the
        data dir for clients to read; one given is the caller's to hand out."""
        if self.token is None:
            self.token = new_token(self.data_dir)
        self._server = await serve(self._connection, host, port, **self._options())
        bound = self._server.sockets[0].getsockname()
        self.endpoint = TcpEndpoint(host=bound[0], port=bound[1])
        write_endpoint(self.data_dir, self.endpoint)
        self._remember_loop()
        return self.endpoint

    def _options(self) -> dict[str, Any]:
        return {
            "subprotocols": [subprotocol(self.protocol)],
            "process_request": self._check_handshake,
            "compression": None,  # a local socket: deflate would only cost CPU
            "max_size": MAX_MESSAGE_BYTES,
            "server_header": None,
            # Closing waits this long for a client to answer the close; one that stopped
            # reading never will, and the engine's exit must not wait on it.
            "close_timeout": 2,
        }

    def _remember_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    async def close(self) -> None:
        """Stop listening, close every connection, remove the socket file if still ours."""
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        for call in list(self._calls):
            call.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        if isinstance(self.endpoint, UnixEndpoint) and self._socket_inode is not None:
            unlink_if_ours(self.endpoint.path, self._socket_inode)
        self._server = None

    # -- pushing -----------------------------------------------------------------------

    def client_count(self) -> int:
        """Clients connected now (on the server's loop)."""
        return len(self._hub)

    def subscriber_count(self, topic: str) -> int:
        """Clients subscribed to `topic` now (any thread: a snapshot)."""
        return self._hub.subscribed(topic)

    def publish(self, topic: str, payload: Any = None) -> None:
        """Send `payload` (JSON-able or a pydantic model) to the clients subscribed to
        `topic`. Never waits; callable from any thread."""
        if self._loop is None or self._loop.is_closed():
            return  # not serving: nobody can be subscribed
        if threading.get_ident() == self._loop_thread:
            self._hub.publish(topic, payload)
        else:
            self._loop.call_soon_threadsafe(self._hub.publish, topic, payload)

    # -- one connection ----------------------------------------------------------------

    def _check_handshake(
        self, connection: ServerConnection, request: HttpRequest
    ) -> HttpResponse | None:
        """Refuse, with a plain HTTP answer the client words, a wrong token or a protocol
        this engine does not speak (WebSocket's subprotocol `seedbed.v<N>`)."""
        if self.token is not None:
            offered = request.headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(offered.encode(), self.token.encode()):
                return connection.respond(HTTPStatus.UNAUTHORIZED, "wrong or missing token\n")
        if subprotocol(self.protocol) in offered_subprotocols(request.headers):
            return None
        response = connection.respond(
            HTTPStatus.UPGRADE_REQUIRED, f"this engine speaks protocol {self.protocol}\n"
        )
        response.headers[PROTOCOL_HEADER] = str(self.protocol)
        return response

    async def _connection(self, ws: ServerConnection) -> None:
        subscriber = Subscriber(ws.send, self.queue_limit)
        self._hub.add(subscriber)
        pump = asyncio.create_task(self._pump(subscriber))
        try:
            async for message in ws:
                # A call outlives its client: a verb half done must finish (an approve
                # whose CLI was killed still merges); its answer is dropped.
                call = asyncio.create_task(self._answer(ws, subscriber, message))
                self._calls.add(call)
                call.add_done_callback(self._calls.discard)
        except ConnectionClosed:
            pass
        finally:
            self._hub.remove(subscriber)
            pump.cancel()

    @staticmethod
    async def _pump(subscriber: Subscriber) -> None:
        with contextlib.suppress(ConnectionClosed):
            await subscriber.pump()

    async def _answer(self, ws: ServerConnection, subscriber: Subscriber, message: Any) -> None:
        reply = await self.reply(subscriber, message)
        if reply is not None:
            with contextlib.suppress(ConnectionClosed):
                await ws.send(reply.model_dump_json())

    async def reply(
        self, subscriber: Subscriber, message: str | bytes
    ) -> Response | ErrorResponse | None:
        """The answer to one message; None for a JSON-RPC notification (nothing to answer)."""
        try:
            data = json.loads(message)
        except ValueError:
            return ErrorResponse(id=None, error=protocol_error(ErrorCode.PARSE_ERROR, "not JSON"))
        try:
            request = Request.model_validate(data)
        except ValidationError:
            if isinstance(data, dict) and "id" not in data and "method" in data:
                return None
            request_id = data.get("id") if isinstance(data, dict) else None
            return ErrorResponse(
                id=request_id if isinstance(request_id, int | str) else None,
                error=protocol_error(ErrorCode.INVALID_REQUEST, "not a JSON-RPC 2.0 request"),
            )
        outcome = await self._dispatch(subscriber, request)
        if isinstance(outcome, ErrorObject):
            return ErrorResponse(id=request.id, error=outcome)
        return Response(id=request.id, result=outcome)

    async def _dispatch(self, subscriber: Subscriber, request: Request) -> Any:
        """The JSON result of the request, or the ErrorObject that refuses it."""
        name = request.method
        if name in (HELLO, SUBSCRIBE, UNSUBSCRIBE):
            try:
                return self._builtin(subscriber, name, request.params).model_dump(mode="json")
            except ValidationError as exc:
                return invalid_params(name, exc)
        verb = self.registry.get(name)
        if verb is None:
            return unknown_verb(name)
        try:
            params = verb.params.model_validate(request.params)
        except ValidationError as exc:
            return invalid_params(name, exc)
        try:
            return await verb.run(params)
        except Exception as exc:
            error = error_for(exc, name)
            if error.data.kind is ErrorKind.INTERNAL:
                logger.error("verb %s failed", name, exc_info=exc)
            return error

    def _builtin(self, subscriber: Subscriber, name: str, params: dict[str, Any]) -> BaseModel:
        if name == HELLO:
            NoParams.model_validate(params)
            return Hello(
                engine_version=self.engine_version,
                protocol=self.protocol,
                data_dir=str(self.data_dir),
                pid=os.getpid(),
            )
        topics = Topics.model_validate(params).topics
        if name == SUBSCRIBE:
            subscriber.topics.update(topics)
            self.subscriptions.update(topics)
            self.subscribed_to.set()
        else:
            subscriber.topics.difference_update(topics)
        return Subscribed(topics=sorted(subscriber.topics))


def offered_subprotocols(headers: Headers) -> set[str]:
    return {
        name.strip()
        for header in headers.get_all("Sec-WebSocket-Protocol")
        for name in header.split(",")
    }


def protocol_error(code: ErrorCode, what: str) -> ErrorObject:
    return ErrorObject(
        code=code,
        message=f"the engine received a message that is {what}",
        data=ErrorData(kind=ErrorKind.INTERNAL),
    )
