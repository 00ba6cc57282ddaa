"""What the runs that judge rather than write leave behind, carried out: the planner's
split into smaller tasks, the reviewer's comments, what either left in the worktree
undone; and the auto-merge at the end of a run. Plain functions over what they are given
(the decision of what to do is run_end's; the runner calls these; Qt-free)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from seedbed import vcs
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import ErrorEvent, StatusEvent
from seedbed.domain.models import Model, Phase, Project, Task
from seedbed.domain.slug import one_line
from seedbed.engine.comments import follow_up_prompt
from seedbed.engine.merging import MergeChecksFailed, approve
from seedbed.engine.planning import Split, split_note
from seedbed.engine.review_agent import ReviewVerdict, save_review_comments
from seedbed.engine.run_support import FlushListener, discard_changes, git_call
from seedbed.store import Store
from seedbed.store.settings import load_settings

Log = Callable[[StatusEvent | ErrorEvent], None]


class AutoMerged(Model):
    """An auto-merge's outcome: the merged task, or the phase and error a conflict or
    checks that failed on the merge result leave (neither: the task stays ready)."""

    task: Task | None = None
    phase: Phase | None = None
    error: str = ""


async def branch_tip(task: Task) -> str:
    assert task.worktree is not None and task.branch is not None
    return await git_call(vcs.rev_parse, task.worktree, f"refs/heads/{task.branch}")


async def undo_changes(project: Project, task: Task, head: str) -> str:
    """What a planner or reviewer left, undone (run_support.discard_changes); its note."""
    assert task.worktree is not None and task.branch is not None
    return await git_call(discard_changes, project, task.worktree, task.branch, head)


def split_task(store: Store, project: Project, task: Task, split: Split) -> str:
    """The smaller tasks a planner proposed, each on the board as planned; the parent's
    plan, which says where they are."""
    children = [
        store.add_task(
            Task(
                project_id=task.project_id,
                title=one_line(part.title),
                prompt=part.prompt or part.title,
                profile_id=task.profile_id,
                reviewer_profile_id=task.reviewer_profile_id,
                base_branch=project.base_branch,
                parent_id=task.id,
                # What bounds and verifies the parent bounds each part.
                auto_merge=task.auto_merge,
                budget_usd=task.budget_usd,
                budget_tokens=task.budget_tokens,
                time_limit_s=task.time_limit_s,
            )
        )
        for part in split.split
    ]
    return split_note(children)


def keep_review(store: Store, task: Task, review: ReviewVerdict, send: bool) -> str:
    """The reviewer's comments saved as the reviewer's; with `send`, sent back to the
    agent: the fix round's prompt ("" without)."""
    comments = save_review_comments(store, task, review)
    if not send:
        return ""
    store.mark_comments_sent([c.id for c in comments], time.time())
    return follow_up_prompt(comments, review.summary)


def diff_text(project: Project, task: Task) -> str:
    assert task.branch is not None
    return vcs.diff_text(project.path, task.base_branch, task.branch)


async def auto_merge(
    store: Store, data_dir: Path, task: Task, log: Log, on_flush: FlushListener | None
) -> AutoMerged:
    """Merge without a human, the task still running (run_end decided it may); the merge
    result is checked as any approve's is. Said in the log either way."""
    settings = load_settings(data_dir)
    try:
        merged = await asyncio.to_thread(
            approve,
            store,
            task.id,
            strategy=settings.merge_strategy,
            message="",  # approve's own: the title, the task and its agents
            delete_branch=settings.delete_branch_after_merge,
            automatic=True,
            on_flush=on_flush,
        )
    except SeedbedError as exc:
        log(ErrorEvent(message=f"not auto-merged: {exc}"))
        if isinstance(exc, vcs.MergeConflict):
            return AutoMerged(phase=Phase.CONFLICT, error=str(exc))
        if isinstance(exc, MergeChecksFailed):
            return AutoMerged(phase=Phase.MERGE_CHECKS_FAILED, error=str(exc))
        return AutoMerged()
    reviewer = " and the reviewer approved" if task.reviewer_profile_id else ""
    message = f"auto-merged into {merged.base_branch}: the checks passed{reviewer}"
    log(StatusEvent(phase="merged", message=message))
    return AutoMerged(task=merged)
