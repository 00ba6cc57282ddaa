"""The messages of the engine's API: JSON-RPC 2.0 envelopes as pydantic models, and the version.

One WebSocket connection carries both directions: the client's requests (with an id), the
engine's responses (a result or an error, same id) and the engine's notifications (no id:
events of the topics the client subscribed to, and the "you missed events" notice).
"""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter

PROTOCOL_VERSION = 2  # 2: "tasks" {task_ids} and "events" {runs: [...]}, gathered
SUBPROTOCOL_PREFIX = "seedbed.v"
# HTTP header of the engine's refusal of a handshake: the protocol version it speaks.
PROTOCOL_HEADER = "Seedbed-Protocol"
# HTTP header carrying the client's token (TCP only: a Unix socket is guarded by its mode).
TOKEN_HEADER = "Seedbed-Token"
# Diffs and log pages can be large; a local socket has no reason for websockets' 1 MiB.
MAX_MESSAGE_BYTES = 64 * 2**20

_SUBPROTOCOL = re.compile(rf"^{re.escape(SUBPROTOCOL_PREFIX)}(\d+)$")


def subprotocol(version: int) -> str:
    """The WebSocket subprotocol naming protocol `version`: `seedbed.v2` for 2."""
    return f"{SUBPROTOCOL_PREFIX}{version}"


def version_of(name: str) -> int | None:
    """The version a subprotocol name carries, or None when it is not one of ours."""
    match = _SUBPROTOCOL.match(name.strip())
    return int(match.group(1)) if match else None


class ErrorKind(StrEnum):
    """What kind of failure an error is, so that a client re-raises the same exception."""

    USER = "user"  # the request cannot be done as asked (UserError)
    NOT_FOUND = "not_found"  # it names something that does not exist
    BUSY = "busy"  # something else holds what it needs; try again later
    OPERATION = "operation"  # a well-formed request that failed (OperationError)
    VERSION = "version"  # the client and the engine do not speak the same protocol
    INTERNAL = "internal"  # a bug in the engine: the sentence says where


class ErrorCode(IntEnum):
    """JSON-RPC's own codes, then ours in its range for servers (-32000 to -32099)."""

    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    USER_ERROR = -32001
    NOT_FOUND = -32002
    BUSY = -32003
    OPERATION_FAILED = -32004
    VERSION_MISMATCH = -32005


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    jsonrpc: Literal["2.0"] = "2.0"


class Request(Envelope):
    """A client's call of a verb; answered by a Response or an ErrorResponse with its id."""

    jsonrpc: Literal["2.0"]  # required here: what a client sends is checked to the letter
    id: int | str
    method: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class Response(Envelope):
    id: int | str
    result: Any


class ErrorData(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ErrorKind
    verb: str | None = None
    field: str | None = None  # the parameter that was refused, as a dotted path


class ErrorObject(BaseModel):
    """JSON-RPC's error: a code, ONE sentence for the user, and what kind of failure it is."""

    model_config = ConfigDict(frozen=True)

    code: int
    message: str
    data: ErrorData


class ErrorResponse(Envelope):
    id: int | str | None  # None when the request was too broken to have one
    error: ErrorObject


class Notification(Envelope):
    """A message from the engine that answers no request (no id)."""

    method: str
    params: dict[str, Any] = Field(default_factory=dict)


# -- what the notifications carry -------------------------------------------------------

EVENT = "event"  # a published event of a subscribed topic
MISSED = "missed"  # the client fell behind: its queue was cleared


class EventParams(BaseModel):
    topic: str
    payload: Any = None


class MissedParams(BaseModel):
    message: str
    dropped: int


# -- the verbs every engine answers itself ----------------------------------------------

HELLO = "hello"
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hello(BaseModel):
    """Who answers: the engine's version, its protocol, the data dir it serves, its pid."""

    engine_version: str
    protocol: int
    data_dir: str
    pid: int


class Topics(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topics: list[str] = Field(min_length=1)


class Subscribed(BaseModel):
    """The topics the connection is subscribed to after the call."""

    topics: list[str]


# -- parsing what arrives ---------------------------------------------------------------


def _envelope(message: Any) -> str:
    """Which envelope a message from the engine is, by its keys: a message with `result`
    is a Response, with `error` an ErrorResponse, with neither a Notification."""
    if isinstance(message, dict):
        return "result" if "result" in message else "error" if "error" in message else "note"
    return type(message).__name__


ClientBound = Response | ErrorResponse | Notification
# Tagged by its keys, so a message is validated against its own envelope only: a union
# tried member by member builds a large result (a board's cards) once per member.
_CLIENT_BOUND: TypeAdapter[ClientBound] = TypeAdapter(
    Annotated[
        Annotated[Response, Tag("result")]
        | Annotated[ErrorResponse, Tag("error")]
        | Annotated[Notification, Tag("note")],
        Discriminator(_envelope),
    ]
)


def parse_client_bound(text: str | bytes) -> ClientBound:
    """A message from the engine: a response, an error response or a notification, each
    in strict shape (extra="forbid": a message with both `result` and `error`, or a
    notification with an id, is refused)."""
    return _CLIENT_BOUND.validate_json(text)
