"""Ending a run outside its runner, and the guard a start shares with approve.

A run whose process is gone (its engine died) or that is stopped with no engine is
interrupted: its process groups are killed if still alive (only when the group still
carries the run's SEEDBED_RUN_ID, so a recycled pid is never hit), whatever it left in
the worktree is committed, and the task waits in awaiting_review / interrupted. An
approve that died halfway is settled: finished as merged, or undone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from seedbed.agents.process import RUN_MARKER_VARIABLE, kill_group, run_marker
from seedbed.core.commit_messages import commit_message, task_agent
from seedbed.core.context import Changed, Context, Done
from seedbed.core.merging import finish_landed
from seedbed.core.recorder import EventRecorder
from seedbed.core.sandboxing import carry_back_logins, share_dir
from seedbed.core.shared_config import (
    config_change_reason,
    forget_shared_config,
    kept_shared_config,
    restore_shared_config,
)
from seedbed.core.workspace import commit_work, worktree_path
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import ErrorEvent, StatusEvent
from seedbed.domain.models import Control, Phase, Run, RunKind, RunStatus, TaskChanges, TaskState
from seedbed.sandbox.gitshare import clear_links, left_share
from seedbed.sandbox.takeback import take_back
from seedbed.store import Store
from seedbed.store.approving import holding_approve
from seedbed.vcs.merge import take_back_landing

INTERRUPTED_REASON = "interrupted: the engine stopped while this run was going"


def processes_of_run(data_dir: Path, run_id: int) -> list[int]:
    """Pids whose environment carries this run's marker (Linux /proc; the data dir and
    the run, see run_marker): the agent, and whatever it or its tools started, whichever
    process group they are in."""
    marker = f"{RUN_MARKER_VARIABLE}={run_marker(data_dir, run_id)}".encode()
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def kill_orphans(data_dir: Path, run: Run) -> bool:
    """Kill what is left of a dead engine's run; True if anything was alive.

    Only groups that still hold a process marked with this run are killed, so a
    recycled pid is never hit (and without /proc, nothing is).
    """
    own = os.getpgid(0)
    groups: set[int] = set()
    for pid in processes_of_run(data_dir, run.id):
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    groups.discard(own)
    for group in groups:
        kill_group(group, signal.SIGKILL)
    if groups:
        _wait_gone(data_dir, run.id)
    return bool(groups)


def _wait_gone(data_dir: Path, run_id: int, timeout: float = 5.0) -> None:
    """A killed process lingers for a moment while the kernel tears it down; wait for
    that, so nothing of the run still writes into the worktree when recovery commits it
    (and a caller that looks again sees it gone)."""
    deadline = time.monotonic() + timeout
    while processes_of_run(data_dir, run_id) and time.monotonic() < deadline:
        time.sleep(0.02)


def interrupt_run(store: Store, run: Run) -> None:
    kill_orphans(store.path.parent, run)
    task = store.get_task(run.task_id)
    worktree = worktree_path(task) if task.workspace_ready else None
    recorder = EventRecorder(store, run.id)
    for note in carry_back_logins(store.path.parent, task.id):  # a login its CLI renewed
        recorder.add([StatusEvent(ts=time.time(), phase="recovering", message=note)])
    if worktree is not None:
        try:
            project = store.get_project(task.project_id)
            _clear_sandbox_links(store.path.parent, run.id, recorder)
            _restore_config(store.path.parent, project.path, run.id, recorder)
            _take_back_sandbox(store.path.parent, run.id, recorder)
            message = commit_message(task, run, agent=task_agent(store, task))
            sha = commit_work(project, worktree, message, task, _noter(recorder))
            if sha:
                run = store.update_run(run.id, commit=sha)
        except SeedbedError as exc:
            recorder.add([ErrorEvent(ts=time.time(), message=f"recovery did not commit: {exc}")])
    for _question in store.end_questions(task.id, INTERRUPTED_REASON):  # said, as a stop's
        said = f"no answer: {INTERRUPTED_REASON}"
        recorder.add([StatusEvent(ts=time.time(), phase="recovering", message=said)])
    recorder.flush()
    store.update_run(
        run.id, status=RunStatus.INTERRUPTED, reason=INTERRUPTED_REASON, ended_at=time.time()
    )
    if task.state is TaskState.RUNNING or task.phase is Phase.NEEDS_INPUT:
        wait_interrupted(store, task.id)


def wait_interrupted(store: Store, task_id: int) -> None:
    """A running task whose run ended outside its runner waits for review, interrupted;
    so does one whose agent waited on a question (which no longer waits)."""
    store.end_questions(task_id, INTERRUPTED_REASON)
    if store.get_task(task_id).phase is Phase.NEEDS_INPUT:
        store.update_task(
            task_id, phase=Phase.INTERRUPTED, control=Control.NONE, error=INTERRUPTED_REASON
        )
        return
    store.move_task(
        task_id,
        TaskState.AWAITING_REVIEW,
        Phase.INTERRUPTED,
        control=Control.NONE,
        error=INTERRUPTED_REASON,
    )


def _clear_sandbox_links(data_dir: Path, run_id: int, recorder: EventRecorder) -> None:
    """What a sandboxed agent left in its worktree's git dir for our git to write through
    (gitshare.clear_links), removed before recovery runs any git there."""
    share = left_share(share_dir(data_dir, run_id))
    if share is not None:
        notes = clear_links(share.worktree_git, share.branch)
        recorder.add([ErrorEvent(ts=time.time(), message=note) for note in notes])


def _take_back_sandbox(data_dir: Path, run_id: int, recorder: EventRecorder) -> None:
    """What a sandboxed agent committed in its private git pieces, into the repository,
    before recovery's commit (its index may name objects only those pieces hold)."""
    share = left_share(share_dir(data_dir, run_id))
    if share is not None:
        notes = take_back(share)
        recorder.add([ErrorEvent(ts=time.time(), message=note) for note in notes])


