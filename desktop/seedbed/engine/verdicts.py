"""The end of a run, carried out (run_end decides it): what the runs that judge rather
than write leave behind (the planner's split into smaller tasks, the reviewer's comments,
what either left in the worktree, undone), the prompt of the run that follows, the
auto-merge. Functions and a collaborator given what they need; the runner calls them
(Qt-free)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seedbed import vcs
from seedbed.core.comments import follow_up_prompt
from seedbed.core.context import Stopping
from seedbed.core.merging import MergeChecksFailed, merge_task
from seedbed.core.planning import Split, split_note
from seedbed.core.recorder import FlushListener
from seedbed.core.review_agent import ReviewVerdict, review_prompt, save_review_comments
from seedbed.core.rounds import fix_prompt
from seedbed.core.workspace import discard_changes
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import ErrorEvent, StatusEvent
from seedbed.domain.models import CheckResult, Model, Phase, Project, Task
from seedbed.domain.slug import one_line
from seedbed.engine.run_end import NextRun, RunEnd
from seedbed.engine.run_support import git_call
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


class RunEnding:
    """Carries out, for the runs of one task, what run_end decided beside the task's
    column: the fields the end writes, the prompt of the run that follows, the
    auto-merge. What it needs is given at its making; the runner applies the rest."""

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        project: Project,
        log: Log,
        on_flush: FlushListener | None,
        stopping: Stopping,
    ) -> None:
        """`stopping`: set by the task's stop, which interrupts its auto-merge."""
        self.store = store
        self.data_dir = data_dir
        self.project = project
        self.log = log
        self.on_flush = on_flush
        self.stopping = stopping

    def fields(self, task: Task, end: RunEnd, split: Split | None) -> dict[str, Any]:
        """The task's fields the end writes beside its column (the smaller tasks of a
        split made on the way)."""
        fields: dict[str, Any] = {}
        if end.review_verdict is not None:
            fields["review_verdict"] = end.review_verdict
        if end.plan is not None:
            fields["plan"] = end.plan
        if end.split_plan and split is not None:
            fields["plan"] = note = split_task(self.store, self.project, task, split)
            self.log(StatusEvent(phase=Phase.PLANNING.value, message=note.splitlines()[0]))
        if end.approve_plan:
            fields["plan_approved"] = True
        if end.fix_round:
            fields["fix_rounds_used"] = end.fix_round
        return fields

    def next_prompt(
        self,
        task: Task,
        end: RunEnd,
        checks: CheckResult,
        diff: str,
        review: ReviewVerdict | None,
    ) -> str:
        """The prompt of the run that follows ("" when none does); the reviewer's
        comments saved on the way (sent back when a fix round answers them)."""
        kept = ""
        if end.save_review_comments and review is not None:
            kept = keep_review(self.store, task, review, end.next_run is NextRun.FIX_REVIEW)
        if end.next_run is NextRun.FIX_CHECKS:
            return fix_prompt(self.project, checks, end.fix_round)
        if end.next_run is NextRun.REVIEW:
            return review_prompt(task, diff)
        return kept

    async def auto_merge(self, task: Task, refusal: str) -> AutoMerged:
        """Merge without a human, the task still running, unless `refusal` says why not
        (run_end.auto_merge_refusal); the merge result is checked as any approve's is.
        Said in the log either way."""
        if refusal:
            self.log(StatusEvent(phase="merging", message=f"not auto-merged: {refusal}"))
            return AutoMerged()
        settings = load_settings(self.data_dir)
        try:
            merged = await asyncio.to_thread(
                merge_task,
                self.store,
                task.id,
                strategy=settings.merge_strategy,
                message="",  # approve's own: the title, the task and its agents
                delete_branch=settings.delete_branch_after_merge,
                automatic=True,
                on_flush=self.on_flush,
                stopping=self.stopping,
            )
        except SeedbedError as exc:
            self.log(ErrorEvent(message=f"not auto-merged: {exc}"))
            if isinstance(exc, vcs.MergeConflict):
                return AutoMerged(phase=Phase.CONFLICT, error=str(exc))
            if isinstance(exc, MergeChecksFailed):
                return AutoMerged(phase=Phase.MERGE_CHECKS_FAILED, error=str(exc))
            return AutoMerged()
        reviewer = " and the reviewer approved" if task.reviewer_profile_id else ""
        message = f"auto-merged into {merged.base_branch}: the checks passed{reviewer}"
        self.log(StatusEvent(phase="merged", message=message))
        return AutoMerged(task=merged)
