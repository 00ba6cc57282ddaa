"""Where a client finds the engine of a data dir, written down in the data dir.

A Unix socket at `<data dir>/engine.sock` needs no record. When the engine listens
elsewhere (a short path, for a data dir too deep for a socket's address; TCP on loopback,
where there are no Unix sockets) it says where in `engine.address`, and for TCP writes the
token a client must present in `engine.token` (mode 0600: only the user reads it).

A client can be pointed at another socket instead: one that `ssh -L` forwards from the
engine of another machine (SEEDBED_ENGINE_SOCKET, or the command line's --engine-socket).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from seedbed.domain.errors import UserError

SOCKET_NAME = "engine.sock"
RECORD_NAME = "engine.address"
TOKEN_NAME = "engine.token"
# A Unix socket that reaches an engine (e.g. forwarded by `ssh -L`): clients use it
# instead of the engine of their own data dir.
ENGINE_SOCKET_ENV = "SEEDBED_ENGINE_SOCKET"


class UnixEndpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["unix"] = "unix"
    path: Path


class TcpEndpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(ge=1, le=65535)


Endpoint = Annotated[UnixEndpoint | TcpEndpoint, Field(discriminator="kind")]
_ENDPOINT: TypeAdapter[UnixEndpoint | TcpEndpoint] = TypeAdapter(Endpoint)


def describe(endpoint: UnixEndpoint | TcpEndpoint) -> str:
    if isinstance(endpoint, UnixEndpoint):
        return str(endpoint.path)
    return f"{endpoint.host}:{endpoint.port}"


def forwarded_endpoint(given: str | Path | None = None) -> UnixEndpoint | None:
    """The socket a client was pointed at (`given`, else SEEDBED_ENGINE_SOCKET); None
    when it was not: it uses the engine of its data dir."""
    path = given or os.environ.get(ENGINE_SOCKET_ENV, "").strip()
    return UnixEndpoint(path=Path(path).expanduser()) if path else None


def no_forwarded_engine(endpoint: UnixEndpoint) -> str:
    """What a client pointed at a forwarded socket says when nothing answers there."""
    return (
        f"no engine answers at {describe(endpoint)} (--engine-socket or "
        f"{ENGINE_SOCKET_ENV}): is its forwarding (ssh -L) running?"
    )


def read_endpoint(data_dir: Path) -> UnixEndpoint | TcpEndpoint:
    """Where the engine of `data_dir` listens: its record, else `<data dir>/engine.sock`."""
    try:
        text = (data_dir / RECORD_NAME).read_text(encoding="utf-8")
    except FileNotFoundError:
        return UnixEndpoint(path=data_dir / SOCKET_NAME)
    except OSError as exc:
        raise UserError(f"cannot read {data_dir / RECORD_NAME}: {exc.strerror}") from None
    try:
        return _ENDPOINT.validate_json(text)
    except ValidationError:
        raise UserError(
            f"{data_dir / RECORD_NAME} does not say where the engine listens; "
            "remove it and start the engine again"
        ) from None


def write_endpoint(data_dir: Path, endpoint: UnixEndpoint | TcpEndpoint | None) -> None:
    """Record where the engine listens; None (the default place) removes the record."""
    record = data_dir / RECORD_NAME
    if endpoint is None:
        with contextlib.suppress(FileNotFoundError):
            record.unlink()
        return
    write_private(record, _ENDPOINT.dump_json(endpoint).decode())


def new_token(data_dir: Path) -> str:
    """A fresh random token, written for clients to read (0600)."""
    token = secrets.token_urlsafe(32)
    write_private(data_dir / TOKEN_NAME, token)
    return token


def read_token(data_dir: Path) -> str | None:
    try:
        return (data_dir / TOKEN_NAME).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by the user only, replacing it whole (never half)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older file of that name may have been wider
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(partial, path)
