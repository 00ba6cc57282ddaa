"""The end of a run, applied: what the agent left committed, the run's facts gathered,
its end decided (run_end.decide_end) and stored; the task waits for review, merges
itself, or the next run follows in its slot (verdicts.RunEnding carries out the rest).
Qt-free."""

from __future__ import annotations

import time
from typing import Any

from seedbed import vcs
from seedbed.agents.base import RunOutcome
from seedbed.core.commit_messages import commit_message, task_agent
from seedbed.core.planning import parse_split
from seedbed.core.recorder import FlushListener
from seedbed.core.review_agent import ReviewVerdict, review_note
from seedbed.core.workspace import commit_work
from seedbed.core.worktree_guard import WorkNotCommitted
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import ErrorEvent, StatusEvent
from seedbed.domain.models import CheckResult, Control, DiffStat, TaskState
from seedbed.engine.run_end import RunEnd, RunFacts, decide_end, review_may_follow
from seedbed.engine.run_state import RunState
from seedbed.engine.run_support import git_call
from seedbed.engine.verdicts import RunEnding, diff_text
from seedbed.vcs.runner import configured_identity, seedbed_identity_note


class RunFinisher:
    """Commits and ends the runs of one task. `committing`: the snapshot commit runs
    (a first stop lets it finish); `next_follows`: the run just ended has a next one in
    the same slot (a fix round, the reviewer's run)."""

    def __init__(self, state: RunState, on_flush: FlushListener | None) -> None:
        self.state = state
        self.committing = False
        self.next_follows = False
        self._end_noted = False
        self._ending = RunEnding(
            state.store, state.data_dir, state.project, state.log, on_flush, state.stopping
        )

    def new_run(self) -> None:
        self.next_follows = False
        self._end_noted = False

    async def commit(self) -> str:
        """Commit what the agent left; why it was not committed ("" when it was, or there
        was nothing to commit)."""
        state = self.state
        assert state.run is not None
        task = state.task
        if not task.workspace_ready or task.worktree is None or not task.worktree.exists():
            return ""
        agent = task_agent(state.store, task)
        message = commit_message(task, state.run, state.merged_base, agent)
        notes: list[str] = []  # heard on a git thread, logged here
        self.committing = True
        try:
            sha = await git_call(
                commit_work,
                state.project,
                task.worktree,
                message,
                task,
                notes.append,
                state.refs_before,
            )
        except WorkNotCommitted as exc:
            self._log_notes(notes)
            state.log(ErrorEvent(message=str(exc)))
            return str(exc)
        finally:
            self.committing = False
        self._log_notes(notes)
        if sha:
            state.run = state.store.update_run(state.run.id, commit=sha)
            state.log(StatusEvent(phase="committing", message=f"committed {sha[:10]}"))
            if await git_call(configured_identity, task.worktree) is None:
                self._log_notes([seedbed_identity_note(state.project.path)])
        return ""

    def _log_notes(self, notes: list[str]) -> None:
        for note in notes:
            self.state.log(StatusEvent(phase="committing", message=note))

    async def finish(
        self,
        outcome: RunOutcome,
        checks: CheckResult,
        review: ReviewVerdict | None = None,
        plan: str = "",
    ) -> None:
        """End the run: its facts gathered, its end decided (run_end.decide_end), then
        applied; the task waits for review, or the next run follows in this slot (a fix
        round, the reviewer's run). `review`, `plan`: a reviewer's verdict, a planner's
        answer."""
        state = self.state
        assert state.run is not None
        split = parse_split(plan)
        facts = self._facts(outcome, checks, review, plan, split is not None)
        # What takes time comes first: a stop that arrives during it is seen (the stop is
        # read after it), and no next run is planned for a task that was stopped (it
        # would never start).
        stat = await self._diff_stat()
        diff = await self._reviewer_diff() if review_may_follow(facts) else ""
        stop = {"control": state.control, "halt_reason": state.halt_reason}
        end = decide_end(facts.model_copy(update=stop))
        fields = self._ending.fields(state.task, end, split)
        prompt = self._ending.next_prompt(state.task, end, checks, diff, review)
        for note in end.notes:
            state.log(
                ErrorEvent(message=note.message)
                if note.error
                else StatusEvent(phase=note.phase.value, message=note.message)
            )
        # Every event is stored before the run says it ended: `task log --follow` stops
        # reading when it sees the end.
        if not self._end_noted:  # once, though a full disk has the end tried again
            state.log(StatusEvent(phase=end.phase.value, message=f"run {state.run.number} ended"))
            self._end_noted = True
        state.run_log.recorder.flush()
        state.run = state.store.update_run(
            state.run.id,
            status=end.status,
            exit_code=outcome.exit_code,
            reason=end.reason,
            ended_at=time.time(),
            checks=checks,
        )
        fields |= {
            "diff_files": stat.files,
            "diff_insertions": stat.insertions,
            "diff_deletions": stat.deletions,
        }
        if end.next_run is None:
            await self._settle(end, fields)
            return
        # The task stays running, in this slot: the next run follows at once.
        state.task = state.store.update_task(
            state.task.id,
            expect=TaskState.RUNNING,
            pending_kind=end.next_run.kind,
            pending_message=prompt,
            **fields,
        )
        self.next_follows = True
        state.changed()

    def _facts(
        self,
        outcome: RunOutcome,
        checks: CheckResult,
        review: ReviewVerdict | None,
        plan: str,
        plan_split: bool,
    ) -> RunFacts:
        """What the run's end is decided on (the stop is read later, see finish)."""
        state = self.state
        assert state.run is not None
        task, scrub = state.task, state.run_log.recorder.scrub
        return RunFacts(
            kind=state.run.kind,
            status=outcome.status,
            reason=scrub(outcome.reason),
            control=state.control,
            halt_reason=state.halt_reason,
            disk_full=scrub(state.run_log.disk_full),
            checks=checks,
            nothing_changed=state.nothing_changed,
            has_reviewer=task.reviewer_profile_id is not None,
            has_branch=task.branch is not None,
            rounds_used=task.fix_rounds_used,
            rounds_allowed=state.project.fix_rounds,
            auto_merge=task.auto_merge,
            review_verdict=task.review_verdict,
            verdict=review.verdict.value if review is not None else None,
            verdict_note=review_note(review) if review is not None else "",
            plan_answer=plan,
            plan_split=plan_split,
            auto_approve_plan=task.auto_approve_plan,
            task_plan=task.plan,
        )

    async def _reviewer_diff(self) -> str:
        """The diff the reviewer's run would read; "" when it cannot be read."""
        try:
            return await git_call(diff_text, self.state.project, self.state.task)
        except SeedbedError as exc:  # the review then reads the files themselves
            message = f"could not read the diff for the reviewer: {exc}"
            self.state.log(ErrorEvent(message=message))
            return ""

    async def _settle(self, end: RunEnd, fields: dict[str, Any]) -> None:
        """No run follows: the task moves to its column, or merges itself first."""
        state = self.state
        phase, error = end.phase, end.error
        if end.auto_merge:
            # Merged while still running: no one can send it back meanwhile.
            state.task = state.store.update_task(state.task.id, expect=TaskState.RUNNING, **fields)
            fields = {}
            merged = await self._ending.auto_merge(state.task, end.merge_refusal)
            state.run_log.recorder.flush()
            if merged.task is not None:
                state.task = merged.task
                state.changed()
                return
            if merged.phase is not None:
                phase, error = merged.phase, merged.error
        state.task = state.store.move_task(
            state.task.id,
            end.state,
            phase,
            expect=TaskState.RUNNING,
            control=Control.NONE,
            error=error,
            pending_message="",
            **fields,
        )
        state.changed()

    async def _diff_stat(self) -> DiffStat:
        """The branch's change against its base, for the card; never fails a run."""
        task = self.state.task
        if (
            self.state.git_cut
            or not task.workspace_ready
            or task.worktree is None
            or not task.worktree.exists()
        ):
            return DiffStat(
                files=task.diff_files,
                insertions=task.diff_insertions,
                deletions=task.diff_deletions,
            )
        try:
            return await git_call(vcs.worktree_diff_stat, task.worktree, task.base_branch)
        except SeedbedError:
            return DiffStat()
