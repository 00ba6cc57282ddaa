"""The merge queue of a project: approves land one at a time, in the order they were asked.

An approve registers a MergeRequest on its task (when it was asked) and holds the task's
approve lock (store/approving.py) for as long as it lives. Its turn comes when no live
approve of the project was asked before it and the project's merge lock is free. Both
locks are flock: the kernel lets go of them when their process dies, so a killed approve
never blocks the queue, and recovery puts its task back (core/runs.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from seedbed.core.context import Stopping
from seedbed.core.recorder import EventRecorder
from seedbed.domain.errors import OperationError
from seedbed.domain.events import StatusEvent
from seedbed.domain.models import MergeRequest, Project, Task
from seedbed.store import Store
from seedbed.store.approving import approve_alive

TURN_POLL_S = 0.2


ANNOUNCED_S = 30.0  # how long an announced approve may take to reach a worker


class ApproveInterrupted(OperationError):
    """The process serving the approve stopped while it waited its turn or ran the checks
    on the merge result; the base branch did not move."""

    def __init__(self, task_id: int, base: str, why: str) -> None:
        super().__init__(
            f"the approve of task {task_id} was interrupted ({why}) before {base} moved: "
            "approve again"
        )


class Announcements:
    """Approves a window asked for whose workers have not registered them yet: within
    one process, they keep the order of the clicks even when a later one's worker gets
    going first."""

    def __init__(self) -> None:
        self._asked: dict[int, float] = {}
        self._lock = threading.Lock()

    def announce(self, task_id: int) -> float:
        """Say, on the thread that takes the click, that this task's approve is on its
        way; the time is its place in the queue (approve's `asked_at`)."""
        asked_at = time.time()
        with self._lock:
            self._asked[task_id] = asked_at
        return asked_at

    def forget(self, task_id: int, asked_at: float) -> None:
        with self._lock:
            if self._asked.get(task_id) == asked_at:
                del self._asked[task_id]

    def items(self) -> list[tuple[int, float]]:
        with self._lock:
            return list(self._asked.items())


# One per process, like the threads it orders: the window's clicks and its workers meet here.
ANNOUNCED = Announcements()


def live_request(data_dir: Path, task: Task) -> MergeRequest | None:
    """The task's merge request while the approve carrying it out lives; None when it
    has none or that approve died (killed halfway)."""
    if task.merge_request is None or not approve_alive(data_dir, task.id):
        return None
    return task.merge_request


@contextlib.contextmanager
def merge_turn(
    store: Store, project: Project, task_id: int, recorder: EventRecorder, stopping: Stopping
) -> Iterator[None]:
    """Wait until no live approve of this project was asked before this one and the
    project's merge lock is free; hold the lock meanwhile. Raises ApproveInterrupted when
    `stopping` is set while it waits."""
    path = store.path.parent / "locks" / f"merge-{project.id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    waiting_for: int | None = None
    try:
        while True:
            ahead = _ahead_of(store, project.id, task_id)
            if ahead is None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
            if ahead != waiting_for and ahead is not None:
                message = f"queued: waiting for the merge of task {ahead}"
                recorder.add([StatusEvent(phase="merging", message=message)])
                recorder.flush()
            waiting_for = ahead
            if stopping.wait(TURN_POLL_S):
                base = store.get_task(task_id).base_branch
                raise ApproveInterrupted(task_id, base, stopping.reason)
        yield
    finally:
        os.close(fd)


def _ahead_of(store: Store, project_id: int, task_id: int) -> int | None:
    """The task whose approve goes first (asked earlier and alive, or announced in this
    process and not registered yet), if any."""
    own = store.get_task(task_id).merge_request
    if own is None:
        return None
    data_dir = store.path.parent
    mine = (own.queued_at, task_id)
    tasks = {task.id: task for task in store.list_tasks(project_id)}
    ahead = [
        (request.queued_at, other.id)
        for other in tasks.values()
        if other.id != task_id and (request := live_request(data_dir, other)) is not None
    ]
    now = time.time()
    for other_id, asked_at in ANNOUNCED.items():
        other = tasks.get(other_id)
        # An announced approve whose worker never registered it (its call was dropped)
        # stops counting after a while.
        if other is not None and other.merge_request is None and now - asked_at < ANNOUNCED_S:
            ahead.append((asked_at, other_id))
    earlier = sorted(key for key in ahead if key < mine)
    return earlier[0][1] if earlier else None
