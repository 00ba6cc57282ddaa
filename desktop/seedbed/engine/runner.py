"""One run of one task, from its worktree to awaiting review.

queued → preparing (worktree, copied files, setup) → implementing (the agent) →
commit what the agent left → checking → awaiting_review (ready, checks_failed,
agent_failed) — or interrupted / back to planned when stopped.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, Unpack

from seedbed import secrets, vcs
from seedbed.agents.base import AgentRun, RunOutcome
from seedbed.agents.keys import key_for
from seedbed.agents.process import (
    RUN_MARKER_VARIABLE,
    ManagedProcess,
    run_marker,
    withheld_note,
)
from seedbed.agents.registry import runtime_for
from seedbed.core.budgets import check_budget, spent
from seedbed.core.commands import project_command, tail
from seedbed.core.commit_messages import commit_message, task_agent
from seedbed.core.planning import parse_split
from seedbed.core.recorder import EventRecorder, FlushListener
from seedbed.core.review_agent import ReviewVerdict, parse_verdict, review_note
from seedbed.core.shared_config import SharedConfigGuard, config_change_reason
from seedbed.core.transcript import final_words
from seedbed.core.workspace import checked_tree, commit_work
from seedbed.core.worktree_guard import WorkNotCommitted, ref_tips
from seedbed.domain.checks import commands_key
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import ErrorEvent, StatusEvent, Stream
from seedbed.domain.models import (
    CheckResult,
    CheckStatus,
    Control,
    DiffStat,
    Phase,
    Project,
    Run,
    RunKind,
    RunStatus,
    Task,
    TaskChanges,
    TaskState,
)
from seedbed.engine.agent_request import agent_profile_id, agent_request
from seedbed.engine.preparing import merge_base, prepare_workspace
from seedbed.engine.run_end import RunEnd, RunFacts, decide_end, review_may_follow
from seedbed.engine.run_support import DIFF_EVERY_S, StepFailed, Usage, git_call, stopped
from seedbed.engine.verdicts import RunEnding, branch_tip, diff_text, undo_changes
from seedbed.store import Store
from seedbed.store.problems import disk_full, disk_full_reason
from seedbed.vcs.runner import (
    GitCut,
    GitScope,
    configured_identity,
    current_scope,
    git_scope,
    seedbed_identity_note,
)

NO_CHANGES_NOTE = "no changes: checks skipped"
STORAGE_RETRY_S = 1.0  # how often a run ended by a full disk tries to record its end
TASK_STOPPED = "the task was stopped"  # why the git of its run was cut
T = TypeVar("T")


class TaskRunner:
    """Carries one task through one run. `stop(control)` ends it early, work kept."""

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        task: Task,
        on_flush: FlushListener | None = None,
        on_change: Callable[[int], None] | None = None,
        diff_every: float = DIFF_EVERY_S,
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.task = task
        self.project: Project = store.get_project(task.project_id)
        self.run: Run | None = None
        self.control = Control.NONE
        self.diff_every = diff_every
        self._on_flush = on_flush
        self._on_change = on_change or (lambda _task_id: None)
        self._agent: AgentRun | None = None
        self._process: ManagedProcess | None = None
        self._recorder: EventRecorder | None = None
        self._merged_base = False
        self._fix_next = False
        self._nothing_changed = False  # this run left no diff: no checks, no review
        self._halt_reason = ""  # a budget the engine stopped the run for
        self._halting: asyncio.Task[None] | None = None
        self._disk_full = ""  # why the run ends: its log could not be stored
        self._git_cut = False  # a git of the run was cut: its end runs none (it may hang)
        self._stopped_now = False
        self._ending: asyncio.Task[None] | None = None
        self._end_noted = False
        # The engine is stopping: an end that cannot be stored is left to the next start's
        # recovery (a user's stop waits for space like the rest of the run's end).
        self._abandon = False
        # True while a step waits for disk space to be stored (nothing of the run lives).
        self.waiting_for_space = False
        # The git of this task's runs, cut by its stop and by the engine's (the scope
        # current when the engine makes the runner).
        self.git = GitScope(current_scope(), remember_cuts=True)
        self._config_guard: SharedConfigGuard | None = None  # while an agent works
        self._committing = False  # the snapshot commit runs: a first stop lets it finish
        self._refs_before: dict[str, str] | None = None  # the refs as its agent started
        self._run_ending = RunEnding(store, data_dir, self.project, self._log, on_flush)

    # -- control --------------------------------------------------------------------

    async def stop(self, control: Control, reason: str = "") -> None:
        """Stop whatever runs now; the lifecycle then commits and ends the run.
        `reason`: why, when not the user's asking (the engine stopping)."""
        self._abandon = self._abandon or bool(reason)
        if control is Control.STOP_NOW:
            control = Control.STOP
        if self.control is Control.NONE:
            self.control = control
            self._halt_reason = self._halt_reason or reason
        # The engine's own stop winds its git down (engine.shutdown). A stop that comes
        # while the run commits its work winds it down too: a commit that works finishes,
        # one that hangs is cut (and a second stop cuts it at once, stop_now).
        if not reason:
            cause = self._halt_reason or TASK_STOPPED
            if self._committing:
                self.git.wind_down(cause)
            else:
                self.git.stop(cause)
        if self._agent is not None:
            await self._agent.stop("stop")
        if self._process is not None:
            await self._process.stop("stop")

    def stop_now(self) -> None:
        """The stop asked again (the user insists): cut the git the stopped run is
        running now, its snapshot commit too; once."""
        if not self._stopped_now:
            self._stopped_now = True
            self.git.stop(self._halt_reason or TASK_STOPPED)

    # -- the lifecycle --------------------------------------------------------------

    async def execute(self) -> None:
        """The run, then the fix rounds its failing checks call for, each a run."""
        with git_scope(self.git):
            while await self._execute_run() and self.control is Control.NONE:
                self.task = self.store.get_task(self.task.id)

    async def _execute_run(self) -> bool:
        """One run, from its row to its end; True when a fix round is to follow."""
        task = self.task
        self._fix_next = False
        self._halt_reason = ""
        self._nothing_changed = False
        self._disk_full = ""
        self._git_cut = False
        self._end_noted = False
        self._refs_before = None
        new_run = Run(
            task_id=task.id,
            number=0,
            kind=task.pending_kind,
            follow_up=task.pending_message,
            started_at=time.time(),
        )

        async def add_run() -> Run:
            return self.store.add_run(new_run)

        self.run = await self._when_stored(add_run)
        self.git.env = {RUN_MARKER_VARIABLE: run_marker(self.data_dir, self.run.id)}
        self._recorder = EventRecorder(self.store, self.run.id, on_flush=self._on_flush)
        # Every key Seedbed knows is scrubbed from everything the run records, from its
        # first line on (a setup command can print the environment, too).
        for value in await asyncio.to_thread(secrets.known_key_values):
            self._recorder.add_secret(value)
        if note := withheld_note():
            self._log(StatusEvent(phase="preparing", message=note))
        flusher = asyncio.create_task(self._autoflush())
        try:
            outcome = await self._steps()
        # A git that hung or was stopped, or a worktree whose work cannot be committed
        # (see worktree_guard): its sentence says which.
        except (GitCut, WorkNotCommitted) as exc:
            self._git_cut = isinstance(exc, GitCut)
            outcome = RunOutcome(status=RunStatus.FAILED, reason=str(exc))
            self._log(ErrorEvent(message=outcome.reason))
            await self._when_stored(lambda: self._finish(outcome, CheckResult()))
        except Exception as exc:  # an engine bug (or a full disk) must still end the run
            if disk_full(exc) and not self._disk_full:
                self._out_of_space(exc)
            reason = self._disk_full or f"internal error: {exc!r}"
            outcome = RunOutcome(status=RunStatus.FAILED, reason=reason)
            if not self._disk_full:
                self._log(ErrorEvent(message=outcome.reason))
            await self._end_processes()
            try:
                await self._commit()
            except Exception:
                if self._disk_full:
                    note = "could not commit: the work stays in the worktree"
                    self._log(StatusEvent(phase="committing", message=note))
            await self._when_stored(lambda: self._finish(outcome, CheckResult()))
        finally:
            flusher.cancel()
            self._recorder.flush()
        return self._fix_next

    async def _steps(self) -> RunOutcome:
        assert self.run is not None
        self._set_phase(Phase.PREPARING)
        try:
            await self._prepare()
        except (StepFailed, SeedbedError) as exc:
            outcome = RunOutcome(status=RunStatus.FAILED, reason=f"preparing failed: {exc}")
            self._log(ErrorEvent(message=outcome.reason))
            await self._finish(outcome, CheckResult())
            return outcome
        if self.task.merge_base_first and self.control is Control.NONE:
            try:
                self._merged_base = await merge_base(self.task, self._update, self._log)
            except SeedbedError as exc:
                outcome = RunOutcome(status=RunStatus.FAILED, reason=f"merging failed: {exc}")
                self._log(ErrorEvent(message=outcome.reason))
                await self._finish(outcome, CheckResult())
                return outcome
        if self.run.kind in (RunKind.REVIEW, RunKind.PLAN):
            return await self._judging_steps()
        outcome = await self._run_agent() if self.control is Control.NONE else stopped()
        if problem := await self._commit():
            outcome = RunOutcome(status=RunStatus.FAILED, reason=problem)
        checks = CheckResult()
        if self.control is Control.NONE and outcome.status is RunStatus.SUCCEEDED:
            if await self._changed_nothing():
                # Checks on the base's own tree say nothing about this task, and a
                # reviewer would read an empty diff.
                self._log(StatusEvent(phase="checking", message=NO_CHANGES_NOTE))
                self._nothing_changed = True
            else:
                checks = await self._checks()
        await self._finish(outcome, checks)
        return outcome

    async def _changed_nothing(self) -> bool:
        """An implement run whose branch, all its runs counted, changes nothing against
        its base: the agent left no diff. A fix round is never "nothing": it answers
        checks that failed, and they must run again."""
        task = self.task
        if self.run is None or self.run.kind is not RunKind.IMPLEMENT or task.worktree is None:
            return False
        try:
            stat = await git_call(vcs.worktree_diff_stat, task.worktree, task.base_branch)
        except SeedbedError:
            return False  # unknown: the checks decide
        return not (stat.files or stat.insertions or stat.deletions)

    async def _judging_steps(self) -> RunOutcome:
        """The planner's or the reviewer's run: it changes nothing (what it left is
        undone) and its final answer is the plan (or a split into smaller tasks) or the
        verdict; the checks of the work a reviewer read stand."""
        assert self.run is not None and self.task.worktree is not None
        reviewing = self.run.kind is RunKind.REVIEW
        head = await branch_tip(self.task)
        outcome = await self._run_agent() if self.control is Control.NONE else stopped()
        if note := await undo_changes(self.project, self.task, head):
            phase = Phase.REVIEWING if reviewing else Phase.PLANNING
            self._log(StatusEvent(phase=phase.value, message=note))
        answer = ""
        if outcome.status is RunStatus.SUCCEEDED and self.control is Control.NONE:
            assert self._recorder is not None
            self._recorder.flush()
            answer = final_words(self.store, self.run.id)
        if not reviewing:
            await self._finish(outcome, CheckResult(), plan=answer)
            return outcome
        runs = [r for r in self.store.list_runs(self.task.id) if r.kind is not RunKind.REVIEW]
        checks = runs[-1].checks if runs else CheckResult()
        await self._finish(outcome, checks, parse_verdict(answer))
        return outcome

    async def _prepare(self) -> None:
        """The workspace (preparing.py), then the project's setup command in a new one."""
        project = self.project
        made = await prepare_workspace(self.data_dir, project, self.task, self._update, self._log)
        if not made or not project.setup_command:
            return
        code, _lines = await self._shell(project.setup_command, Stream.SETUP)
        if self.control is not Control.NONE:
            return
        if code != 0:
            raise StepFailed(f"the setup command exited with code {code}")

    async def _run_agent(self) -> RunOutcome:
        assert self.run is not None and self.task.worktree is not None
        task = self.task
        phases = {RunKind.REVIEW: Phase.REVIEWING, RunKind.PLAN: Phase.PLANNING}
        self._set_phase(phases.get(self.run.kind, Phase.IMPLEMENTING))
        profile_id = agent_profile_id(task, self.run.kind)
        profile = self.store.get_profile(profile_id) if profile_id else None
        if profile is None:
            reason = "the task has no agent profile (use --profile)"
            self._log(ErrorEvent(message=reason))
            return RunOutcome(status=RunStatus.FAILED, reason=reason)
        try:
            key = await asyncio.to_thread(key_for, profile)
        except SeedbedError as exc:
            self._log(ErrorEvent(message=str(exc)))
            return RunOutcome(status=RunStatus.FAILED, reason=str(exc))
        assert self._recorder is not None
        if key is not None:
            self._recorder.add_secret(key.get_secret_value())
        runs = self.store.list_runs(task.id)
        request = agent_request(task, self.run, runs, run_marker(self.data_dir, self.run.id))
        over = check_budget(self.store, self.project, self.task)
        if over:  # used up by earlier runs: this one does not start
            self._halt_reason, self.control = over, Control.STOP
            self._log(ErrorEvent(message=f"not started: {over}"))
            return RunOutcome(status=RunStatus.STOPPED, reason=over)
        self._refs_before = await git_call(ref_tips, task.worktree)
        guard = self._config_guard = await git_call(
            SharedConfigGuard, self.project.path, self.data_dir, self.run.id
        )
        try:
            self._agent = await runtime_for(profile, key).start(request)
        except (OSError, SeedbedError) as exc:
            reason = f"the agent could not start: {exc}"
            await git_call(guard.end)
            self._log(ErrorEvent(message=reason))
            return RunOutcome(status=RunStatus.FAILED, reason=reason)
        usage = Usage()
        watching = asyncio.create_task(self._watch_diff())
        timing = asyncio.create_task(self._watch_time())
        try:
            self.run = self.store.update_run(self.run.id, pid=self._agent.pid)
            if self.control is not Control.NONE:
                await self._agent.stop("stop")
            async for batch in self._agent.events():
                self._recorder.add(batch)
                if usage.add(batch):
                    self.run = self.store.update_run(self.run.id, **usage.fields())
                    self._on_change(self.task.id)
                    over = check_budget(self.store, self.project, self.task, running=True)
                    if over:
                        self._halt(over)
        finally:
            watching.cancel()
            timing.cancel()
            # Before anything else runs git here: a filter the agent planted never runs.
            self._config_guard = None
            changed = await git_call(guard.end)
        outcome = self._agent.outcome
        if changed:
            reason = config_change_reason(self.project.path, changed)
            outcome = RunOutcome(
                status=RunStatus.FAILED, exit_code=outcome.exit_code, reason=reason
            )
        if self._agent.conversation:
            self.run = self.store.update_run(
                self.run.id, conversation=self._recorder.scrub(self._agent.conversation)
            )
        self._agent = None
        if outcome.status is RunStatus.STOPPED:
            self._log(StatusEvent(phase="implementing", message=outcome.reason))
        elif outcome.reason:
            self._log(ErrorEvent(message=outcome.reason))
        return outcome

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

    async def _commit(self) -> str:
        """Commit what the agent left; why it was not committed ("" when it was, or there
        was nothing to commit)."""
        assert self.run is not None
        task = self.task
        if not task.workspace_ready or task.worktree is None or not task.worktree.exists():
            return ""
        agent = task_agent(self.store, task)
        message = commit_message(task, self.run, self._merged_base, agent)
        notes: list[str] = []  # heard on a git thread, logged here
        self._committing = True
        try:
            sha = await git_call(
                commit_work,
                self.project,
                task.worktree,
                message,
                task,
                notes.append,
                self._refs_before,
            )
        except WorkNotCommitted as exc:
            self._log_notes(notes)
            self._log(ErrorEvent(message=str(exc)))
            return str(exc)
        finally:
            self._committing = False
        self._log_notes(notes)
        if sha:
            self.run = self.store.update_run(self.run.id, commit=sha)
            self._log(StatusEvent(phase="committing", message=f"committed {sha[:10]}"))
            if await git_call(configured_identity, task.worktree) is None:
                self._log_notes([seedbed_identity_note(self.project.path)])
        return ""

    def _log_notes(self, notes: list[str]) -> None:
        for note in notes:
            self._log(StatusEvent(phase="committing", message=note))

    async def _checks(self) -> CheckResult:
        command = self.project.check_command
        if not command:
            return CheckResult()
        self._set_phase(Phase.CHECKING)
        code, lines = await self._shell(command, Stream.CHECK)
        if self.control is not Control.NONE:
            return CheckResult()
        status = CheckStatus.PASSED if code == 0 else CheckStatus.FAILED
        self._log(StatusEvent(phase="checking", message=f"checks {status.value} (exit {code})"))
        assert self._recorder is not None and self.task.worktree is not None
        output = self._recorder.scrub(tail(lines))
        # What they ran on, so that approving knows whether the merge result is the same
        # tree (no need to check it again) and how far the base moved since.
        tree, base = await git_call(checked_tree, self.task.worktree, self.task.base_branch)
        return CheckResult(
            status=status,
            exit_code=code,
            output_tail=output,
            tree=tree,
            base=base,
            commands=commands_key(self.project),
        )

    async def _finish(
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
        assert self.run is not None and self._recorder is not None
        split = parse_split(plan)
        facts = self._facts(outcome, checks, review, plan, split is not None)
        # What takes time comes first: a stop that arrives during it is seen (the stop is
        # read after it), and no next run is planned for a task that was stopped (it
        # would never start).
        stat = await self._diff_stat()
        diff = await self._reviewer_diff() if review_may_follow(facts) else ""
        stop = {"control": self.control, "halt_reason": self._halt_reason}
        end = decide_end(facts.model_copy(update=stop))
        fields = self._run_ending.fields(self.task, end, split)
        prompt = self._run_ending.next_prompt(self.task, end, checks, diff, review)
        for note in end.notes:
            self._log(
                ErrorEvent(message=note.message)
                if note.error
                else StatusEvent(phase=note.phase.value, message=note.message)
            )
        # Every event is stored before the run says it ended: `task log --follow` stops
        # reading when it sees the end.
        if not self._end_noted:  # once, though a full disk has the end tried again
            self._log(StatusEvent(phase=end.phase.value, message=f"run {self.run.number} ended"))
            self._end_noted = True
        self._recorder.flush()
        self.run = self.store.update_run(
            self.run.id,
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
        self.task = self.store.update_task(
            self.task.id,
            expect=TaskState.RUNNING,
            pending_kind=end.next_run.kind,
            pending_message=prompt,
            **fields,
        )
        self._fix_next = True
        self._on_change(self.task.id)

    def _facts(
        self,
        outcome: RunOutcome,
        checks: CheckResult,
        review: ReviewVerdict | None,
        plan: str,
        plan_split: bool,
    ) -> RunFacts:
        """What the run's end is decided on (the stop is read later, see _finish)."""
        assert self.run is not None and self._recorder is not None
        task = self.task
        return RunFacts(
            kind=self.run.kind,
            status=outcome.status,
            reason=self._recorder.scrub(outcome.reason),
            control=self.control,
            halt_reason=self._halt_reason,
            disk_full=self._recorder.scrub(self._disk_full),
            checks=checks,
            nothing_changed=self._nothing_changed,
            has_reviewer=task.reviewer_profile_id is not None,
            has_branch=task.branch is not None,
            rounds_used=task.fix_rounds_used,
            rounds_allowed=self.project.fix_rounds,
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
            return await git_call(diff_text, self.project, self.task)
        except SeedbedError as exc:  # the review then reads the files themselves
            self._log(ErrorEvent(message=f"could not read the diff for the reviewer: {exc}"))
            return ""

    async def _settle(self, end: RunEnd, fields: dict[str, Any]) -> None:
        """No run follows: the task moves to its column, or merges itself first."""
        assert self._recorder is not None
        phase, error = end.phase, end.error
        if end.auto_merge:
            # Merged while still running: no one can send it back meanwhile.
            self.task = self.store.update_task(self.task.id, expect=TaskState.RUNNING, **fields)
            fields = {}
            merged = await self._run_ending.auto_merge(self.task, end.merge_refusal)
            self._recorder.flush()
            if merged.task is not None:
                self.task = merged.task
                self._on_change(self.task.id)
                return
            if merged.phase is not None:
                phase, error = merged.phase, merged.error
        self.task = self.store.move_task(
            self.task.id,
            end.state,
            phase,
            expect=TaskState.RUNNING,
            control=Control.NONE,
            error=error,
            pending_message="",
            **fields,
        )
        self._on_change(self.task.id)

    # -- helpers --------------------------------------------------------------------

    async def _watch_diff(self) -> None:
        """While the agent works, the card's diff size follows its worktree."""
        while True:
            await asyncio.sleep(self.diff_every)
            task = self.task
            if task.worktree is None:
                continue
            try:
                stat = await git_call(self._live_diff_stat, task.worktree, task.base_branch)
            except SeedbedError:
                continue  # caught mid-change: keep what the card shows
            seen = (task.diff_files, task.diff_insertions, task.diff_deletions)
            if (stat.files, stat.insertions, stat.deletions) != seen:
                try:
                    self._update(
                        diff_files=stat.files,
                        diff_insertions=stat.insertions,
                        diff_deletions=stat.deletions,
                    )
                except (SeedbedError, sqlite3.Error):
                    continue  # the card keeps its last size; the run is what matters
                self._on_change(task.id)

    def _live_diff_stat(self, worktree: Path, base: str) -> DiffStat:
        """The diff stat of a worktree an agent works in (on a git thread): the shared
        config and hooks first put back as the agent found them, as a filter it planted
        would run in the diff's `git add`."""
        guard = self._config_guard
        if guard is not None:
            guard.restore()
        return vcs.worktree_diff_stat(worktree, base)

    async def _diff_stat(self) -> DiffStat:
        """The branch's change against its base, for the card; never fails a run."""
        task = self.task
        if (
            self._git_cut
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

    async def _shell(self, command: str, stream: Stream) -> tuple[int | None, list[str]]:
        """Run a project command (setup or check) in the worktree, its lines logged."""
        assert self.task.worktree is not None and self._recorder is not None
        return await project_command(
            command,
            self.task.worktree,
            self.project.check_timeout,
            stream,
            self._recorder,
            (self.task.id, self.run.id if self.run else 0),
            run_marker(self.data_dir, self.run.id if self.run else 0),
            self._on_process,
        )

    def _on_process(self, process: ManagedProcess | None) -> None:
        self._process = process
        if process is not None and self.run is not None:
            self.run = self.store.update_run(self.run.id, pid=process.pid)

    async def _autoflush(self) -> None:
        assert self._recorder is not None
        while True:
            await asyncio.sleep(0.05)
            self._recorder.flush()
            if self._recorder.full is not None and not self._disk_full:
                self._out_of_space(self._recorder.full)

    def _out_of_space(self, exc: BaseException) -> None:
        """The run's log (or its state) cannot be stored: end its processes; the run
        then ends as failed for it, its work committed if git still can."""
        self._disk_full = disk_full_reason(exc, self.data_dir)
        self._log(ErrorEvent(message=self._disk_full))
        self._ending = asyncio.create_task(self._end_processes())

    async def _end_processes(self) -> None:
        if self._agent is not None:
            await self._agent.stop("stop")
        if self._process is not None:
            await self._process.stop("stop")

    async def _when_stored(self, step: Callable[[], Awaitable[T]]) -> T:
        """`step`, tried again while the disk is full, until space is back or the engine
        stops (then the next start's recovery ends the run)."""
        while True:
            try:
                stored = await step()
                self.waiting_for_space = False
                return stored
            except (sqlite3.Error, OSError) as exc:
                if not disk_full(exc) or self._abandon:
                    self.waiting_for_space = False
                    raise
            self.waiting_for_space = True
            await asyncio.sleep(STORAGE_RETRY_S)

    def _log(self, event: StatusEvent | ErrorEvent) -> None:
        assert self._recorder is not None
        event.ts = time.time()
        self._recorder.add([event])

    def _set_phase(self, phase: Phase) -> None:
        self.task = self.store.update_task(self.task.id, phase=phase)
        if self._recorder is not None:
            self._log(StatusEvent(phase=phase.value, message=phase.value))
        self._on_change(self.task.id)

    def _update(self, **fields: Unpack[TaskChanges]) -> Task:
        self.task = self.store.update_task(self.task.id, **fields)
        return self.task
