"""A task's diff, read from its live worktree while it runs, else from its branch."""

from __future__ import annotations

from seedbed import vcs
from seedbed.core.context import Context
from seedbed.core.workspace import branch_exists, live_worktree, no_branch
from seedbed.domain.errors import UserError
from seedbed.domain.models import DiffStat, Phase, Task
from seedbed.store import Store


def diff_text(ctx: Context, task_id: int) -> str:
    """The task's change against its base, as a unified diff."""
    store = ctx.store
    task = store.get_task(task_id)
    project = store.get_project(task.project_id)
    if task.branch is None:
        raise no_branch(task)
    live = live_worktree(task)
    if live is not None:
        return vcs.worktree_diff_text(live, task.base_branch)
    if not branch_exists(project, task):
        raise UserError(f"the branch {task.branch} of task {task_id} no longer exists")
    return vcs.diff_text(project.path, task.base_branch, task.branch)


def diff_stat(store: Store, task: Task) -> DiffStat:
    project = store.get_project(task.project_id)
    being_made = task.phase in (Phase.QUEUED, Phase.PREPARING) and not task.workspace_ready
    if task.branch is None or being_made:
        return DiffStat()
    live = live_worktree(task)
    if live is not None:
        return vcs.worktree_diff_stat(live, task.base_branch)
    if not branch_exists(project, task):
        return DiffStat()
    return vcs.diff_stat(project.path, task.base_branch, task.branch)
