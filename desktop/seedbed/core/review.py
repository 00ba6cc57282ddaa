"""Deciding on a task's work, besides approving it (`merging`): sending it back to
resolve a conflict or to fix the checks on its merge result, discarding it."""

from __future__ import annotations

from seedbed import vcs
from seedbed.core.commit_messages import discard_message, task_agent
from seedbed.core.context import Changed, Context, Done
from seedbed.core.runs import holding_task
from seedbed.core.sandboxing import forget_task_sandbox
from seedbed.core.tasks import check_startable, place, queue_again
from seedbed.core.workspace import branch_exists, commit_work, remove_workspace, worktree_path
from seedbed.core.worktree_guard import WorkNotCommitted
from seedbed.domain.errors import UserError
from seedbed.domain.lifecycle import check_move
from seedbed.domain.models import (
    Phase,
    Project,
    RunKind,
    Task,
    TaskState,
)
from seedbed.store import Store


def _project_of(store: Store, task: Task) -> Project:
    return store.get_project(task.project_id)


def resolve_message(base: str, files: list[str]) -> str:
    """What the agent is asked when it resolves a conflict with its base branch."""
    listed = "\n".join(f"- {path}" for path in files)
    conflicts = (
        f"These files have conflicts:\n{listed}\n\n"
        if files
        else "Look for conflicts with `git status` and `git diff`.\n\n"
    )
    return (
        f"The base branch {base} was merged into your branch, and the merge conflicts: "
        "resolve every conflict, then stop (Seedbed commits the merge).\n\n"
        f"{conflicts}"
        "For each file, keep the intent of both sides (your change and the change on "
        f"{base}), remove every conflict marker (<<<<<<<, =======, >>>>>>>), and make the "
        "project's checks pass. Do not abort the merge or reset the branch."
    )


def resolve_conflict(ctx: Context, task_id: int) -> Done[Task]:
    """Ask the agent to resolve a conflict: a run that first merges the base branch into
    the task's branch in its own worktree, then lets the agent resolve the conflicts there;
    its end-of-run commit is the merge commit. The user's checkout is never touched."""
    store = ctx.store
    task = store.get_task(task_id)
    if task.state is not TaskState.AWAITING_REVIEW or task.phase is not Phase.CONFLICT:
        raise UserError(
            f"task {task_id} has no merge conflict to resolve (it is {place(task)}); "
            "approve it first to find out whether it conflicts"
        )
    project = _project_of(store, task)
    _check_fixable(project, task)
    assert task.branch is not None
    files = vcs.conflicting_files(project.path, task.base_branch, task.branch)
    task = _merge_base_and_fix(store, task_id, resolve_message(task.base_branch, files))
    return Done(value=task, changed=Changed.task(task_id))


def merge_checks_message(base: str, output: str) -> str:
    """What the agent is asked when the checks failed on its change merged with the
    base branch (which moved since its own checks passed)."""
    return (
        f"Your change was approved, but the project's checks fail once it is merged with "
        f"the latest {base}, which moved since your checks passed. {base} was merged into "
        "your branch: resolve any conflict, then make the checks pass on the result "
        "without undoing the work on either side.\n\n"
        f"The checks printed (the end):\n\n{output.strip() or '(nothing)'}"
    )


def fix_merge_checks(ctx: Context, task_id: int) -> Done[Task]:
    """Bring the base into the task's branch and fix what the checks found on the merge
    result: a run that first merges the base branch in its worktree (as resolving a
    conflict does), with the failing output as its prompt."""
    store = ctx.store
    task = store.get_task(task_id)
    if task.state is not TaskState.AWAITING_REVIEW or task.phase is not Phase.MERGE_CHECKS_FAILED:
        raise UserError(
            f"task {task_id} has no failed checks on a merge result to fix (it is {place(task)})"
        )
    project = _project_of(store, task)
    _check_fixable(project, task)
    runs = [r for r in store.list_runs(task_id) if r.kind is RunKind.MERGE]
    output = runs[-1].checks.output_tail if runs else task.error
    task = _merge_base_and_fix(store, task_id, merge_checks_message(task.base_branch, output))
    return Done(value=task, changed=Changed.task(task_id))


def _check_fixable(project: Project, task: Task) -> None:
    check_startable(task)
    if not branch_exists(project, task):
        raise UserError(f"task {task.id} has no branch: there is nothing to merge into")


def _merge_base_and_fix(store: Store, task_id: int, message: str) -> Task:
    return queue_again(
        store,
        task_id,
        RunKind.FIX,
        message,
        merge_base_first=True,
        fix_rounds_used=0,
        error="",
        # The base branch is merged into the task's: a diff from the reviewed commit would
        # show the base's work as the agent's. The next review reads the whole diff.
        reviewed_commit=None,
    )


def discard(ctx: Context, task_id: int, delete_branch: bool = False) -> Done[Task]:
    """Archive a task. Its work is committed to its branch first; the branch is kept
    unless delete_branch. Never while an approve of it lives (its worktree is in use)."""
    with holding_task(ctx.store, task_id):
        task = _discard(ctx.store, task_id, delete_branch)
    return Done(value=task, changed=Changed.task(task_id))


def _discard(store: Store, task_id: int, delete_branch: bool) -> Task:
    task = store.get_task(task_id)
    check_move(task_id, task.state, TaskState.DISCARDED)
    project = _project_of(store, task)
    if task.worktree is not None:
        # A branch about to be deleted keeps nothing: its worktree is not committed (a
        # change that cannot be, a key or a nested repository in it, is simply dropped).
        if worktree_path(task) is not None and not delete_branch:
            message = discard_message(task, task_agent(store, task))
            try:
                commit_work(project, task.worktree, message)
            except WorkNotCommitted as exc:
                raise UserError(
                    f"{exc}; or discard it with its branch deleted, to throw the work away"
                ) from None
        # Also forgets a worktree whose directory was deleted by hand, which would
        # otherwise still hold its branch and make --delete-branch fail.
        remove_workspace(project, task.worktree)
    # The branch is the task's once its workspace was made on it. A name it only claimed
    # (its start failed before) may be someone else's branch by now: never deleted.
    branch = task.branch if task.workspace_ready and branch_exists(project, task) else None
    if delete_branch and branch is not None:
        vcs.delete_branch(project.path, branch)
        branch = None
    discarded = store.move_task(
        task_id,
        TaskState.DISCARDED,
        Phase.NONE,
        expect=task.state,
        workspace_ready=False,
        worktree=None,
        branch=branch,
    )
    forget_task_sandbox(store.path.parent, task_id, [run.id for run in store.list_runs(task_id)])
    return discarded
