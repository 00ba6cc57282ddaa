"""Whether an approve of a task is alive: a file lock its process holds while it lasts.

A pid alone cannot say it (pids are reused, and in a container every start gets the
same one); flock is released by the kernel when its holder dies, even by kill -9, and
it is per open file, so a second thread of the same process sees it held too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from seedbed.domain.errors import UserError
from seedbed.store.lock import flock_within

PROBE_S = 1.0


def approve_lock_path(data_dir: Path, task_id: int) -> Path:
    return data_dir / "locks" / f"approve-{task_id}.lock"


@contextlib.contextmanager
def holding_approve(
    data_dir: Path, task_id: int, wait: float = PROBE_S, refusal: str = ""
) -> Iterator[None]:
    """Hold the task's approve lock for the block; refused (UserError, `refusal` or that
    it is being merged) when another approve of the task, or a start of it, holds it (in
    any process, or another thread of this one). It waits `wait` seconds first: a look
    (approve_alive, recovery) holds the lock a moment too."""
    path = approve_lock_path(data_dir, task_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not flock_within(fd, wait, poll=0.02):
            raise UserError(refusal or f"task {task_id} is being merged already")
        yield
    finally:
        os.close(fd)


def approve_alive(data_dir: Path, task_id: int) -> bool:
    """Whether some approve of the task holds its lock right now."""
    path = approve_lock_path(data_dir, task_id)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases it too, when this look took it
    return False
