"""One run of one task, from its worktree to awaiting review.

queued → preparing (worktree, copied files, setup) → implementing (the agent) →
commit what the agent left → checking → awaiting_review (ready, checks_failed,
agent_failed) — or interrupted / back to planned when stopped.

The runner carries the run through these steps and takes the stops; its parts, each
given the one RunState: run_log.py records the run, driving.py drives its agent and
commands, finishing.py commits and ends it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from seedbed import vcs
from seedbed.agents.base import RunOutcome
from seedbed.agents.process import RUN_MARKER_VARIABLE, run_marker
from seedbed.core.recorder import FlushListener
from seedbed.core.review_agent import parse_verdict
from seedbed.core.transcript import final_words
from seedbed.core.worktree_guard import WorkNotCommitted
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import ErrorEvent, StatusEvent
from seedbed.domain.models import CheckResult, Control, Phase, Run, RunKind, RunStatus, Task
from seedbed.engine.driving import RunDriver
from seedbed.engine.finishing import RunFinisher
from seedbed.engine.preparing import merge_base, prepare_workspace
from seedbed.engine.run_log import RunLog
from seedbed.engine.run_state import RunState
from seedbed.engine.run_support import DIFF_EVERY_S, StepFailed, git_call, stopped
from seedbed.engine.verdicts import branch_tip, undo_changes
from seedbed.store import Store
from seedbed.store.problems import disk_full
from seedbed.vcs.runner import GitCut, GitScope, current_scope, git_scope

NO_CHANGES_NOTE = "no changes: checks skipped"
TASK_STOPPED = "the task was stopped"  # why the git of its run was cut


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
        self.run_log = RunLog(store, data_dir, on_flush, self._end_processes)
        self.state = RunState(
            store, data_dir, task, self.run_log, on_change or (lambda _task_id: None)
        )
        self.driver = RunDriver(self.state, partial(self.stop, Control.STOP), diff_every)
        self.finisher = RunFinisher(self.state, on_flush)
        self._stopped_now = False
        # The git of this task's runs, cut by its stop and by the engine's (the scope
        # current when the engine makes the runner).
        self.git = GitScope(current_scope(), remember_cuts=True)

    @property
    def task(self) -> Task:
        return self.state.task

    @property
    def control(self) -> Control:
        return self.state.control

    @property
    def waiting_for_space(self) -> bool:
        """A step of the run waits for disk space to be stored (nothing of it lives)."""
        return self.run_log.waiting_for_space

    # -- control --------------------------------------------------------------------

    async def stop(self, control: Control, reason: str = "") -> None:
        """Stop whatever runs now; the lifecycle then commits and ends the run.
        `reason`: why, when not the user's asking (the engine stopping)."""
        state = self.state
        state.stopping.set(reason or TASK_STOPPED)
        self.run_log.abandon = self.run_log.abandon or bool(reason)
        if control is Control.STOP_NOW:
            control = Control.STOP
        if state.control is Control.NONE:
            state.control = control
            state.halt_reason = state.halt_reason or reason
        # The engine's own stop winds its git down (engine.shutdown). A stop that comes
        # while the run commits its work winds it down too: a commit that works finishes,
        # one that hangs is cut (and a second stop cuts it at once, stop_now).
        if not reason:
            cause = state.halt_reason or TASK_STOPPED
            if self.finisher.committing:
                self.git.wind_down(cause)
            else:
                self.git.stop(cause)
        await self.driver.end_processes()

    def stop_now(self) -> None:
        """The stop asked again (the user insists): cut the git the stopped run is
        running now, its snapshot commit too; once."""
        if not self._stopped_now:
            self._stopped_now = True
            self.git.stop(self.state.halt_reason or TASK_STOPPED)

    async def _end_processes(self) -> None:
        await self.driver.end_processes()

    # -- the lifecycle --------------------------------------------------------------

    async def execute(self) -> None:
        """The run, then the fix rounds its failing checks call for, each a run."""
        with git_scope(self.git):
            while await self._execute_run() and self.state.control is Control.NONE:
                self.state.task = self.store.get_task(self.state.task.id)

    async def _execute_run(self) -> bool:
        """One run, from its row to its end; True when a fix round is to follow."""
        state, run_log, finisher = self.state, self.run_log, self.finisher
        task = state.task
        state.new_run()
        finisher.new_run()
        new_run = Run(
            task_id=task.id,
            number=0,
            kind=task.pending_kind,
            follow_up=task.pending_message,
            started_at=time.time(),
        )

        async def add_run() -> Run:
            return self.store.add_run(new_run)

        run = state.run = await run_log.when_stored(add_run)
        self.git.env = {RUN_MARKER_VARIABLE: run_marker(self.data_dir, run.id)}
        await run_log.begin(run.id)
        flusher = asyncio.create_task(run_log.autoflush())
        try:
            outcome = await self._steps()
        # A git that hung or was stopped, or a worktree whose work cannot be committed
        # (see worktree_guard): its sentence says which.
        except (GitCut, WorkNotCommitted) as exc:
            state.git_cut = isinstance(exc, GitCut)
            outcome = RunOutcome(status=RunStatus.FAILED, reason=str(exc))
            state.log(ErrorEvent(message=outcome.reason))
            await run_log.when_stored(lambda: finisher.finish(outcome, CheckResult()))
        except Exception as exc:  # an engine bug (or a full disk) must still end the run
            if disk_full(exc) and not run_log.disk_full:
                run_log.out_of_space(exc)
            reason = run_log.disk_full or f"internal error: {exc!r}"
            outcome = RunOutcome(status=RunStatus.FAILED, reason=reason)
            if not run_log.disk_full:
                state.log(ErrorEvent(message=outcome.reason))
            await self.driver.end_processes()
            try:
                await finisher.commit()
            except Exception:
                if run_log.disk_full:
                    note = "could not commit: the work stays in the worktree"
                    state.log(StatusEvent(phase="committing", message=note))
            await run_log.when_stored(lambda: finisher.finish(outcome, CheckResult()))
        finally:
            flusher.cancel()
            run_log.recorder.flush()
        return finisher.next_follows

    async def _steps(self) -> RunOutcome:
        state, finisher = self.state, self.finisher
        assert state.run is not None
        state.set_phase(Phase.PREPARING)
        try:
            await self._prepare()
        except (StepFailed, SeedbedError) as exc:
            outcome = RunOutcome(status=RunStatus.FAILED, reason=f"preparing failed: {exc}")
            state.log(ErrorEvent(message=outcome.reason))
            await finisher.finish(outcome, CheckResult())
            return outcome
        if state.task.merge_base_first and state.control is Control.NONE:
            try:
                state.merged_base = await merge_base(state.task, state.update, state.log)
            except SeedbedError as exc:
                outcome = RunOutcome(status=RunStatus.FAILED, reason=f"merging failed: {exc}")
                state.log(ErrorEvent(message=outcome.reason))
                await finisher.finish(outcome, CheckResult())
                return outcome
        if state.run.kind in (RunKind.REVIEW, RunKind.PLAN):
            return await self._judging_steps()
        running = state.control is Control.NONE
        outcome = await self.driver.run_agent() if running else stopped()
        if problem := await finisher.commit():
            outcome = RunOutcome(status=RunStatus.FAILED, reason=problem)
        checks = CheckResult()
        if state.control is Control.NONE and outcome.status is RunStatus.SUCCEEDED:
            if await self._changed_nothing():
                # Checks on the base's own tree say nothing about this task, and a
                # reviewer would read an empty diff.
                state.log(StatusEvent(phase="checking", message=NO_CHANGES_NOTE))
                state.nothing_changed = True
            else:
                checks = await self.driver.checks()
        await finisher.finish(outcome, checks)
        return outcome

    async def _changed_nothing(self) -> bool:
        """An implement run whose branch, all its runs counted, changes nothing against
        its base: the agent left no diff. A fix round is never "nothing": it answers
        checks that failed, and they must run again."""
        task, run = self.state.task, self.state.run
        if run is None or run.kind is not RunKind.IMPLEMENT or task.worktree is None:
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
        state, finisher = self.state, self.finisher
        run, task = state.run, state.task
        assert run is not None and task.worktree is not None
        reviewing = run.kind is RunKind.REVIEW
        head = await branch_tip(task)
        running = state.control is Control.NONE
        outcome = await self.driver.run_agent() if running else stopped()
        if note := await undo_changes(state.project, state.task, head):
            phase = Phase.REVIEWING if reviewing else Phase.PLANNING
            state.log(StatusEvent(phase=phase.value, message=note))
        answer = ""
        if outcome.status is RunStatus.SUCCEEDED and state.control is Control.NONE:
            self.run_log.recorder.flush()
            answer = final_words(self.store, run.id)
        if not reviewing:
            await finisher.finish(outcome, CheckResult(), plan=answer)
            return outcome
        runs = [r for r in self.store.list_runs(task.id) if r.kind is not RunKind.REVIEW]
        checks = runs[-1].checks if runs else CheckResult()
        await finisher.finish(outcome, checks, parse_verdict(answer))
        return outcome

    async def _prepare(self) -> None:
        """The workspace (preparing.py), then the project's setup command in a new one."""
        state = self.state
        made = await prepare_workspace(
            self.data_dir, state.project, state.task, state.update, state.log
        )
        if made:
            await self.driver.setup()