def _restore_config(data_dir: Path, repo: Path, run_id: int, recorder: EventRecorder) -> None:
    """The shared config and hooks back as the run found them, before recovery's commit
    runs git there (a filter the agent planted must not run under us)."""
    kept = kept_shared_config(data_dir, run_id)
    if kept is not None:
        changed = restore_shared_config(kept)
        if changed:
            message = config_change_reason(repo, changed)
            recorder.add([ErrorEvent(ts=time.time(), message=message)])
    forget_shared_config(data_dir, run_id)


def _noter(recorder: EventRecorder) -> Callable[[str], None]:
    """A note of the commit's checks (a stale lock removed…) as a line of the run's log."""

    def note(text: str) -> None:
        recorder.add([StatusEvent(ts=time.time(), phase="recovering", message=text)])

    return note


APPROVE_INTERRUPTED = "the approve was interrupted (its process ended): approve again"


def settle_dead_approve(store: Store, task_id: int) -> bool:
    """What a dead approve of the task left (called holding its approve lock): finished
    as merged when the base had moved already (killed right after it moved), else
    undone. Whether there was anything."""
    return finish_landed(store, task_id) is not None or _undo_dead_merge(store, task_id)


@contextlib.contextmanager
def holding_task(store: Store, task_id: int) -> Iterator[None]:
    """The guard a start or resume of the task shares with approve (its approve lock):
    refused while an approve of it lives; a dead one is settled first, so what follows
    sees the task as it really is (merged, when its approve had landed)."""
    refusal = (
        f"task {task_id} is being merged (its merge result is queued or checked): "
        "wait for it to land or fail"
    )
    with holding_approve(store.path.parent, task_id, refusal=refusal):
        settle_dead_approve(store, task_id)
        yield


def finish_if_landed(ctx: Context, task_id: int) -> Done[bool]:
    """A look at the task (`task show`) finishes an approve of it that died after the
    base moved; quietly nothing when it cannot (a live approve, a read-only data dir).
    Whether it did."""
    finished = _finish_if_landed(ctx.store, task_id)
    return Done(value=finished, changed=Changed.task(task_id) if finished else Changed())


def _finish_if_landed(store: Store, task_id: int) -> bool:
    request = store.get_task(task_id).merge_request
    if request is None or not request.landing:
        return False
    with (
        contextlib.suppress(SeedbedError, OSError, sqlite3.Error),
        holding_approve(store.path.parent, task_id, wait=0),
    ):
        return finish_landed(store, task_id) is not None
    return False


def _undo_dead_merge(store: Store, task_id: int) -> bool:
    """What a dead approve of the task left, undone (read again under its lock)."""
    undone = False
    for run in store.list_runs(task_id):
        if run.kind is RunKind.MERGE and run.status is RunStatus.RUNNING:
            kill_orphans(store.path.parent, run)
            ended = {"reason": APPROVE_INTERRUPTED, "ended_at": time.time()}
            store.update_run(run.id, status=RunStatus.INTERRUPTED, **ended)
            undone = True
    task = store.get_task(task_id)
    request = task.merge_request
    if request is not None:
        error = APPROVE_INTERRUPTED
        if request.landing:  # it died landing, before the base moved
            project = store.get_project(task.project_id)
            try:
                checkout = take_back_landing(project.path, task.base_branch, request.landing)
            except SeedbedError as exc:  # the task is undone all the same, and says so
                error += f"; its checkout may hold files it had switched ({exc})"
            else:
                if checkout is not None:
                    error += f"; the files of {checkout} it had switched are back as they were"
        fields: TaskChanges = {"merge_request": None}
        if task.state is TaskState.AWAITING_REVIEW and task.phase is Phase.MERGING:
            fields.update({"phase": request.previous_phase, "error": error})
        store.update_task(task_id, expect=task.state, **fields)
        undone = True
    return undone
