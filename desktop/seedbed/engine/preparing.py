"""A run's workspace, prepared: the task's branch and worktree named and claimed (fresh
names offered when another's have them), made or reused, the project's files copied;
the base branch merged in when asked. Functions given what they need: `update` writes
the task's fields (the runner's copy follows), `log` says each step (Qt-free)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from seedbed import vcs
from seedbed.core.commit_messages import merge_note
from seedbed.core.worktree_guard import check_repository, clear_stale_locks, stale_lock_note
from seedbed.domain.errors import SeedbedError, UserError
from seedbed.domain.events import StatusEvent
from seedbed.domain.models import Project, Task
from seedbed.domain.slug import numbered, task_branch, task_dir_name
from seedbed.engine.run_support import git_call
from seedbed.paths import worktrees_dir

MAX_NAME_TRIES = 100  # `-2` to `-99`: fresh names for a task whose own are taken
Update = Callable[..., Task]
Log = Callable[[StatusEvent], None]


def task_names(data_dir: Path, project: Project, task: Task, n: int) -> tuple[str, Path]:
    """The task's branch and worktree, the n-th try (`-2`, `-3` … after the first)."""
    directory = task_dir_name(task.id, task.title)
    worktree = worktrees_dir(data_dir, project.name) / numbered(directory, n)
    return numbered(task_branch(task.id, task.title), n), worktree


async def prepare_workspace(
    data_dir: Path, project: Project, task: Task, update: Update, log: Log
) -> bool:
    """The task's worktree on its branch, made (True: the setup command is to run in it)
    or reused (False). A UserError when its names are another's."""
    if task.branch is None or task.worktree is None:
        branch, worktree = task_names(data_dir, project, task, 1)
        # Claim the names only if they are free: a branch of that name that exists
        # already is the user's own, never to be used, merged or deleted as ours.
        if await git_call(vcs.branch_name_taken, project.path, branch):
            raise await offer_names(data_dir, project, task, f"the branch {branch}", update)
        if worktree.exists():
            raise await offer_names(data_dir, project, task, f"the worktree {worktree}", update)
        task = update(branch=branch, worktree=worktree, base_branch=project.base_branch)
    assert task.branch is not None and task.worktree is not None
    if task.workspace_ready:
        if task.worktree.exists():  # and is still a worktree of the project's
            await git_call(check_repository, project.path, task.worktree)
        for lock in await git_call(clear_stale_locks, task.worktree):
            log(StatusEvent(phase="preparing", message=stale_lock_note(lock)))
        if not await git_call(vcs.worktree_exists, project.path, task.worktree):
            log(StatusEvent(phase="preparing", message="worktree missing: re-attached"))
            await git_call(vcs.attach_worktree, project.path, task.worktree, task.branch)
        log(StatusEvent(phase="preparing", message=f"reusing {task.worktree}"))
        return False
    try:
        how = await git_call(
            vcs.finish_worktree, project.path, task.worktree, task.branch, task.base_branch
        )
    except vcs.BranchTaken:
        taken = f"the branch {task.branch}"
        raise await offer_names(data_dir, project, task, taken, update) from None
    except SeedbedError:
        if not await git_call(vcs.branch_exists, project.path, task.branch):
            update(branch=None, worktree=None)  # nothing was made: unclaim
        raise
    if how != "created":
        log(StatusEvent(phase="preparing", message=f"an interrupted start was {how}"))
    task = update(workspace_ready=True)
    log(StatusEvent(phase="preparing", message=f"worktree {task.worktree} on branch {task.branch}"))
    if project.copy_globs:
        copied = await git_call(
            vcs.copy_into_worktree, project.path, task.worktree, project.copy_globs
        )
        log(StatusEvent(phase="preparing", message=f"copied {len(copied)} file(s)"))
    return True


async def offer_names(
    data_dir: Path, project: Project, task: Task, taken: str, update: Update
) -> UserError:
    """The error for names another has taken, with fresh ones claimed for the next
    start: the first free `-2`, `-3` … (a branch is the task's own only when its
    name was recorded on the task while no such branch existed; docs/decisions.md)."""
    for n in range(2, MAX_NAME_TRIES):
        branch, worktree = task_names(data_dir, project, task, n)
        if worktree.exists() or await git_call(vcs.branch_name_taken, project.path, branch):
            continue
        update(branch=branch, worktree=worktree, base_branch=project.base_branch)
        return UserError(
            f"{taken} already exists and is not this task's; "
            f"`seedbed task start {task.id}` will use {branch}"
        )
    update(branch=None, worktree=None)
    return UserError(f"{taken} already exists and is not this task's, nor any name after it")


async def merge_base(task: Task, update: Update, log: Log) -> bool:
    """Merge the base branch into the task's branch in its worktree, uncommitted, for the
    agent to resolve; the end-of-run commit makes it a merge commit. Whether a merge is
    left to commit ("Already up to date" leaves none)."""
    assert task.worktree is not None and task.branch is not None
    try:
        files = await git_call(vcs.merge_into_worktree, task.worktree, task.base_branch)
    finally:
        update(merge_base_first=False)  # asked once: a resumed run does not merge
    merged = await git_call(vcs.merge_in_progress, task.worktree)
    log(StatusEvent(phase="preparing", message=merge_note(task.base_branch, task.branch, files)))
    return merged
