"""Adding a repository as a project under a free name (the window's way: a folder or a
drop), and taking a project off Seedbed: refused while its tasks are at work; the work
itself (branches in the repository, worktrees in the data dir) is kept unless asked."""

from __future__ import annotations

from pathlib import Path

from seedbed import vcs
from seedbed.core.context import Changed, Context, Done
from seedbed.core.sandboxing import forget_task_sandbox
from seedbed.core.setup import add_project
from seedbed.core.workspace import remove_workspace, worktree_path
from seedbed.domain.errors import UserError
from seedbed.domain.models import Model, Project, Task, TaskState
from seedbed.domain.slug import free_name, slugify

ACTIVE = (TaskState.RUNNING, TaskState.AWAITING_REVIEW)
NAME_TRIES = 100


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
    runs = {task.id: [run.id for run in store.list_runs(task.id)] for task in tasks}
    store.delete_project(project.id)
    for task_id, run_ids in runs.items():  # never given again: nothing of theirs can run
        forget_task_sandbox(store.path.parent, task_id, run_ids)
    removed = RemovedProject(
        project=project,
        tasks=len(tasks),
        branches=branches,
        worktrees=worktrees,
        deleted=delete_branches,
    )
    changed = Changed(tasks=frozenset(task.id for task in tasks), projects=True)
    return Done(value=removed, changed=changed)


def add_repository(ctx: Context, path: Path) -> Done[Project]:
    """Add the repository holding `path` (its top-level folder) as a project named after
    that folder, made unique with -2, -3 … since the user did not choose the name.

    Blocking (git, the store): run it off the GUI thread. The messages are for the
    window, where the CLI's `--base` and `--name` do not exist.
    """
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if not path.is_dir():
        raise UserError(f"{path} is a file: add a folder, the checkout of a git repository")
    top = vcs.open_repository(path)
    if vcs.current_branch(top) is None:
        raise UserError(
            f"{top} has a detached HEAD: check out the branch tasks should start from "
            "(e.g. `git switch main`), then add it again"
        )
    store = ctx.store
    wanted = slugify(top.name, fallback="project")
    for _ in range(NAME_TRIES):
        projects = store.list_projects()
        for project in projects:
            if _same_path(project.path, top):
                raise UserError(f"{top} is already the project {project.name!r}")
        name = free_name(wanted, {project.name for project in projects})
        try:
            return add_project(ctx, top, name=name)
        except UserError:
            # Another window or `seedbed project add` may have taken the name meanwhile.
            if name not in {project.name for project in store.list_projects()}:
                raise
    raise UserError(f"no free project name for {top} after {NAME_TRIES} tries")


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b
