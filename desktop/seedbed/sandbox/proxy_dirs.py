"""The directories of the filtering proxy's Unix sockets (`/tmp/seedbed-net-*`), and the
ones a dead process left.

A sandbox with network `model` reaches its proxy through a socket in a directory of its
own under the temporary directory (a short path: a socket's has 107 bytes at most). The
process whose proxy serves there (an engine, or the command that approves) holds a lock
on a file inside for as long as it does (`serving`), and removes the directory at the
end. One killed meanwhile leaves it; several engines (one per data dir) may serve at once,
so `remove_stale` removes only a directory whose lock nobody holds: the kernel lets go
of a lock when its process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PREFIX = "seedbed-net-"
TALKBACK_PREFIX = "seedbed-talk-"  # a run's MCP socket (talkback), kept the same way
NAME = re.compile(r"seedbed-(?:net|talk)-[0-9a-f]{12}")
LOCK = "serving.lock"
# A lock file younger than this may be one whose maker has not locked it yet.
GRACE_SECONDS = 10.0


def new_proxy_dir(prefix: str = PREFIX) -> Path:
    """A fresh name for a proxy's socket directory (made by `serving`); with
    TALKBACK_PREFIX, a run's MCP socket's."""
    return Path(tempfile.gettempdir()) / f"{prefix}{secrets.token_hex(6)}"


@contextlib.contextmanager
def serving(directory: Path) -> Iterator[None]:
    """Make `directory` (mode 0700, new) and hold the lock in it while the block runs (a
    proxy serves there); removed at the end, still locked."""
    directory.mkdir(mode=0o700)
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        descriptor = os.open(directory / LOCK, flags, 0o600)
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        os.close(descriptor)


def remove_stale(root: Path | None = None) -> list[Path]:
    """Remove the proxy directories under `root` (the temporary directory) whose lock no
    living process holds: the user's own, older than GRACE_SECONDS. One without a lock
    file (an older Seedbed's, or one being made) is left. The directories removed."""
    root = root if root is not None else Path(tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        if not NAME.fullmatch(entry.name):
            continue
        path = Path(entry.path)
        try:
            found = path.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid() and _remove_unheld(path):
            removed.append(path)
    return removed


def _remove_unheld(directory: Path) -> bool:
    """Remove `directory` if its lock can be taken (nobody serves there), holding it
    while removing; whether it did."""
    try:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        descriptor = os.open(directory / LOCK, flags)
    except OSError:
        return False
    try:
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode) or time.time() - found.st_mtime < GRACE_SECONDS:
            return False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # held: a living process serves there
        shutil.rmtree(directory, ignore_errors=True)
        return not directory.exists()
    finally:
        os.close(descriptor)
