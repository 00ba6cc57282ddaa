"""Reviewing a task's work: its diff, approving (merging) or discarding it, its details."""

from __future__ import annotations

from typing import Any

from seedbed import vcs
from seedbed.domain.checks import shown_checks
from seedbed.domain.errors import SeedbedError, UserError
from seedbed.domain.lifecycle import check_move
from seedbed.domain.models import (
    Control,
    DiffStat,
    Phase,
    Project,
    RunKind,
    Task,
    TaskState,
)
from seedbed.engine.merging import base_moved_since_checks
from seedbed.engine.recovery import holding_task
from seedbed.engine.run_support import (
    commit_work,
    discard_message,
    remove_workspace,
    task_agent,
)
from seedbed.engine.worktree_guard import WorkNotCommitted
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


def _branch_exists(project: Project, task: Task) -> bool:
    """Whether the task's own branch exists (the runner records a branch name only when
    it was free, so a recorded branch is never the user's)."""
    if task.branch is None:
        return False
    return vcs.branch_exists(project.path, task.branch)


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
    project = _project_of(store, task)
    _check_fixable(store, project, task)
    assert task.branch is not None
    files = vcs.conflicting_files(project.path, task.base_branch, task.branch)
    return _merge_base_and_fix(store, task_id, resolve_message(task.base_branch, files))


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


def fix_merge_checks(store: Store, task_id: int) -> Task:
    """Bring the base into the task's branch and fix what the checks found on the merge
    result: a run that first merges the base branch in its worktree (as resolving a
    conflict does), with the failing output as its prompt."""
    task = store.get_task(task_id)
    if task.state is not TaskState.AWAITING_REVIEW or task.phase is not Phase.MERGE_CHECKS_FAILED:
        where = task.state.value + (f" / {task.phase.value}" if task.phase.value else "")
        raise UserError(
            f"task {task_id} has no failed checks on a merge result to fix (it is {where})"
        )
    project = _project_of(store, task)
    _check_fixable(store, project, task)
    runs = [r for r in store.list_runs(task_id) if r.kind is RunKind.MERGE]
    output = runs[-1].checks.output_tail if runs else task.error
    return _merge_base_and_fix(store, task_id, merge_checks_message(task.base_branch, output))


def _check_fixable(store: Store, project: Project, task: Task) -> None:
    if task.profile_id is None:
        raise UserError(f"task {task.id} has no agent profile to fix it")
    check_move(task.id, task.state, TaskState.RUNNING)
    if not _branch_exists(project, task):
        raise UserError(f"task {task.id} has no branch: there is nothing to merge into")


def _merge_base_and_fix(store: Store, task_id: int, message: str) -> Task:
    with holding_task(store, task_id):
        return _queue_fix(store, task_id, message)


def _queue_fix(store: Store, task_id: int, message: str) -> Task:
    return store.move_task(
        task_id,
        TaskState.RUNNING,
        Phase.QUEUED,
        expect=TaskState.AWAITING_REVIEW,
        pending_kind=RunKind.FIX,
        pending_message=message,
        merge_base_first=True,
        control=Control.NONE,
        fix_rounds_used=0,
        error="",
        # The base branch is merged into the task's: a diff from the reviewed commit would
        # show the base's work as the agent's. The next review reads the whole diff.
        reviewed_commit=None,
    )


def discard(store: Store, task_id: int, delete_branch: bool = False) -> Task:
    """Archive a task. Its work is committed to its branch first; the branch is kept
    unless delete_branch. Never while an approve of it lives (its worktree is in use)."""
    with holding_task(store, task_id):
        return _discard(store, task_id, delete_branch)


def _discard(store: Store, task_id: int, delete_branch: bool) -> Task:
    task = store.get_task(task_id)
    check_move(task_id, task.state, TaskState.DISCARDED)
    project = _project_of(store, task)
    if task.worktree is not None:
        # A branch about to be deleted keeps nothing: its worktree is not committed (a
        # change that cannot be, a key or a nested repository in it, is simply dropped).
        if task.worktree.exists() and not delete_branch:
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
    branch = task.branch if task.workspace_ready and _branch_exists(project, task) else None
    if delete_branch and branch is not None:
        vcs.delete_branch(project.path, branch)
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
    checks = shown_checks(runs)
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
        "checks": checks.model_dump(mode="json"),
        "base_moved_since_checks": base_moved_since_checks(project, task, runs),
        "reviewed_commit": task.reviewed_commit,
        "comments": [c.model_dump(mode="json") for c in store.list_comments(task.id)],
        "overlaps": [{"task_id": other, "files": files} for other, files in overlaps],
    }
