"""Errors across the wire: an exception raised by a verb becomes an ErrorObject in the
engine, and the client turns that ErrorObject back into the same kind of exception with the
same sentence, so the CLI and the window show it as they would an in-process one."""

from __future__ import annotations

from pydantic import ValidationError

from seedbed.api.protocol import ErrorCode, ErrorData, ErrorKind, ErrorObject
from seedbed.domain.errors import Busy, NotFound, OperationError, SeedbedError, UserError


class ProtocolMismatch(UserError):
    """The client and the engine speak different versions of the protocol."""


class AccessRefused(UserError):
    """The engine refused the client's token (TCP), or the client offered none."""


class EngineUnavailable(OperationError):
    """No engine answers for the data dir: none runs, or it stopped."""


class EngineNotAnswering(OperationError):
    """An engine accepted the connection but did not answer in time: it is alive (or its
    forwarding is) but hung, so a client must not take it for "no engine" either."""


class EngineStopped(EngineUnavailable):
    """The engine closed the connection (it stopped, or was killed) while the client used it."""


class EngineFailed(OperationError):
    """A bug in the engine while it answered a call (its log has the traceback)."""


# Most specific first: NotFound and Busy are UserErrors.
_KINDS: tuple[tuple[type[SeedbedError], ErrorKind, ErrorCode], ...] = (
    (NotFound, ErrorKind.NOT_FOUND, ErrorCode.NOT_FOUND),
    (Busy, ErrorKind.BUSY, ErrorCode.BUSY),
    (ProtocolMismatch, ErrorKind.VERSION, ErrorCode.VERSION_MISMATCH),
    (UserError, ErrorKind.USER, ErrorCode.USER_ERROR),
    (OperationError, ErrorKind.OPERATION, ErrorCode.OPERATION_FAILED),
)
_EXCEPTIONS: dict[ErrorKind, type[SeedbedError]] = {
    ErrorKind.NOT_FOUND: NotFound,
    ErrorKind.BUSY: Busy,
    ErrorKind.VERSION: ProtocolMismatch,
    ErrorKind.USER: UserError,
    ErrorKind.OPERATION: OperationError,
    ErrorKind.INTERNAL: EngineFailed,
}


def field_path(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "params"


def invalid_params(verb: str, error: ValidationError) -> ErrorObject:
    """The first refused parameter of a call, named with pydantic's own reason."""
    first = error.errors(include_url=False)[0]
    field = field_path(tuple(first["loc"]))
    return ErrorObject(
        code=ErrorCode.INVALID_PARAMS,
        message=f"{verb}: {field}: {first['msg']}",
        data=ErrorData(kind=ErrorKind.USER, verb=verb, field=field),
    )


def unknown_verb(verb: str) -> ErrorObject:
    # A client newer than its engine is the usual cause, hence kind "version".
    return ErrorObject(
        code=ErrorCode.METHOD_NOT_FOUND,
        message=f"the engine has no verb {verb!r}: restart it if it is older than this client",
        data=ErrorData(kind=ErrorKind.VERSION, verb=verb),
    )


def error_for(exc: BaseException, verb: str) -> ErrorObject:
    """What the client is told when verb `verb` raised `exc`."""
    for cls, kind, code in _KINDS:
        if isinstance(exc, cls):
            return ErrorObject(code=code, message=str(exc), data=ErrorData(kind=kind, verb=verb))
    if isinstance(exc, ValidationError):
        # A model's declared constraint refused a value the request carried.
        return invalid_params(verb, exc).model_copy(update={"code": ErrorCode.USER_ERROR})
    return ErrorObject(
        code=ErrorCode.INTERNAL_ERROR,
        message=f"the engine failed in {verb!r}: {type(exc).__name__}: {exc}",
        data=ErrorData(kind=ErrorKind.INTERNAL, verb=verb),
    )


def exception_for(error: ErrorObject) -> SeedbedError:
    """The exception a client raises for an error the engine sent: same kind, same sentence."""
    return _EXCEPTIONS[error.data.kind](error.message)
