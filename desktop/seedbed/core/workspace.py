"""A task's workspace: where its work is read from (its live worktree or its branch),
committing what an agent left there, undoing what a planner or reviewer left, removing it."""

from __future__ import annotations

import glob
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from seedbed import secrets, vcs
from seedbed.core.worktree_guard import (
    back_on_branch,
    check_repository,
    clear_stale_locks,
    refuse_keys,
    refuse_nested_repositories,
    return_to_branch,
    stale_lock_note,
)
from seedbed.domain.errors import UserError
from seedbed.domain.models import Project, Task, TaskState
from seedbed.vcs.runner import PATHS_RAW, run_git


def live_worktree(task: Task) -> Path | None:
    """Where the task's work is read from while it runs: its worktree, with what the agent
    has not committed yet. None when its work is read from its branch (it does not run,
    or its worktree is gone). The one answer to "live worktree or branch?"."""
    if task.state is TaskState.RUNNING and task.worktree is not None and task.worktree.exists():
        return task.worktree
    return None


def worktree_path(task: Task) -> Path | None:
    """The task's worktree folder, when it is there (whatever the task's state)."""
    return task.worktree if task.worktree is not None and task.worktree.exists() else None


def branch_exists(project: Project, task: Task) -> bool:
    """Whether the task's own branch exists (the runner records a branch name only when
    it was free, so a recorded branch is never the user's)."""
    if task.branch is None:
        return False
    return vcs.branch_exists(project.path, task.branch)


def no_branch(task: Task) -> UserError:
    """Why a task without a branch has nothing to read, in words true of its state: a
    merged or discarded one had a branch, deleted (after a merge, by default)."""
    if task.state is TaskState.MERGED:
        return UserError(
            f"task {task.id} is merged and its branch was deleted: "
            f"its change is on {task.base_branch} now"
        )
    if task.state is TaskState.DISCARDED:
        return UserError(f"task {task.id} is discarded and its branch was deleted")
    return UserError(f"task {task.id} has no branch yet: it has not run")


def _ignore(_note: str) -> None:
    pass


def commit_work(
    project: Project,
    worktree: Path,
    message: str,
    task: Task | None = None,
    note: Callable[[str], None] = _ignore,
    refs_before: Mapping[str, str] | None = None,
) -> str | None:
    """Commit what is left in a task's worktree, except the project's local files
    (--copy): a copied .env must never reach the task's branch or the base branch.

    First, what an agent or a killed git may have left (worktree_guard): only a worktree
    of the project's repository is committed, a stale index.lock is removed, HEAD goes
    back on the `task`'s branch (taking only commits new since `refs_before`, the refs
    when its agent started), and a nested repository or a known key in the change is
    refused (WorkNotCommitted, nothing staged). `note` hears what was done."""
    check_repository(project.path, worktree)
    for lock in clear_stale_locks(worktree):
        note(stale_lock_note(lock))
    moved = ""
    if task is not None and task.branch is not None:
        moved = return_to_branch(worktree, task.branch, task.base_branch, refs_before)
    if moved:
        note(moved)
    exclude = vcs.local_only_files(project.path, worktree, project.copy_globs)
    refuse_nested_repositories(worktree)
    refuse_keys(worktree, secrets.known_keys(), exclude)
    sha = vcs.commit_all(worktree, message, exclude)
    # A merge of the base branch left for the agent to resolve is committed as a merge
    # even when its result equals the branch's tip.
    return sha or vcs.finish_merge(worktree, message)


def checked_tree(worktree: Path, base: str) -> tuple[str, str]:
    """The tree of the worktree's HEAD and the base branch's commit, as checks see them
    (empty strings when git cannot tell)."""
    try:
        tree = run_git(worktree, "rev-parse", "HEAD^{tree}").strip()
        base_sha = run_git(worktree, "rev-parse", f"refs/heads/{base}").strip()
    except vcs.GitError:
        return "", ""
    return tree, base_sha


def remove_workspace(project: Project, worktree: Path) -> None:
    """Remove a task's worktree and the per-task state agents keep beside it
    (`.<worktree name>.<agent>`, e.g. Aider's chat history): nothing is left behind."""
    vcs.remove_worktree(project.path, worktree)
    for state in worktree.parent.glob(f".{glob.escape(worktree.name)}.*"):
        if state.is_dir() and not state.is_symlink():
            shutil.rmtree(state, ignore_errors=True)


def discard_changes(project: Project, worktree: Path, branch: str, head: str) -> str:
    """Undo what a planner or reviewer run did in the worktree (the work itself is
    committed at `head`, the tip of the task's `branch` when the run started): HEAD back
    on `branch`, the branch and its files back to `head` (a commit it made is dropped
    too), new files removed, the project's local files kept. No other branch moves: one
    the agent switched to (the user's own) stays as it is. A note of the switch, or ""."""
    check_repository(project.path, worktree)  # a reset --hard in another repository…
    keep = set(vcs.local_only_files(project.path, worktree, project.copy_globs))
    note = back_on_branch(worktree, branch)
    run_git(worktree, "reset", "-q", "--hard", head)  # moves `branch` only, HEAD is on it
    out = run_git(worktree, *PATHS_RAW, "ls-files", "-z", "--others", "--exclude-standard")
    for name in out.split("\0"):
        if name and name not in keep:
            (worktree / name).unlink(missing_ok=True)
    return note
