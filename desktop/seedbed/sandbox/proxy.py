"""The filtering proxy a sandboxed run reaches the network through, outside the sandbox.

It listens on a Unix socket (the only thing the sandbox, which has no network of its own,
can reach; `relay.py` inside turns it back into 127.0.0.1 ports) and speaks HTTP/1.1
proxy: `CONNECT host:port` opens a tunnel (HTTPS, and the relay's forwarded ports), and a
plain-HTTP request with an absolute URI (`GET http://host:port/path`) is forwarded. A host
the allowlist does not name gets a `403` whose one-line body names it, and `on_refused`
is told. Names are resolved here, outside: the sandbox has no DNS.

Bytes go through as they come, never gathered (model answers are SSE streams). Each
connection carries one request: plain HTTP is forwarded with `Connection: close` both
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

from seedbed.sandbox.allowlist import Allowlist, split_host_port

log = logging.getLogger(__name__)

PIPE_BYTES = 64 * 1024
# Hop-by-hop headers (RFC 9110 7.6.1) and the proxy's own: never passed on. (Transfer-Encoding
# stays: the body goes through as it is, framed as the client framed it.)
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "upgrade",
}


class ProxyLimits(BaseModel):
    """How long and how much the proxy waits for before it gives up on a client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    head_bytes: int = 64 * 1024  # a request (or response) line and headers, at most
    head_seconds: float = 10.0  # for a client to send its whole request head
    connect_seconds: float = 15.0  # to resolve and connect to the host asked for


class ProxyRequest(BaseModel):
    """A parsed request head: where it goes, and (plain HTTP) the head to send there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str
    host: str  # no brackets around an IPv6 literal
    port: int
    upstream_head: bytes = b""  # empty for CONNECT


class BadRequest(ValueError):
    """A request the proxy cannot serve; its text is the 400's body."""


