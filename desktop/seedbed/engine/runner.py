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
from typing import Any, TypeVar

from seedbed import secrets, vcs
from seedbed.agents.base import AgentRun, RunOutcome, RunRequest
from seedbed.agents.keys import key_for
from seedbed.agents.process import (
    RUN_MARKER_VARIABLE,
    ManagedProcess,
    run_marker,
    withheld_note,
)
from seedbed.agents.registry import runtime_for
from seedbed.domain.checks import commands_key
from seedbed.domain.errors import SeedbedError, UserError
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
    TaskState,
)
from seedbed.domain.slug import numbered, task_branch, task_dir_name
from seedbed.engine.budgets import check_budget, spent
from seedbed.engine.planning import Split, parse_split, plan_prompt
from seedbed.engine.recorder import EventRecorder
from seedbed.engine.review_agent import ReviewVerdict, parse_verdict, review_note, review_prompt
from seedbed.engine.reviewing import final_words
from seedbed.engine.rounds import fix_prompt
from seedbed.engine.run_end import NextRun, RunEnd, RunFacts, decide_end, review_may_follow
from seedbed.engine.run_support import (
    CONTEXT_FULL,
    CONTEXT_FULL_NOTE,
    DIFF_EVERY_S,
    FlushListener,
    StepFailed,
    Usage,
    checked_tree,
    commit_message,
    commit_work,
    git_call,
    merge_note,
    project_command,
    stopped,
    tail,
    task_agent,
)
from seedbed.engine.shared_config import SharedConfigGuard, config_change_reason
from seedbed.engine.verdicts import (
    AutoMerged,
    auto_merge,
    branch_tip,
    diff_text,
    keep_review,
    split_task,
    undo_changes,
)
from seedbed.engine.worktree_guard import (
    WorkNotCommitted,
    check_repository,
    clear_stale_locks,
    ref_tips,
    stale_lock_note,
)
from seedbed.paths import worktrees_dir
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
MAX_NAME_TRIES = 100  # `-2` to `-99`: fresh names for a task whose own are taken
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
                await self._merge_base()
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
        task = self.task
        project = self.project
        if task.branch is None or task.worktree is None:
            branch, worktree = self._names(1)
            # Claim the names only if they are free: a branch of that name that exists
            # already is the user's own, never to be used, merged or deleted as ours.
            if await git_call(vcs.branch_name_taken, project.path, branch):
                raise await self._offer_names(f"the branch {branch}")
            if worktree.exists():
                raise await self._offer_names(f"the worktree {worktree}")
            task = self._update(branch=branch, worktree=worktree, base_branch=project.base_branch)
        assert task.branch is not None and task.worktree is not None
        if task.workspace_ready:
            if task.worktree.exists():  # and is still a worktree of the project's
                await git_call(check_repository, project.path, task.worktree)
            for lock in await git_call(clear_stale_locks, task.worktree):
                self._log(StatusEvent(phase="preparing", message=stale_lock_note(lock)))
            if not await git_call(vcs.worktree_exists, project.path, task.worktree):
                self._log(StatusEvent(phase="preparing", message="worktree missing: re-attached"))
                await git_call(vcs.attach_worktree, project.path, task.worktree, task.branch)
            self._log(StatusEvent(phase="preparing", message=f"reusing {task.worktree}"))
            return
        try:
            how = await git_call(
                vcs.finish_worktree, project.path, task.worktree, task.branch, task.base_branch
            )
        except vcs.BranchTaken:
            raise await self._offer_names(f"the branch {task.branch}") from None
        except SeedbedError:
            if not await git_call(vcs.branch_exists, project.path, task.branch):
                self._update(branch=None, worktree=None)  # nothing was made: unclaim
            raise
        if how != "created":
            self._log(StatusEvent(phase="preparing", message=f"an interrupted start was {how}"))
        task = self._update(workspace_ready=True)
        self._log(
            StatusEvent(
                phase="preparing", message=f"worktree {task.worktree} on branch {task.branch}"
            )
        )
        if project.copy_globs:
            copied = await git_call(
                vcs.copy_into_worktree, project.path, task.worktree, project.copy_globs
            )
            self._log(StatusEvent(phase="preparing", message=f"copied {len(copied)} file(s)"))
        if project.setup_command:
            code, _lines = await self._shell(project.setup_command, Stream.SETUP)
            if self.control is not Control.NONE:
                return
            if code != 0:
                raise StepFailed(f"the setup command exited with code {code}")

    def _names(self, n: int) -> tuple[str, Path]:
        """The task's branch and worktree, the n-th try (`-2`, `-3` … after the first)."""
        task = self.task
        directory = task_dir_name(task.id, task.title)
        worktree = worktrees_dir(self.data_dir, self.project.name) / numbered(directory, n)
        return numbered(task_branch(task.id, task.title), n), worktree

    async def _offer_names(self, taken: str) -> UserError:
        """The error for names another has taken, with fresh ones claimed for the next
        start: the first free `-2`, `-3` … (a branch is the task's own only when its
        name was recorded on the task while no such branch existed; docs/decisions.md)."""
        task, project = self.task, self.project
        for n in range(2, MAX_NAME_TRIES):
            branch, worktree = self._names(n)
            if worktree.exists() or await git_call(vcs.branch_name_taken, project.path, branch):
                continue
            self._update(branch=branch, worktree=worktree, base_branch=project.base_branch)
            return UserError(
                f"{taken} already exists and is not this task's; "
                f"`seedbed task start {task.id}` will use {branch}"
            )
        self._update(branch=None, worktree=None)
        return UserError(f"{taken} already exists and is not this task's, nor any name after it")

    async def _merge_base(self) -> None:
        """Merge the base branch into the task's branch in its worktree, uncommitted, for
        the agent to resolve; the end-of-run commit makes it a merge commit."""
        task = self.task
        assert task.worktree is not None and task.branch is not None
        try:
            files = await git_call(vcs.merge_into_worktree, task.worktree, task.base_branch)
        finally:
            self._update(merge_base_first=False)  # asked once: a resumed run does not merge
        # "Already up to date" leaves no merge to commit.
        self._merged_base = await git_call(vcs.merge_in_progress, task.worktree)
        self._log(
            StatusEvent(phase="preparing", message=merge_note(task.base_branch, task.branch, files))
        )

    async def _run_agent(self) -> RunOutcome:
        assert self.run is not None and self.task.worktree is not None
        task = self.task
        reviewing = self.run.kind is RunKind.REVIEW
        planning = self.run.kind is RunKind.PLAN
        phases = {RunKind.REVIEW: Phase.REVIEWING, RunKind.PLAN: Phase.PLANNING}
        self._set_phase(phases.get(self.run.kind, Phase.IMPLEMENTING))
        profile_id = task.profile_id
        if reviewing:
            profile_id = task.reviewer_profile_id
        elif planning:
            profile_id = task.planner_profile_id or task.profile_id
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
        request = RunRequest(
            task_id=task.id,
            run_id=self.run.id,
            run_number=self.run.number,
            kind=self.run.kind,
            title=task.title,
            prompt=task.prompt,
            plan=task.plan,
            worktree=task.worktree,
            follow_up=self.run.follow_up,
            marker=run_marker(self.data_dir, self.run.id),
        )
        if planning:
            request.follow_up = plan_prompt(task, self.run.follow_up)
        elif self.run.follow_up and not reviewing:  # a review starts with a fresh context
            conversation, note = self._previous_conversation()
            request.conversation = conversation
            request.follow_up = note + self.run.follow_up
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

    def _previous_conversation(self) -> tuple[str, str]:
        """What a follow-up continues: the last saved conversation of this task, and a
        note for the agent. A conversation that filled the context is not continued (it
        would fill it again at once): the agent starts afresh on the work so far."""
        current = self.run.id if self.run else None
        for run in reversed(self.store.list_runs(self.task.id)):
            fresh = run.kind in (RunKind.REVIEW, RunKind.PLAN)  # not the implementer's talk
            if run.id == current or not run.conversation or fresh:
                continue
            if run.reason == CONTEXT_FULL:
                return "", CONTEXT_FULL_NOTE
            return run.conversation, ""
        return "", ""

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
        fields = self._end_fields(end, split)
        prompt = self._next_prompt(end, checks, diff, review)
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

    def _end_fields(self, end: RunEnd, split: Split | None) -> dict[str, Any]:
        """The task's fields the end writes beside its column (the smaller tasks of a
        split made on the way)."""
        fields: dict[str, Any] = {}
        if end.review_verdict is not None:
            fields["review_verdict"] = end.review_verdict
        if end.plan is not None:
            fields["plan"] = end.plan
        if end.split_plan and split is not None:
            fields["plan"] = note = split_task(self.store, self.project, self.task, split)
            self._log(StatusEvent(phase=Phase.PLANNING.value, message=note.splitlines()[0]))
        if end.approve_plan:
            fields["plan_approved"] = True
        if end.fix_round:
            fields["fix_rounds_used"] = end.fix_round
        return fields

    def _next_prompt(
        self, end: RunEnd, checks: CheckResult, diff: str, review: ReviewVerdict | None
    ) -> str:
        """The prompt of the run that follows ("" when none does); the reviewer's
        comments saved on the way (sent back when a fix round answers them)."""
        kept = ""
        if end.save_review_comments and review is not None:
            kept = keep_review(self.store, self.task, review, end.next_run is NextRun.FIX_REVIEW)
        if end.next_run is NextRun.FIX_CHECKS:
            return fix_prompt(self.project, checks, end.fix_round)
        if end.next_run is NextRun.REVIEW:
            return review_prompt(self.task, diff)
        return kept

    async def _settle(self, end: RunEnd, fields: dict[str, Any]) -> None:
        """No run follows: the task moves to its column, or merges itself first."""
        assert self._recorder is not None
        phase, error = end.phase, end.error
        if end.auto_merge:
            # Merged while still running: no one can send it back meanwhile.
            self.task = self.store.update_task(self.task.id, expect=TaskState.RUNNING, **fields)
            fields = {}
            if end.merge_refusal:
                refusal = f"not auto-merged: {end.merge_refusal}"
                self._log(StatusEvent(phase="merging", message=refusal))
                merged = AutoMerged()
            else:
                merged = await auto_merge(
                    self.store, self.data_dir, self.task, self._log, self._on_flush
                )
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

    def _update(self, **fields: object) -> Task:
        self.task = self.store.update_task(self.task.id, **fields)
        return self.task
