"""Reading a file of a worktree an agent writes (a running or finished task's) as git
would record it: a regular file's bytes, a symlink's target text, nothing else.

What the agent left there is never followed: a link (a last component, or a folder on
the way) is not opened through, so a file from outside the worktree never shows as the
task's; a FIFO or a device is not opened for reading (O_NONBLOCK), so no reader waits
for a writer that never comes.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def open_worktree_file(worktree: Path, path: str) -> BinaryIO | None:
    """`path` (relative, as git names it) of `worktree` opened for reading: a regular
    file itself, or a symlink's target text (as git stores a link); None for anything
    else (gone, a folder, a FIFO, a device, a path through a link or out of the
    worktree)."""
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or ".." in parts:
        return None
    try:
        folder = os.open(worktree, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            inner = os.open(part, _DIR_FLAGS, dir_fd=folder)
            os.close(folder)
            folder = inner
        return _open_last(folder, parts[-1])
    except OSError:
        return None
    finally:
        os.close(folder)


def read_worktree_file(worktree: Path, path: str) -> bytes | None:
    """What `open_worktree_file` opens, read whole; None where it opens nothing."""
    stream = open_worktree_file(worktree, path)
    if stream is None:
        return None
    try:
        with stream:
            return stream.read()
    except OSError:
        return None


def _open_last(folder: int, name: str) -> BinaryIO | None:
    try:
        descriptor = os.open(name, _READ_FLAGS, dir_fd=folder)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        return io.BytesIO(os.fsencode(os.readlink(name, dir_fd=folder)))  # a link
    stream = os.fdopen(descriptor, "rb")
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        stream.close()
        return None
    return stream
