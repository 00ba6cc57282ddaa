"""Start-up recovery: runs left `running` by an engine that died are ended cleanly
(`core.runs.interrupt_run`), and approves that died halfway are settled."""

from __future__ import annotations

import contextlib

from seedbed.core.runs import interrupt_run, settle_dead_approve, wait_interrupted
from seedbed.core.sandboxing import remove_leftovers
from seedbed.domain.errors import SeedbedError
from seedbed.domain.models import Phase, Run, RunKind, RunStatus, TaskState
from seedbed.sandbox.proxy_dirs import remove_stale
from seedbed.store import Store
from seedbed.store.approving import holding_approve
from seedbed.vcs.runner import end_orphaned_git


def recover_dead_merges(store: Store) -> list[int]:
    """Approves that died halfway (a killed terminal or window): their checks' processes
    are killed and their merge runs end as interrupted; their tasks leave the merge queue
    and go back to the phase they had. The base moves only as an approve's last step, so
    it either moved (the next approve finds nothing left to merge) or did not. Run at an
    engine's start and, while it runs, every few seconds; the affected task ids.

    Each task is undone holding its approve lock, so an approve that ends meanwhile, or
    a new one, is never undone in its stead."""
    data_dir = store.path.parent
    # First, with SIGTERM: a killed approve's git then removes the index.lock it held.
    end_orphaned_git()
    dead_runs: dict[int, list[Run]] = {}
    for run in store.runs_with_status(RunStatus.RUNNING.value):
        if run.kind is RunKind.MERGE:
            dead_runs.setdefault(run.task_id, []).append(run)
    waiting = {
        task.id
        for task in store.list_tasks(states=[TaskState.AWAITING_REVIEW, TaskState.RUNNING])
        if task.merge_request is not None
    }
    changed: list[int] = []
    for task_id in sorted(waiting | dead_runs.keys()):
        try:
            with holding_approve(data_dir, task_id, wait=0):  # refused: its approve lives
                if settle_dead_approve(store, task_id):
                    changed.append(task_id)
        except (SeedbedError, OSError, ValueError):
            continue
    return changed


def recover(store: Store) -> list[int]:
    """End every run a previous engine left running; returns the affected task ids. What
    the sandbox left is removed too: proxies' socket dirs a killed process left, homes of
    tasks that can no longer run, git pieces taken back."""
    remove_stale()
    # Approves first: one that died after the base moved is finished as merged before
    # its task's run (an auto-merge's) is interrupted.
    tasks: list[int] = recover_dead_merges(store)
    for run in store.runs_with_status(RunStatus.RUNNING.value):
        if run.kind is RunKind.MERGE:
            continue  # approves are any process's: above, only those whose process died
        interrupt_run(store, run)
        tasks.append(run.task_id)
    # A task can be left mid-lifecycle with no run row (killed between the two writes).
    for task in store.list_tasks(states=[TaskState.RUNNING]):
        if task.phase is not Phase.QUEUED and task.id not in tasks:
            wait_interrupted(store, task.id)
            tasks.append(task.id)
    with contextlib.suppress(OSError):  # what is left stays for the next start
        remove_leftovers(store)
    return tasks
