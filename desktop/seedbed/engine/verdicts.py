"""The runs that judge rather than write: the planner's (a plan, or a split into smaller
tasks) and the reviewer's (a verdict); what follows them; auto-merge; the budgets that
stop a run. A mixin of TaskRunner, which has the state these methods use (Qt-free)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from seedbed import vcs
from seedbed.agents.base import RunOutcome
from seedbed.core.budgets import check_budget, spent
from seedbed.core.comments import follow_up_prompt
from seedbed.core.merging import MergeChecksFailed, merge_task
from seedbed.core.planning import parse_split, split_note
from seedbed.core.recorder import FlushListener
from seedbed.core.review_agent import (
    ReviewVerdict,
    Verdict,
    parse_verdict,
    review_note,
    save_review_comments,
)
from seedbed.core.transcript import final_words
from seedbed.core.workspace import discard_changes
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import ErrorEvent, StatusEvent
from seedbed.domain.models import (
    CheckResult,
    CheckStatus,
    Control,
    Phase,
    Project,
    Run,
    RunKind,
    RunStatus,
    Task,
)
from seedbed.domain.slug import one_line
from seedbed.engine.run_support import git_call, stopped
from seedbed.store.settings import load_settings

if TYPE_CHECKING:
    from seedbed.core.recorder import EventRecorder
    from seedbed.store import Store


class PlanAndReview:
    """TaskRunner's planner and reviewer runs, their aftermath, auto-merge, budgets."""

    store: Store
    data_dir: Path
    task: Task
    project: Project
    control: Control
    run: Run | None
    _recorder: EventRecorder | None
    _on_flush: FlushListener | None
    _halt_reason: str
    _halting: asyncio.Task[None] | None

    _on_change: Callable[[int], None]

    # Provided by TaskRunner.
    _run_agent: Callable[[], Awaitable[RunOutcome]]

    async def _finish(
        self,
        outcome: RunOutcome,
        checks: CheckResult,
        review: ReviewVerdict | None = None,
        plan: str = "",
    ) -> None: ...
    async def stop(self, control: Control) -> None: ...
    def _log(self, event: StatusEvent | ErrorEvent) -> None: ...

    async def _branch_tip(self) -> str:
        assert self.task.worktree is not None and self.task.branch is not None
        return await git_call(vcs.rev_parse, self.task.worktree, f"refs/heads/{self.task.branch}")

    async def _undo_changes(self, head: str, phase: Phase) -> None:
        """What the planner or reviewer left undone (workspace.discard_changes)."""
        assert self.task.worktree is not None and self.task.branch is not None
        note = await git_call(
            discard_changes, self.project, self.task.worktree, self.task.branch, head
        )
        if note:
            self._log(StatusEvent(phase=phase.value, message=note))

    async def _plan_steps(self) -> RunOutcome:
        """The planner's run: it reads, changes nothing (what it left is undone), and its
        final answer is the plan, or a split into smaller tasks."""
        assert self.run is not None and self.task.worktree is not None
        head = await self._branch_tip()
        outcome = await self._run_agent() if self.control is Control.NONE else stopped()
        await self._undo_changes(head, Phase.PLANNING)
        answer = ""
        if outcome.status is RunStatus.SUCCEEDED and self.control is Control.NONE:
            assert self._recorder is not None
            self._recorder.flush()
            answer = final_words(self.store, self.run.id)
        await self._finish(outcome, CheckResult(), plan=answer)
        return outcome

    async def _review_steps(self) -> RunOutcome:
        """The reviewer's run: it changes nothing (what it left is undone), the checks
        of the work it read stand, and its final answer holds the verdict."""
        assert self.run is not None and self.task.worktree is not None
        head = await self._branch_tip()
        outcome = await self._run_agent() if self.control is Control.NONE else stopped()
        await self._undo_changes(head, Phase.REVIEWING)
        runs = [r for r in self.store.list_runs(self.task.id) if r.kind is not RunKind.REVIEW]
        checks = runs[-1].checks if runs else CheckResult()
        verdict = None
        if outcome.status is RunStatus.SUCCEEDED and self.control is Control.NONE:
            assert self._recorder is not None
            self._recorder.flush()
            verdict = parse_verdict(final_words(self.store, self.run.id))
        await self._finish(outcome, checks, verdict)
        return outcome

    def _after_plan(self, answer: str) -> tuple[str, str, tuple[RunKind, str] | None]:
        """The planner's answer kept as the plan (a split makes the smaller tasks, and
        the plan says where they are); an auto-approved plan goes on to the code. Returns
        the plan, the task's error text and the run to follow."""
        if not answer.strip():
            self._log(ErrorEvent(message="the planner wrote no plan"))
            return self.task.plan, "the planner wrote no plan", None
        split = parse_split(answer)
        if split is not None:
            children = [
                self.store.add_task(
                    Task(
                        project_id=self.task.project_id,
                        title=one_line(part.title),
                        prompt=part.prompt or part.title,
                        profile_id=self.task.profile_id,
                        reviewer_profile_id=self.task.reviewer_profile_id,
                        base_branch=self.project.base_branch,
                        parent_id=self.task.id,
                        # What bounds and verifies the parent bounds each part.
                        auto_merge=self.task.auto_merge,
                        budget_usd=self.task.budget_usd,
                        budget_tokens=self.task.budget_tokens,
                        time_limit_s=self.task.time_limit_s,
                    )
                )
                for part in split.split
            ]
            note = split_note(children)
            self._log(StatusEvent(phase=Phase.PLANNING.value, message=note.splitlines()[0]))
            return note, "", None
        self._log(StatusEvent(phase=Phase.PLANNING.value, message="the plan is written"))
        if self.task.auto_approve_plan:
            self._log(StatusEvent(phase=Phase.PLANNING.value, message="plan approved (auto)"))
            self.store.update_task(self.task.id, plan_approved=True)
            return answer.strip() + "\n", "", (RunKind.IMPLEMENT, "")
        return answer.strip() + "\n", "", None

    def _after_review(
        self, review: ReviewVerdict | None, reason: str
    ) -> tuple[str, str, tuple[RunKind, str] | None]:
        """The reviewer's verdict kept on the task, its comments saved (the reviewer's);
        requested changes become a fix round while rounds are left. Returns the verdict
        word, the task's error text and the run to follow."""
        if review is None:
            why = reason or "its answer held no verdict"
            self._log(ErrorEvent(message=f"the reviewer gave no verdict: {why}"))
            return "none", f"the reviewer gave no verdict: {why}", None
        self._log(StatusEvent(phase=Phase.REVIEWING.value, message=review_note(review)))
        if review.verdict is Verdict.APPROVE:
            return Verdict.APPROVE.value, "", None
        comments = save_review_comments(self.store, self.task, review)
        number = self.task.fix_rounds_used + 1
        if number > self.project.fix_rounds:
            return Verdict.REQUEST_CHANGES.value, "", None
        self.store.mark_comments_sent([c.id for c in comments], time.time())
        prompt = follow_up_prompt(comments, review.summary)
        message = f"the reviewer asked for changes: fix round {number} of {self.project.fix_rounds}"
        self._log(StatusEvent(phase=Phase.REVIEWING.value, message=message))
        return Verdict.REQUEST_CHANGES.value, "", (RunKind.FIX, prompt)

    def _diff_text(self) -> str:
        task = self.task
        assert task.branch is not None
        return vcs.diff_text(self.project.path, task.base_branch, task.branch)

    async def _auto_merge(self, checks: CheckResult) -> tuple[bool, tuple[Phase, str] | None]:
        """Merge without a human, the task still running: only with checks that ran and
        passed, and the reviewer's approval when the task has a reviewer; the merge result
        is checked as any approve's is. Said in the log either way. Returns (merged, the
        phase and error of a conflict or of checks that failed on the merge result)."""
        task = self.task
        refusal = ""
        if checks.status is not CheckStatus.PASSED:
            refusal = "no checks ran" if checks.status is CheckStatus.NONE else "checks failed"
        elif task.reviewer_profile_id is not None and task.review_verdict != Verdict.APPROVE:
            refusal = "the reviewer did not approve"
        if refusal:
            self._log(StatusEvent(phase="merging", message=f"not auto-merged: {refusal}"))
            self._recorder_flush()
            return False, None
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
                on_flush=self._on_flush,
            )
        except SeedbedError as exc:
            self._log(ErrorEvent(message=f"not auto-merged: {exc}"))
            self._recorder_flush()
            if isinstance(exc, vcs.MergeConflict):
                return False, (Phase.CONFLICT, str(exc))
            if isinstance(exc, MergeChecksFailed):
                return False, (Phase.MERGE_CHECKS_FAILED, str(exc))
            return False, None
        reviewer = " and the reviewer approved" if task.reviewer_profile_id else ""
        message = f"auto-merged into {merged.base_branch}: the checks passed{reviewer}"
        self._log(StatusEvent(phase="merged", message=message))
        self._recorder_flush()
        self.task = merged
        self._on_change(task.id)
        return True, None

    def _recorder_flush(self) -> None:
        if self._recorder is not None:
            self._recorder.flush()

    def _halt(self, reason: str) -> None:
        """Stop the run for a used-up budget (once): work committed, the reason kept."""
        if self._halt_reason:
            return
        self._halt_reason = reason
        self._log(ErrorEvent(message=f"stopped: {reason}"))
        self._halting = asyncio.create_task(self.stop(Control.STOP))

    async def _watch_time(self) -> None:
        """The task's time limit, counting its earlier runs too."""
        limit = self.task.time_limit_s
        if not limit:
            return
        earlier = [
            r for r in self.store.list_runs(self.task.id) if self.run and r.id != self.run.id
        ]
        left = limit - spent(earlier).seconds
        started = self.run.started_at if self.run and self.run.started_at else time.time()
        await asyncio.sleep(max(0.0, left - (time.time() - started)))
        over = check_budget(self.store, self.project, self.task, running=True)
        self._halt(over or "time limit reached")
