"""Which files a task's work changes: the live worktree while it runs, else its branch
against its base (`workspace.live_worktree` decides which)."""

from __future__ import annotations

from seedbed import vcs
from seedbed.core.context import Context
from seedbed.core.workspace import branch_exists, live_worktree, no_branch
from seedbed.domain.errors import UserError
from seedbed.domain.models import FileChange, Task
from seedbed.store import Store
from seedbed.vcs.worktree_files import open_worktree_file


def changed_files(ctx: Context, task_id: int) -> list[FileChange]:
    """The files the task's work changes (`seedbed task diff --stat`)."""
    return diff_files(ctx.store, ctx.store.get_task(task_id))


def diff_files(store: Store, task: Task) -> list[FileChange]:
    project = store.get_project(task.project_id)
    live = live_worktree(task)
    if live is not None:
        return vcs.worktree_diff_files(live, task.base_branch)
    if task.branch is None:
        raise no_branch(task)
    if not branch_exists(project, task):
        raise UserError(f"the branch {task.branch} of task {task.id} no longer exists")
    return vcs.diff_files(project.path, task.base_branch, task.branch)


def line_count(store: Store, task: Task, path: str) -> int | None:
    """How many lines `path` has in the task's work now (its worktree while it runs, else
    its branch); None when it is not a file there."""
    live = live_worktree(task)
    if live is not None:
        stream = open_worktree_file(live, path)
        if stream is None:
            return None
        try:
            with stream:
                return sum(1 for _ in stream)
        except OSError:
            return None
    if task.branch is None:
        return None
    return vcs.file_line_count(store.get_project(task.project_id).path, task.branch, path)
