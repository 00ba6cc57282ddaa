"""Reviewing a task's work: its diff, approving (merging) or discarding it, its details."""

from __future__ import annotations

import glob
import shutil
from pathlib import Path
from typing import Any

from seedbed import vcs
from seedbed.domain.errors import SeedbedError, UserError
from seedbed.domain.lifecycle import check_move
from seedbed.domain.models import (
    CheckResult,
    Control,
    DiffStat,
    MergeStrategy,
    Phase,
    Project,
    RunKind,
    Task,
    TaskState,
)
from seedbed.domain.slug import one_line
from seedbed.engine.runner import commit_work
from seedbed.store import Store

# -- the diff, approve, discard --------------------------------------------------------


def _project_of(store: Store, task: Task) -> Project:
    return store.get_project(task.project_id)


def diff_text(store: Store, task_id: int) -> str:
    task = store.get_task(task_id)
    project = _project_of(store, task)
    if task.branch is None:
        raise UserError(f"task {task_id} has no branch yet: it has not run")
    if task.state is TaskState.RUNNING and task.worktree and task.worktree.exists():
        return vcs.worktree_diff_text(task.worktree, task.base_branch)
    if not _branch_exists(project, task):
        raise UserError(f"the branch {task.branch} of task {task_id} no longer exists")
    return vcs.diff_text(project.path, task.base_branch, task.branch)


def diff_stat(store: Store, task: Task) -> DiffStat:
    project = _project_of(store, task)
    being_made = task.phase in (Phase.QUEUED, Phase.PREPARING) and not task.workspace_ready
    if task.branch is None or being_made:
        return DiffStat()
    if task.state is TaskState.RUNNING and task.worktree and task.worktree.exists():
        return vcs.worktree_diff_stat(task.worktree, task.base_branch)
    if not _branch_exists(project, task):
        return DiffStat()
    return vcs.diff_stat(project.path, task.base_branch, task.branch)


def remove_workspace(project: Project, worktree: Path) -> None:
    """Remove a task's worktree and the per-task state agents keep beside it
    (`.<worktree name>.<agent>`, e.g. Aider's chat history): nothing is left behind."""
    vcs.remove_worktree(project.path, worktree)
    for state in worktree.parent.glob(f".{glob.escape(worktree.name)}.*"):
        if state.is_dir() and not state.is_symlink():
            shutil.rmtree(state, ignore_errors=True)


def _branch_exists(project: Project, task: Task) -> bool:
    """Whether the task's own branch exists (the runner records a branch name only when
    it was free, so a recorded branch is never the user's)."""
    if task.branch is None:
        return False
    return vcs.branch_exists(project.path, task.branch)


def approve(
    store: Store,
    task_id: int,
    strategy: MergeStrategy = MergeStrategy.SQUASH,
    message: str = "",
    delete_branch: bool = False,
    automatic: bool = False,
) -> Task:
    """Merge the task's branch into its base branch → merged, worktree removed (and the
    branch too with delete_branch). `automatic`: the engine's auto-merge of a task that
    is still running (its run ending), so no one can act on it meanwhile.

    On a conflict the base checkout is left exactly as it was and the task waits in
    awaiting_review / conflict, naming the files.
    """
    task = store.get_task(task_id)
    expect = TaskState.RUNNING if automatic else TaskState.AWAITING_REVIEW
    if task.state is not expect:
        check_move(task_id, task.state, TaskState.MERGED)  # names what is wrong
        raise UserError(f"task {task_id} is {task.state.value}: it is not for this merge")
    project = _project_of(store, task)
    if not _branch_exists(project, task):
        raise UserError(f"task {task_id} has no branch to merge")
    assert task.branch is not None
    if task.worktree is not None and task.worktree.exists():
        commit_work(
            project, task.worktree, f"{one_line(task.title)}\n\nChanges left in the worktree.\n"
        )
    if vcs.diff_stat(project.path, task.base_branch, task.branch).files == 0:
        raise UserError(
            f"task {task_id} changed nothing against {task.base_branch}: nothing to merge "
            "(discard it instead)"
        )
    subject = message.strip() or one_line(task.title)
    try:
        vcs.merge(
            project.path,
            task.base_branch,
            task.branch,
            strategy,
            subject + f"\n\nSeedbed task {task.id}\n" if not message.strip() else message,
            task.worktree if task.worktree is not None and task.worktree.exists() else None,
        )
    except vcs.MergeConflict as exc:
        if not automatic:  # the engine moves an auto-merged task itself
            store.update_task(task_id, phase=Phase.CONFLICT, error=str(exc))
        raise
    if task.worktree is not None:
        remove_workspace(project, task.worktree)
    branch: str | None = task.branch
    # Only a branch Seedbed made: the runner records a branch name only when it was free.
    if delete_branch and task.branch.startswith("seedbed/"):
        vcs.delete_branch(project.path, task.branch)
        branch = None
    return store.move_task(
        task_id,
        TaskState.MERGED,
        Phase.NONE,
        expect=expect,
        workspace_ready=False,
        worktree=None,
        branch=branch,
        error="",
    )


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


