"""One engine per data dir, held with an advisory file lock.

flock is released by the kernel when the holder dies, even by kill -9, so a crashed
engine never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from seedbed.domain.errors import UserError


def flock_within(fd: int, wait: float, poll: float) -> bool:
    """An exclusive flock on `fd`, tried again every `poll` seconds for `wait` seconds;
    whether it was taken."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)


class EngineBusy(UserError):
    """Another engine already owns this data dir."""


class EngineLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "engine.lock"
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not flock_within(fd, wait, poll=0.05):
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise EngineBusy(
                f"an engine is already running on {self.path.parent}"
                + (f" (pid {holder})" if holder else "")
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> EngineLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def engine_running(data_dir: Path) -> bool:
    """True when some process holds the engine lock right now."""
    lock = EngineLock(data_dir)
    try:
        lock.acquire()
    except EngineBusy:
        return True
    lock.release()
    return False
