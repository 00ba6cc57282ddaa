"""Everything `task show` prints of a task, as plain JSON-ready data."""

from __future__ import annotations

from typing import Any

from seedbed.core.budgets import spent
from seedbed.core.context import Context
from seedbed.core.dependencies import blocked_by
from seedbed.core.diffs import diff_stat
from seedbed.core.merging import base_moved_since_checks
from seedbed.core.radar import ACTIVE, budget_note, overlapping_tasks
from seedbed.domain.checks import shown_checks
from seedbed.domain.errors import SeedbedError
from seedbed.domain.models import DiffStat, Task, TaskState
from seedbed.store import Store


def _diff_summary(store: Store, task: Task) -> dict[str, int]:
    """The diff's size for `task show`; a worktree caught mid-change counts as empty. A
    merged task whose branch was deleted: its size as of its last run, as its card says."""
    if task.branch is None and task.state is TaskState.MERGED:
        stored = DiffStat(
            files=task.diff_files, insertions=task.diff_insertions, deletions=task.diff_deletions
        )
        return stored.model_dump()
    try:
        return diff_stat(store, task).model_dump()
    except SeedbedError:
        return DiffStat().model_dump()


def task_detail(ctx: Context, task_id: int) -> dict[str, Any]:
    """Everything `task show` prints, as plain JSON-ready data."""
    store = ctx.store
    task = store.get_task(task_id)
    project = store.get_project(task.project_id)
    profile = store.get_profile(task.profile_id).name if task.profile_id else None
    runs = store.list_runs(task_id)
    diff = _diff_summary(store, task)
    checks = shown_checks(runs)
    lines = diff["insertions"] + diff["deletions"]
    question = store.waiting_question(task_id)
    overlaps = overlapping_tasks(ctx, project.id).get(task.id, []) if task.state in ACTIVE else []
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
        "origin_id": task.origin_id,
        "progress": runs[-1].progress if runs else "",
        "question": question.model_dump(mode="json") if question is not None else None,
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
                "progress": run.progress,
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
