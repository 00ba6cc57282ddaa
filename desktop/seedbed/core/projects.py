"""Taking a project off Seedbed: refused while its tasks are at work; the work itself
(branches in the repository, worktrees in the data dir) is kept unless asked."""

from __future__ import annotations

from pathlib import Path

from seedbed import vcs
from seedbed.core.context import Changed, Context, Done
from seedbed.core.workspace import remove_workspace, worktree_path
from seedbed.domain.errors import UserError
from seedbed.domain.models import Model, Project, Task, TaskState

ACTIVE = (TaskState.RUNNING, TaskState.AWAITING_REVIEW)


class RemovedProject(Model):
    """What `remove_project` did: the project, how many tasks it forgot, and the
    branches and worktrees it left in place (or removed, when asked)."""

    project: Project
    tasks: int
    branches: list[str]
    worktrees: list[Path]
    deleted: bool


def check_no_active_tasks(tasks: list[Task], project: Project) -> None:
    active = [task for task in tasks if task.state in ACTIVE]
    if active:
        listed = ", ".join(f"#{task.id} ({task.state.value})" for task in active)
        raise UserError(
            f"project {project.name!r} has active tasks: {listed}; "
            "stop, approve or discard them first"
        )


def remove_project(ctx: Context, ref: str, delete_branches: bool = False) -> Done[RemovedProject]:
    """Forget project `ref` and its tasks' records. Their branches and worktrees stay
    where they are, unless `delete_branches`."""
    store = ctx.store
    project = store.find_project(ref)
    tasks = store.list_tasks(project.id)
    check_no_active_tasks(tasks, project)
    branches = [task.branch for task in tasks if task.branch]
    worktrees = [path for task in tasks if (path := worktree_path(task)) is not None]
    if delete_branches:
        for task in tasks:
            if task.worktree is not None:
                remove_workspace(project, task.worktree)
        for branch in branches:
            vcs.delete_branch(project.path, branch)
    store.delete_project(project.id)
    removed = RemovedProject(
        project=project,
        tasks=len(tasks),
        branches=branches,
        worktrees=worktrees,
        deleted=delete_branches,
    )
    changed = Changed(tasks=frozenset(task.id for task in tasks), projects=True)
    return Done(value=removed, changed=changed)
