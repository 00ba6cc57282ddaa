"""What both clients share: where to connect, what to offer, how a refusal is worded,
and how a request is written and its reply read (pure; the clients do the I/O).

The engine refuses a handshake with plain HTTP: 426 with the protocol it speaks in a
header, 401 for a wrong token. The client, which knows its own version and what it is
(a window, a command), turns that into one sentence saying what to restart.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from seedbed.api.endpoint import (
    TOKEN_NAME,
    TcpEndpoint,
    UnixEndpoint,
    describe,
    read_endpoint,
    read_token,
)
from seedbed.api.errors import (
    AccessRefused,
    EngineNotAnswering,
    EngineStopped,
    EngineUnavailable,
    ProtocolMismatch,
    exception_for,
)
from seedbed.api.protocol import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    TOKEN_HEADER,
    ErrorResponse,
    Request,
    Response,
    subprotocol,
)
from seedbed.domain.errors import SeedbedError

OPEN_TIMEOUT = 10.0


@dataclass(frozen=True)
class Target:
    """The engine a client connects to, and what the client says about itself."""

    data_dir: Path
    endpoint: UnixEndpoint | TcpEndpoint
    token: str | None
    client_name: str  # "window", "command": how a sentence names this client
    protocol: int
    open_timeout: float = OPEN_TIMEOUT  # for the engine's answer to the handshake

    @property
    def uri(self) -> str:
        if isinstance(self.endpoint, TcpEndpoint):
            return f"ws://{self.endpoint.host}:{self.endpoint.port}/"
        return "ws://localhost/"

    def options(self) -> dict[str, Any]:
        """Keyword arguments for websockets' connect, async and sync alike."""
        headers = {TOKEN_HEADER: self.token} if self.token else {}
        return {
            "subprotocols": [subprotocol(self.protocol)],
            "additional_headers": headers,
            "compression": None,
            "max_size": MAX_MESSAGE_BYTES,
            "open_timeout": self.open_timeout,
            "proxy": None,  # never through an HTTP proxy of the environment
        }


def target_for(
    data_dir: Path,
    *,
    endpoint: UnixEndpoint | TcpEndpoint | None = None,
    token: str | None = None,
    client_name: str = "client",
    protocol: int = PROTOCOL_VERSION,
    open_timeout: float = OPEN_TIMEOUT,
) -> Target:
    """The engine of `data_dir`, where it says it listens unless `endpoint` is given (a
    socket forwarded from another machine); for TCP, the token it wrote unless given."""
    endpoint = endpoint or read_endpoint(data_dir)
    if token is None and isinstance(endpoint, TcpEndpoint):
        token = read_token(data_dir)
    return Target(data_dir, endpoint, token, client_name, protocol, open_timeout)


# What connecting raises when the engine cannot be reached or refuses the handshake.
# ConnectionClosed: an engine stopping closed it while it was being opened.
CONNECT_ERRORS = (OSError, TimeoutError, InvalidHandshake, ConnectionClosed)


@contextmanager
def connecting(target: Target) -> Iterator[None]:
    """Around opening the connection (awaited or not): a failure to reach the engine or
    a refused handshake raised as the one sentence that says why (connect_error)."""
    try:
        yield
    except CONNECT_ERRORS as exc:
        raise connect_error(exc, target) from None


def connect_error(exc: BaseException, target: Target) -> SeedbedError:
    """The one sentence for a connection that failed (one of CONNECT_ERRORS) before it
    was open."""
    where = target.data_dir
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status == HTTPStatus.UPGRADE_REQUIRED:
            theirs = exc.response.headers.get(PROTOCOL_HEADER, "")
            if theirs.isdigit():
                return mismatch(target, int(theirs))
        if status == HTTPStatus.UNAUTHORIZED:
            return AccessRefused(
                f"the engine of {where} refused this {target.client_name}'s token "
                f"(it is in {where / TOKEN_NAME} on the engine's machine)"
            )
        return EngineUnavailable(f"the engine of {where} refused the connection: HTTP {status}")
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        return EngineUnavailable(f"no engine is running for {where}")
    if isinstance(exc, ConnectionClosed):
        return EngineUnavailable(
            f"the engine of {where} closed the connection as it was being opened: it is stopping"
        )
    if isinstance(exc, TimeoutError):
        # Something accepted the connection and then said nothing: a hung engine (or a
        # forwarding to one), which is not "no engine": nothing may run in its stead.
        return EngineNotAnswering(
            f"the engine at {describe(target.endpoint)} accepted the connection but did not "
            f"answer within {target.open_timeout:g} s: it may be hung"
        )
    return EngineUnavailable(
        f"cannot reach the engine of {where} at {describe(target.endpoint)}: {exc}"
    )


def mismatch(target: Target, theirs: int) -> ProtocolMismatch:
    ours, name, where = target.protocol, target.client_name, target.data_dir
    if ours > theirs:
        return ProtocolMismatch(
            f"this {name} (protocol {ours}) is newer than the engine (protocol {theirs}) "
            f"of {where}: restart the engine"
        )
    return ProtocolMismatch(
        f"this {name} (protocol {ours}) is older than the engine (protocol {theirs}) "
        f"of {where}: restart this {name} with the newer Seedbed"
    )


def stopped(target: Target) -> EngineStopped:
    return EngineStopped(f"the engine of {target.data_dir} stopped (connection closed)")


def request_text(request_id: int, verb: str, params: BaseModel | dict[str, Any] | None) -> str:
    if isinstance(params, BaseModel):
        params = params.model_dump(mode="json")
    request = Request(jsonrpc="2.0", id=request_id, method=verb, params=params or {})
    return request.model_dump_json()


def reply_value(reply: Response | ErrorResponse, result: Any) -> Any:
    """The value of a call's reply (as `result`, see typed), or the verb's own error
    raised again with its sentence (UserError, NotFound …)."""
    if isinstance(reply, ErrorResponse):
        raise exception_for(reply.error)
    return typed(result, reply.result)


def typed(result: Any, value: Any) -> Any:
    """`value` (a JSON result) as `result` (a type pydantic knows), or as is when None."""
    if result is None:
        return value
    if isinstance(result, type) and issubclass(result, BaseModel):
        return result.model_validate(value)
    try:
        adapter = _adapter(result)
    except TypeError:  # a type that cannot be a key (none of the verbs' today)
        adapter = TypeAdapter(result)
    return adapter.validate_python(value)


@functools.cache
def _adapter(result: Any) -> TypeAdapter[Any]:
    """One adapter per result type: building one builds its schema, a cost paid on the
    client's thread (the window's, beside its GUI thread) at every call otherwise."""
    return TypeAdapter(result)
