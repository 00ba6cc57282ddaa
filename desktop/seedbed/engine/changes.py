"""Which files a task's work changes: the live worktree while it runs, else its branch
against its base. Below `review` and `comments`, which both need it."""

from __future__ import annotations

from seedbed import vcs
from seedbed.domain.errors import UserError
from seedbed.domain.models import FileChange, Task, TaskState
from seedbed.store import Store


def diff_files(store: Store, task: Task) -> list[FileChange]:
    project = store.get_project(task.project_id)
    if task.state is TaskState.RUNNING and task.worktree and task.worktree.exists():
        return vcs.worktree_diff_files(task.worktree, task.base_branch)
    if task.branch is None or not vcs.branch_exists(project.path, task.branch):
        raise UserError(f"task {task.id} has no branch: it has not run, or its branch was deleted")
    return vcs.diff_files(project.path, task.base_branch, task.branch)


def line_count(store: Store, task: Task, path: str) -> int | None:
    """How many lines `path` has in the task's work now (its worktree while it runs, else
    its branch); None when it is not a file there."""
    if task.state is TaskState.RUNNING and task.worktree and task.worktree.exists():
        target = task.worktree / path
        try:
            with target.open("rb") as file:
                return sum(1 for _ in file)
        except OSError:
            return None
    if task.branch is None:
        return None
    return vcs.file_line_count(store.get_project(task.project_id).path, task.branch, path)
