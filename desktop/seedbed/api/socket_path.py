"""The engine's Unix socket: where it goes, and binding it safely.

A socket's address is limited (sun_path: 108 bytes on Linux, 104 on macOS, NUL included),
so a data dir too deep for `<data dir>/engine.sock` gets a short path in a private (0700)
directory under $XDG_RUNTIME_DIR or /tmp, recorded in the data dir (see endpoint.py).
The socket is created under a temporary name, set to 0600, then renamed into place, so it
is never reachable with a wider mode; a stale socket left by a dead engine is replaced, a
live one refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import stat
import sys
from pathlib import Path

from seedbed.api.endpoint import SOCKET_NAME
from seedbed.domain.errors import Busy, UserError

SUN_PATH_MAX = (104 if sys.platform == "darwin" else 108) - 1  # bytes, without the NUL
PARTIAL_SUFFIX = ".new"  # the name it is bound under before the rename


def fits(path: Path) -> bool:
    """True when `path` (and its temporary name) fit in a socket address."""
    return len(os.fsencode(path)) + len(PARTIAL_SUFFIX) <= SUN_PATH_MAX


def socket_path(data_dir: Path, runtime_dir: Path | None = None) -> Path:
    """Where the engine of `data_dir` binds: `<data dir>/engine.sock` when it fits."""
    default = data_dir / SOCKET_NAME
    return default if fits(default) else short_socket_path(data_dir, runtime_dir)


def short_socket_path(data_dir: Path, runtime_dir: Path | None = None) -> Path:
    """A short path of this data dir's own: a directory named after a hash of it, under
    $XDG_RUNTIME_DIR (already private to the user) or else /tmp."""
    digest = hashlib.sha256(os.fsencode(data_dir)).hexdigest()[:16]
    name = f"seedbed-{os.getuid()}-{digest}"
    bases = [runtime_dir] if runtime_dir else []
    if os.environ.get("XDG_RUNTIME_DIR"):
        bases.append(Path(os.environ["XDG_RUNTIME_DIR"]))
    bases.append(Path("/tmp"))
    for base in bases:
        candidate = base / name / SOCKET_NAME
        if base.is_dir() and fits(candidate):
            return candidate
    raise UserError(f"no short enough place for the engine's socket of {data_dir}")


def private_dir(directory: Path) -> None:
    """Make `directory` (0700), or check that the one there is the user's own and private:
    in /tmp another user could have made it first, to listen in."""
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise UserError(f"{directory} is not a directory of yours: remove it and start again")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(directory, 0o700)


def clear_stale(path: Path, data_dir: Path) -> None:
    """Remove a socket at `path` that nobody answers on; refuse one that an engine serves."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise UserError(f"{path} is in the way of the engine's socket: it is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2.0)
    try:
        probe.connect(os.fspath(path))
    except (ConnectionRefusedError, FileNotFoundError):
        return  # its engine died without removing it (kill -9): the rename replaces it
    except OSError:
        pass  # it exists and does not refuse (a full backlog, a slow engine): alive
    finally:
        probe.close()
    raise Busy(f"an engine already serves {data_dir}")


def bind_unix(path: Path, data_dir: Path) -> socket.socket:
    """A listening-ready socket bound at `path`, mode 0600 from its first moment there."""
    if path.parent != data_dir:
        private_dir(path.parent)
    clear_stale(path, data_dir)
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.fspath(partial))
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except BaseException:
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return sock


def unlink_if_ours(path: Path, inode: int) -> None:
    """Remove the socket file at `path` unless another engine's has replaced it since."""
    with contextlib.suppress(FileNotFoundError):
        if os.lstat(path).st_ino == inode:
            path.unlink()
