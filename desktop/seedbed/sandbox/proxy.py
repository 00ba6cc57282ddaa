"""The filtering proxy a sandboxed run reaches the network through, outside the sandbox.

It listens on a Unix socket (the only thing the sandbox, which has no network of its own,
can reach). A connection there is either a proxy client itself, or the hand-over of one:
`relay.py`, inside, accepts connections on 127.0.0.1 ports and passes each socket here
(SCM_RIGHTS) with the line `proxy` or `connect HOST:PORT` (tunnel it there, as a CONNECT
would, without the answer line). Only a stream socket is taken. Clients speak HTTP/1.1
proxy: `CONNECT host:port` opens a tunnel (HTTPS, and the relay's forwarded ports), and a
plain-HTTP request with an absolute URI (`GET http://host:port/path`) is forwarded. A host
the allowlist does not name gets a `403` whose one-line body names it, and `on_refused`
is told. Names are resolved here, outside: the sandbox has no DNS.

Bytes go through as they come, never gathered (model answers are SSE streams): once a
connection is let through, each side's transport hands what it receives straight to the
other's (asyncio protocols, not streams: no task wakes per chunk, which made a streamed
answer measurably slower), with the usual flow control both ways.

Each connection carries one request: plain HTTP is forwarded with `Connection: close` both
ways. Keeping it alive would need the proxy to frame every message (chunked bodies, 1xx,
HEAD, 304) to find where the next request starts, and a framing slip there would let a
request for a refused host ride a kept-alive connection to an allowed one; plain HTTP is
the rare path anyway (model APIs are HTTPS, and forwarded ports are tunnels, which stay
open as long as the client keeps them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from seedbed.sandbox.allowlist import Allowlist
from seedbed.sandbox.http_head import (
    BadRequest,
    ProxyRequest,
    authority_text,
    close_response_head,
    parse_request,
    refusal_body,
    response,
)

log = logging.getLogger(__name__)

HEAD_END = b"\r\n\r\n"


class ProxyLimits(BaseModel):
    """How long and how much the proxy waits for before it gives up on a client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    head_bytes: int = 64 * 1024  # a request (or response) line and headers, at most
    head_seconds: float = 10.0  # for a client to send its whole request head
    connect_seconds: float = 15.0  # to resolve and connect to the host asked for


class HeadTooLong(Exception):
    """More than the limit arrived without the blank line that ends a head."""