def parse_request(head: bytes) -> ProxyRequest:
    """The request `head` (request line and headers, through the blank line) asks for.
    For plain HTTP, `upstream_head` is the head rewritten for the origin server: origin-form
    target, Host from the URI, hop-by-hop headers dropped, `Connection: close`."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"not an HTTP/1.x request line: {lines[0][:200]!r}")
    method, target, version = parts
    if method == "CONNECT":
        host, port = _authority(target)
        return ProxyRequest(method=method, host=host, port=port or 443)
    scheme, sep, rest = target.partition("://")
    if not sep or scheme.lower() != "http":
        raise BadRequest(
            f"a proxy request needs an absolute http:// URI (https goes through CONNECT),"
            f" not {target[:200]!r}"
        )
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, path = rest[:end], rest[end:]
    host, port = _authority(authority)
    if not path.startswith("/"):
        path = "/" + path
    headers = _headers(lines[1:])
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() not in HOP_BY_HOP | named | {"host"}
    ]
    out = [f"{method} {path} {version}", f"Host: {authority}"]
    out += [f"{name}: {value}" for name, value in kept]
    out += ["Connection: close", "", ""]
    return ProxyRequest(
        method=method, host=host, port=port or 80, upstream_head="\r\n".join(out).encode("latin-1")
    )


def close_response_head(head: bytes) -> bytes:
    """An origin server's response head with its connection headers replaced by
    `Connection: close` (the proxy ends the connection after this response)."""
    lines = head.decode("latin-1").split("\r\n")
    headers = _headers(lines[1:])
    kept = [(n, v) for n, v in headers if n.lower() not in {"connection", "keep-alive"}]
    out = [lines[0], *(f"{name}: {value}" for name, value in kept), "Connection: close", "", ""]
    return "\r\n".join(out).encode("latin-1")


def refusal_body(host: str, port: int) -> str:
    return f"sandbox: refused connect to {_authority_text(host, port)}: not an allowed host\n"


def _authority(text: str) -> tuple[str, int | None]:
    if not text or "@" in text:
        raise BadRequest(f"no host (or a user name in it): {text[:200]!r}")
    try:
        host, port = split_host_port(text)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    if not host or any(c.isspace() or c in "/\\%" for c in host):
        raise BadRequest(f"not a host: {host[:200]!r}")
    return host, port


def _authority_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _headers(lines: list[str]) -> list[tuple[str, str]]:
    headers = []
    for line in lines:
        if not line:
            continue
        if line[0] in " \t":
            raise BadRequest("a folded header line (obsolete, refused)")
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"a header line without a name: {line[:200]!r}")
        headers.append((name, value.strip()))
    return headers


def _response(status: str, body: str) -> bytes:
    data = body.encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(data)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + data


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
        self._server: asyncio.AbstractServer | None = None
        self._path: Path | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, unix_path: Path) -> None:
        """Listen on `unix_path` (created with mode 0600, replacing a stale socket)."""
        with contextlib.suppress(FileNotFoundError):
            if unix_path.is_socket():
                unix_path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(unix_path))
            # Before listen(): nobody could connect while the mode was still the umask's.
            os.chmod(unix_path, 0o600)
            self._server = await asyncio.start_unix_server(
                self._serve, sock=sock, limit=self._limits.head_bytes
            )
        except BaseException:
            sock.close()
            raise
        self._path = unix_path

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
            self._path = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # either side left: nothing to tell anyone
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        limits = self._limits
        try:
            async with asyncio.timeout(limits.head_seconds):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            writer.write(_response("408 Request Timeout", "sandbox proxy: no request in time\n"))
            return
        except asyncio.LimitOverrunError:
            writer.write(_response("431 Request Header Fields Too Large", "too long a head\n"))
            return
        try:
            request = parse_request(head)
        except BadRequest as error:
            writer.write(_response("400 Bad Request", f"sandbox proxy: {error}\n"))
            return
        if not self._allowed.allows(request.host, request.port):
            self._refused(request.host, request.port)
            writer.write(_response("403 Forbidden", refusal_body(request.host, request.port)))
            return
        try:
            async with asyncio.timeout(limits.connect_seconds):
                up_reader, up_writer = await asyncio.open_connection(
                    request.host, request.port, limit=limits.head_bytes
                )
        except (OSError, TimeoutError) as error:
            where = _authority_text(request.host, request.port)
            reason = str(error) or type(error).__name__
            writer.write(_response("502 Bad Gateway", f"sandbox proxy: {where}: {reason}\n"))
            return
        try:
            await self._exchange(request, reader, writer, up_reader, up_writer)
        finally:
            up_writer.close()

    async def _exchange(
        self,
        request: ProxyRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        _no_delay(up_writer)
        if request.method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await _pipe_both(reader, writer, up_reader, up_writer)
            return
        up_writer.write(request.upstream_head)
        outbound = asyncio.create_task(_pump(reader, up_writer))
        try:
            head = await up_reader.readuntil(b"\r\n\r\n")
            writer.write(close_response_head(head))
            await _pump(up_reader, writer)
        except (asyncio.LimitOverrunError, asyncio.IncompleteReadError):
            pass  # a response we cannot pass on: the client sees the connection end
        finally:
            outbound.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outbound

    def _refused(self, host: str, port: int) -> None:
        try:
            self._on_refused(host, port)
        except Exception:  # the caller's bug must not end the proxy
            log.exception("on_refused failed for %s", _authority_text(host, port))


def _no_delay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _pipe_both(
    a_reader: asyncio.StreamReader,
    a_writer: asyncio.StreamWriter,
    b_reader: asyncio.StreamReader,
    b_writer: asyncio.StreamWriter,
) -> None:
    """Bytes both ways until both sides have finished (or either breaks)."""
    await asyncio.gather(_pump(a_reader, b_writer), _pump(b_reader, a_writer))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Pass what `reader` gets to `writer` as it comes; at its end, half-close `writer`.
    A side that breaks closes the other, so the pump the other way ends too."""
    try:
        while data := await reader.read(PIPE_BYTES):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()