def resolve_conflict(store: Store, task_id: int) -> Task:
    """Ask the agent to resolve a conflict: a run that first merges the base branch into
    the task's branch in its own worktree, then lets the agent resolve the conflicts there;
    its end-of-run commit is the merge commit. The user's checkout is never touched."""
    task = store.get_task(task_id)
    if task.state is not TaskState.AWAITING_REVIEW or task.phase is not Phase.CONFLICT:
        where = task.state.value + (f" / {task.phase.value}" if task.phase.value else "")
        raise UserError(
            f"task {task_id} has no merge conflict to resolve (it is {where}); "
            "approve it first to find out whether it conflicts"
        )
    if task.profile_id is None:
        raise UserError(f"task {task_id} has no agent profile to resolve the conflict")
    check_move(task_id, task.state, TaskState.RUNNING)
    project = _project_of(store, task)
    if not _branch_exists(project, task):
        raise UserError(f"task {task_id} has no branch: there is nothing to merge into")
    assert task.branch is not None
    files = vcs.conflicting_files(project.path, task.base_branch, task.branch)
    return store.move_task(
        task_id,
        TaskState.RUNNING,
        Phase.QUEUED,
        expect=TaskState.AWAITING_REVIEW,
        pending_kind=RunKind.FIX,
        pending_message=resolve_message(task.base_branch, files),
        merge_base_first=True,
        control=Control.NONE,
        fix_rounds_used=0,
        # The base branch is merged into the task's: a diff from the reviewed commit would
        # show the base's work as the agent's. The next review reads the whole diff.
        reviewed_commit=None,
    )


def discard(store: Store, task_id: int, delete_branch: bool = False) -> Task:
    """Archive a task. Its work is committed to its branch first; the branch is kept
    unless delete_branch."""
    task = store.get_task(task_id)
    check_move(task_id, task.state, TaskState.DISCARDED)
    project = _project_of(store, task)
    if task.worktree is not None:
        if task.worktree.exists():
            message = f"{one_line(task.title)}\n\nWork kept when discarded.\n"
            commit_work(project, task.worktree, message)
        # Also forgets a worktree whose directory was deleted by hand, which would
        # otherwise still hold its branch and make --delete-branch fail.
        remove_workspace(project, task.worktree)
    branch = task.branch
    if delete_branch and _branch_exists(project, task):
        assert task.branch is not None
        vcs.delete_branch(project.path, task.branch)
        branch = None
    return store.move_task(
        task_id,
        TaskState.DISCARDED,
        Phase.NONE,
        expect=task.state,
        workspace_ready=False,
        worktree=None,
        branch=branch,
    )


# -- reading ----------------------------------------------------------------------------


def _diff_summary(store: Store, task: Task) -> dict[str, int]:
    """The diff's size for `task show`; a worktree caught mid-change counts as empty."""
    try:
        return diff_stat(store, task).model_dump()
    except SeedbedError:
        return DiffStat().model_dump()


def task_detail(store: Store, task_id: int) -> dict[str, Any]:
    """Everything `task show` prints, as plain JSON-ready data."""
    # radar reads diffs through this module, so importing it at the top would be circular.
    from seedbed.engine.budgets import spent
    from seedbed.engine.dependencies import blocked_by
    from seedbed.engine.radar import ACTIVE, budget_note, overlapping_tasks

    task = store.get_task(task_id)
    project = _project_of(store, task)
    profile = store.get_profile(task.profile_id).name if task.profile_id else None
    runs = store.list_runs(task_id)
    diff = _diff_summary(store, task)
    checks = runs[-1].checks if runs else None  # an older run's checks say nothing now
    lines = diff["insertions"] + diff["deletions"]
    overlaps = overlapping_tasks(store, project.id).get(task.id, []) if task.state in ACTIVE else []
    return {
        "id": task.id,
        "title": task.title,
        "prompt": task.prompt,
        "state": task.state.value,
        "phase": task.phase.value,
        "project": project.name,
        "project_id": project.id,
        "branch": task.branch,
        "worktree": str(task.worktree) if task.worktree else None,
        "base": task.base_branch,
        "profile": profile,
        "position": task.position,
        "foreground": task.foreground,
        "plan_first": task.plan_first,
        "plan": task.plan,
        "fix_rounds_used": task.fix_rounds_used,
        "after": task.after,
        "reviewer": store.get_profile(task.reviewer_profile_id).name
        if task.reviewer_profile_id
        else None,
        "review_verdict": task.review_verdict,
        "auto_merge": task.auto_merge,
        "planner": store.get_profile(task.planner_profile_id).name
        if task.planner_profile_id
        else None,
        "auto_approve_plan": task.auto_approve_plan,
        "parent_id": task.parent_id,
        "budget": {
            "usd": task.budget_usd,
            "tokens": task.budget_tokens,
            "time_limit_s": task.time_limit_s,
        },
        "spent": spent(runs).model_dump(),
        "waiting_for": blocked_by(task, {t.id: t.state for t in store.list_tasks(project.id)}),
        "error": task.error,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "runs": [
            {
                "id": run.id,
                "number": run.number,
                "kind": run.kind.value,
                "status": run.status.value,
                "exit_code": run.exit_code,
                "reason": run.reason,
                "started_at": run.started_at,
                "ended_at": run.ended_at,
                "commit": run.commit,
                "tokens_in": run.tokens_in,
                "tokens_out": run.tokens_out,
                "cost_usd": run.cost_usd,
                "context_fill": run.context_fill,
            }
            for run in runs
        ],
        "diff": diff,
        "diff_budget": project.diff_budget,
        "over_budget": bool(project.diff_budget) and lines > project.diff_budget,
        "budget_note": budget_note(lines, project.diff_budget),
        "checks": (checks or CheckResult()).model_dump(mode="json"),
        "reviewed_commit": task.reviewed_commit,
        "comments": [c.model_dump(mode="json") for c in store.list_comments(task.id)],
        "overlaps": [{"task_id": other, "files": files} for other, files in overlaps],
    }