class _Side(asyncio.Protocol):
    """One end of a proxied connection: the sandbox's, or the host's.

    Until it is joined to the other side it gathers what arrives, for `read_head`; once
    joined, what arrives is written to the other side's transport as it comes, and an end
    of input is passed on as one (a half-close). When both sides have ended their input,
    or either connection is lost, both are closed.
    """

    def __init__(self, head_limit: int, received: bytes = b"") -> None:
        self._head_limit = head_limit
        self.transport: asyncio.Transport | None = None
        self._gathered = bytearray(received)
        self._head_wanted: asyncio.Future[None] | None = None
        self._other: _Side | None = None
        self._input_ended = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._other is not None:
            self._other.write(data)
            return
        self._gathered += data
        if HEAD_END in self._gathered or len(self._gathered) > self._head_limit:
            self._wake()

    def eof_received(self) -> bool:
        self._input_ended = True
        if self._other is None:
            self._wake()
        else:
            self._other.write_eof()
            if self._other._input_ended:
                self.close()
        return True  # the other direction may still have something to say

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self._wake()
        if self._other is not None:
            self._other.close()

    def pause_writing(self) -> None:
        if self._other is not None and self._other.transport is not None:
            self._other.transport.pause_reading()

    def resume_writing(self) -> None:
        if self._other is not None and self._other.transport is not None:
            self._other.transport.resume_reading()

    # -- used by the proxy --

    async def read_head(self) -> bytes:
        """The head (through its blank line); what came after it is kept for `join`.
        Raises HeadTooLong, or ConnectionError when the input ends first."""
        while HEAD_END not in self._gathered:
            if len(self._gathered) > self._head_limit:
                raise HeadTooLong
            if self._input_ended or self.closed.done():
                raise ConnectionError("the connection ended before its head")
            self._head_wanted = asyncio.get_running_loop().create_future()
            try:
                await self._head_wanted
            finally:
                self._head_wanted = None
        end = self._gathered.index(HEAD_END) + len(HEAD_END)
        if end > self._head_limit:
            raise HeadTooLong
        head = bytes(self._gathered[:end])
        del self._gathered[:end]
        return head

    def join(self, other: _Side) -> None:
        """From now on, pass what arrives (and what came after the head) to `other`."""
        self._other = other
        if self._gathered:
            other.write(bytes(self._gathered))
            self._gathered.clear()
        if self._input_ended:
            other.write_eof()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def write_eof(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            if self.transport.can_write_eof():
                self.transport.write_eof()
            else:
                self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _wake(self) -> None:
        if self._head_wanted is not None and not self._head_wanted.done():
            self._head_wanted.set_result(None)


class FilteringProxy:
    """An HTTP/1.1 proxy on a Unix socket that lets through only the allowed hosts.

    `on_refused(host, port)` is called, on the loop, for each refused request. All its
    work runs on the loop that called `start`; `close` ends the listener and every
    connection still open.
    """

    def __init__(
        self,
        allowed: Allowlist,
        on_refused: Callable[[str, int], None],
        limits: ProxyLimits | None = None,
    ) -> None:
        self._allowed = allowed
        self._on_refused = on_refused
        self._limits = limits or ProxyLimits()
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._path: Path | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, unix_path: Path) -> None:
        """Listen on `unix_path` (created with mode 0600, replacing a stale socket)."""
        with contextlib.suppress(FileNotFoundError):
            if unix_path.is_socket():
                unix_path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(unix_path))
            # Before listen(): nobody could connect while the mode was still the umask's.
            os.chmod(unix_path, 0o600)
            listener.listen(128)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self._path = unix_path
        self._accepting = asyncio.get_running_loop().create_task(self._accept_forever())

    async def close(self) -> None:
        tasks = [*self._connections, *([self._accepting] if self._accepting else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._accepting = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
            self._path = None

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._listener is not None
        while True:
            try:
                connection, _ = await loop.sock_accept(self._listener)
            except OSError as error:  # out of file descriptors, say: wait, then serve on
                log.warning("sandbox proxy: cannot accept a connection: %s", error)
                await asyncio.sleep(0.1)
                continue
            task = loop.create_task(self._take(connection))
            self._connections.add(task)
            task.add_done_callback(self._connection_ended)

    def _connection_ended(self, task: asyncio.Task[None]) -> None:
        self._connections.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A bug of ours; the connection is closed, and the proxy serves on.
            log.error("sandbox proxy: a connection failed", exc_info=task.exception())

    async def _take(self, connection: socket.socket) -> None:
        """A connection to the Unix socket: a proxy client itself, or the hand-over of one
        (its first message passes a socket, and says what it wants; see relay.py)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._limits.head_seconds):
                await _readable(loop, connection)
            data, fds, _, _ = socket.recv_fds(connection, self._limits.head_bytes, 1)
        except TimeoutError:
            with contextlib.suppress(OSError):
                connection.send(response("408 Request Timeout", "sandbox proxy: no request\n"))
            connection.close()
            return
        except OSError:
            connection.close()
            return
        if not fds:
            await self._serve(connection, received=data)
            return
        connection.close()
        try:
            handed = socket.socket(fileno=fds[0])
        except OSError:
            os.close(fds[0])
            return
        if handed.type != socket.SOCK_STREAM or not data.endswith(b"\n"):
            handed.close()
            return
        word, _, target = data.decode("latin-1").strip().partition(" ")
        await self._serve(handed, tunnel_to=target if word == "connect" else None)

    async def _serve(
        self, sock: socket.socket, received: bytes = b"", tunnel_to: str | None = None
    ) -> None:
        """Serve one client: `received` is what it sent already; `tunnel_to`, a host:port
        it is to be tunnelled to as if it had asked with CONNECT (without the answer)."""
        loop = asyncio.get_running_loop()
        limit = self._limits.head_bytes
        try:
            _, client = await loop.connect_accepted_socket(lambda: _Side(limit, received), sock)
        except OSError:
            sock.close()
            return
        upstream: _Side | None = None
        try:
            upstream = await self._handle(client, tunnel_to)
            if upstream is None:
                return  # answered by the proxy itself, and closed
            await client.closed
            await upstream.closed
        except ConnectionError:
            pass  # the client left: nothing to tell anyone
        finally:
            client.close()
            if upstream is not None:
                upstream.close()

    async def _handle(self, client: _Side, tunnel_to: str | None) -> _Side | None:
        """Read the request and answer it: the host's side when it went through."""
        limits = self._limits
        try:
            if tunnel_to is not None:
                head = f"CONNECT {tunnel_to} HTTP/1.1\r\n\r\n".encode("latin-1")
            else:
                async with asyncio.timeout(limits.head_seconds):
                    head = await client.read_head()
        except TimeoutError:
            client.write(response("408 Request Timeout", "sandbox proxy: no request in time\n"))
            return None
        except HeadTooLong:
            client.write(response("431 Request Header Fields Too Large", "too long a head\n"))
            return None
        try:
            request = parse_request(head)
        except BadRequest as error:
            client.write(response("400 Bad Request", f"sandbox proxy: {error}\n"))
            return None
        if not self._allowed.allows(request.host, request.port):
            self._refused(request.host, request.port)
            client.write(response("403 Forbidden", refusal_body(request.host, request.port)))
            return None
        try:
            upstream = await self._connect(request)
        except (OSError, TimeoutError) as error:
            where = authority_text(request.host, request.port)
            reason = str(error) or type(error).__name__
            client.write(response("502 Bad Gateway", f"sandbox proxy: {where}: {reason}\n"))
            return None
        if request.method == "CONNECT" and tunnel_to is None:
            client.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            upstream.write(request.upstream_head)
        client.join(upstream)
        if request.method != "CONNECT":
            try:
                answer_head = await upstream.read_head()
            except HeadTooLong:
                return upstream  # a response we cannot pass on: the client sees the end
            client.write(close_response_head(answer_head))
        upstream.join(client)
        return upstream

    async def _connect(self, request: ProxyRequest) -> _Side:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._limits.connect_seconds):
            transport, upstream = await loop.create_connection(
                lambda: _Side(self._limits.head_bytes), request.host, request.port
            )
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return upstream

    def _refused(self, host: str, port: int) -> None:
        try:
            self._on_refused(host, port)
        except Exception:  # the caller's bug must not end the proxy
            log.exception("on_refused failed for %s", authority_text(host, port))


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())
