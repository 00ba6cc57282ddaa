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
import ipaddress
import logging
import os
import socket
import threading
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
PUMP_BYTES = 256 * 1024  # read at most this much at a time, each way


class ProxyLimits(BaseModel):
    """How long and how much the proxy waits for before it gives up on a client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    head_bytes: int = 64 * 1024  # a request (or response) line and headers, at most
    head_seconds: float = 10.0  # for a client to send its whole request head
    connect_seconds: float = 15.0  # to resolve and connect to the host asked for


class HeadTooLong(Exception):
    """More than the limit arrived without the blank line that ends a head."""


class InwardAddress(Exception):
    """An allowed name resolved only to addresses of this machine or its link."""


def inward(address: str) -> bool:
    """Whether `address` is this machine's or its link's own (loopback, link-local, the
    cloud metadata service among them, unspecified, multicast): reached through a name,
    never (a name's owner could point it there: DNS rebinding)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast


def named(host: str) -> bool:
    """Whether `host` is a name (not an address literal, nor `localhost`, which names
    this machine on purpose)."""
    if host.lower() == "localhost":
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


async def _read_head(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, gathered: bytearray, limit: int
) -> bytes:
    """The head (through its blank line) of what `sock` sends, `gathered` holding what
    came already; what came after the head is left in `gathered`. Raises HeadTooLong, or
    ConnectionError when the input ends first."""
    while HEAD_END not in gathered:
        if len(gathered) > limit:
            raise HeadTooLong
        data = await loop.sock_recv(sock, PUMP_BYTES)
        if not data:
            raise ConnectionError("the connection ended before its head")
        gathered += data
    end = gathered.index(HEAD_END) + len(HEAD_END)
    if end > limit:
        raise HeadTooLong
    head = bytes(gathered[:end])
    del gathered[:end]
    return head


class _Pipe:
    """A connection let through: the client's socket and the host's, each direction
    carried by a thread of its own with blocking calls (`recv_into`, `sendall`) from then
    on. A thread that waits in `recv` wakes with the bytes, no event loop in between: a
    streamed answer's chunk costs two system calls and a few lines of Python, where an
    asyncio protocol cost a loop turn, a callback and a transport write each (the
    benchmark's per-chunk overhead halved). An end of input is passed on as one (a
    half-close); an error either way ends both. The threads own the sockets: the last one
    out closes them; `stop` wakes them.

    A plain-HTTP response's head is rewritten on its way back (`Connection: close`): the
    host's thread reads it first, then carries the rest.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: socket.socket,
        upstream: socket.socket,
        head_limit: int,
        rewrite_response_head: bool,
    ) -> None:
        self._client = client
        self._upstream = upstream
        self._head_limit = head_limit
        self._lock = threading.Lock()
        self._running = 2
        self.done: asyncio.Future[None] = loop.create_future()
        self._loop = loop
        for sock in (client, upstream):
            sock.setblocking(True)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                # Each chunk goes out as it comes (Nagle would hold a small one back
                # until the last was acknowledged: 40 ms with delayed ACKs).
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(
            target=self._carry, args=(client, upstream, False), daemon=True,
            name="sandbox-proxy-out",
        ).start()  # fmt: skip
        threading.Thread(
            target=self._carry, args=(upstream, client, rewrite_response_head), daemon=True,
            name="sandbox-proxy-in",
        ).start()  # fmt: skip

    def stop(self) -> None:
        """End both directions now (the threads wake, close the sockets and end)."""
        for sock in (self._client, self._upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _carry(self, source: socket.socket, sink: socket.socket, head_first: bool) -> None:
        buffer = bytearray(PUMP_BYTES)
        view = memoryview(buffer)
        try:
            if head_first and not self._pass_response_head(source, sink, buffer):
                self.stop()
                return
            while True:
                count = source.recv_into(buffer)
                if count == 0:
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(view[:count])
        except OSError:
            self.stop()
        finally:
            view.release()
            self._ended()

    def _pass_response_head(
        self, source: socket.socket, sink: socket.socket, buffer: bytearray
    ) -> bool:
        """Read the host's response head, send it on with `Connection: close`, and what
        came after it; False when there is none to pass on (too long, or the end)."""
        gathered = bytearray()
        while HEAD_END not in gathered:
            if len(gathered) > self._head_limit:
                return False  # a response we cannot pass on: the client sees the end
            count = source.recv_into(buffer)
            if count == 0:
                return False
            gathered += buffer[:count]
        end = gathered.index(HEAD_END) + len(HEAD_END)
        if end > self._head_limit:
            return False
        sink.sendall(close_response_head(bytes(gathered[:end])) + gathered[end:])
        return True

    def _ended(self) -> None:
        with self._lock:
            self._running -= 1
            last = self._running == 0
        if last:
            self._client.close()
            self._upstream.close()
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                self._loop.call_soon_threadsafe(self._finish)

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


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
        pipe: _Pipe | None = None
        try:
            sock.setblocking(False)
            pipe = await self._handle(sock, bytearray(received), tunnel_to)
            if pipe is not None:
                await asyncio.shield(pipe.done)
        except ConnectionError:
            pass  # the client left: nothing to tell anyone
        except OSError as error:
            log.debug("sandbox proxy: a client's connection failed: %s", error)
        finally:
            if pipe is not None:
                pipe.stop()  # its threads close the sockets
            else:
                sock.close()

    async def _handle(
        self, client: socket.socket, gathered: bytearray, tunnel_to: str | None
    ) -> _Pipe | None:
        """Read the request and answer it: the pipe carrying it when it went through."""
        loop = asyncio.get_running_loop()
        limits = self._limits
        try:
            if tunnel_to is not None:
                head = f"CONNECT {tunnel_to} HTTP/1.1\r\n\r\n".encode("latin-1")
            else:
                async with asyncio.timeout(limits.head_seconds):
                    head = await _read_head(loop, client, gathered, limits.head_bytes)
        except TimeoutError:
            await _answer(
                loop, client, "408 Request Timeout", "sandbox proxy: no request in time\n"
            )
            return None
        except HeadTooLong:
            await _answer(loop, client, "431 Request Header Fields Too Large", "too long a head\n")
            return None
        try:
            request = parse_request(head)
        except BadRequest as error:
            await _answer(loop, client, "400 Bad Request", f"sandbox proxy: {error}\n")
            return None
        where = authority_text(request.host, request.port)
        if not self._allowed.allows(request.host, request.port):
            self._refused(request.host, request.port)
            await _answer(loop, client, "403 Forbidden", refusal_body(request.host, request.port))
            return None
        try:
            upstream = await self._connect(request)
        except InwardAddress as error:
            self._refused(request.host, request.port)
            body = f"sandbox: refused connect to {where}: {error}\n"
            await _answer(loop, client, "403 Forbidden", body)
            return None
        except (OSError, TimeoutError) as error:
            reason = str(error) or type(error).__name__
            await _answer(loop, client, "502 Bad Gateway", f"sandbox proxy: {where}: {reason}\n")
            return None
        try:
            if request.method == "CONNECT" and tunnel_to is None:
                await loop.sock_sendall(client, b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                await loop.sock_sendall(upstream, request.upstream_head)
            if gathered:  # what the client sent after its head: a body, a TLS hello
                await loop.sock_sendall(upstream, bytes(gathered))
        except BaseException:
            upstream.close()
            raise
        plain = request.method != "CONNECT"
        return _Pipe(loop, client, upstream, limits.head_bytes, rewrite_response_head=plain)

    async def _connect(self, request: ProxyRequest) -> socket.socket:
        """A socket connected to the host asked for, on one of its addresses; a name
        that resolves only to this machine's or its link's own raises InwardAddress."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._limits.connect_seconds):
            found = await loop.getaddrinfo(
                request.host, request.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
            if named(request.host):
                kept = [info for info in found if not inward(str(info[4][0]))]
                if found and not kept:
                    raise InwardAddress(
                        f"it resolves to {found[0][4][0]}, an address of this machine or its"
                        " link, which only an address (or localhost) in the allowed hosts"
                        " may reach"
                    )
                found = kept
            failure: OSError = OSError(f"no address for {request.host}")
            for family, kind, proto, _, address in found:
                sock = socket.socket(family, kind, proto)
                try:
                    sock.setblocking(False)
                    await loop.sock_connect(sock, address)
                except OSError as error:
                    sock.close()
                    failure = error
                    continue
                except BaseException:
                    sock.close()
                    raise
                return sock
            raise failure

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


async def _answer(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, status: str, body: str
) -> None:
    """The proxy's own short answer (the caller closes the connection after it)."""
    with contextlib.suppress(OSError):
        await loop.sock_sendall(sock, response(status, body))
