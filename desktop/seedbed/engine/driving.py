"""The processes of a run, driven: its agent (events recorded, usage summed, budgets and
time limit watched, the card's diff size followed while it works) and the project's
commands (setup, checks), each stoppable (Qt-free)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from seedbed import vcs
from seedbed.agents.base import AgentRun, RunOutcome
from seedbed.agents.cli.registry import is_cli
from seedbed.agents.keys import key_for
from seedbed.agents.process import ManagedProcess, base_environment, run_marker
from seedbed.agents.registry import runtime_for
from seedbed.core.budgets import check_budget, spent
from seedbed.core.commands import project_command, tail
from seedbed.core.mcp_servers import launches_for_run
from seedbed.core.sandboxing import (
    agent_sandbox,
    carry_back_logins,
    command_sandbox,
    describe,
    known_projects,
    sandbox_network,
    sandboxed,
)
from seedbed.core.shared_config import SharedConfigGuard, config_change_reason
from seedbed.core.workspace import checked_tree
from seedbed.core.worktree_guard import ref_tips
from seedbed.domain.checks import commands_key
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import ErrorEvent, StatusEvent, Stream
from seedbed.domain.models import (
    CheckResult,
    CheckStatus,
    Control,
    DiffStat,
    Phase,
    RunKind,
    RunStatus,
)
from seedbed.engine.agent_request import agent_profile_id, agent_request
from seedbed.engine.run_state import RunState
from seedbed.engine.run_support import StepFailed, Usage, git_call
from seedbed.engine.talkback_host import talkback, talks_back
from seedbed.sandbox.gitshare import GitShare, clear_links
from seedbed.sandbox.takeback import take_back


class RunDriver:
    """Starts and follows the processes of a task's runs; `end_processes` stops what
    runs. `halt` is the runner's stop, called when a budget is used up."""

    def __init__(
        self,
        state: RunState,
        halt: Callable[[], Coroutine[Any, Any, None]],
        diff_every: float,
    ) -> None:
        self.state = state
        self.diff_every = diff_every
        self._halt_run = halt
        self._agent: AgentRun | None = None
        self._process: ManagedProcess | None = None
        self._halting: asyncio.Task[None] | None = None
        self._config_guard: SharedConfigGuard | None = None  # while an agent works

    async def end_processes(self) -> None:
        if self._agent is not None:
            await self._agent.stop("stop")
        if self._process is not None:
            await self._process.stop("stop")

    # -- the agent ------------------------------------------------------------------

    async def run_agent(self) -> RunOutcome:
        state = self.state
        assert state.run is not None and state.task.worktree is not None
        task, run, log = state.task, state.run, state.log
        phases = {RunKind.REVIEW: Phase.REVIEWING, RunKind.PLAN: Phase.PLANNING}
        state.set_phase(phases.get(run.kind, Phase.IMPLEMENTING))
        profile_id = agent_profile_id(task, run.kind)
        profile = state.store.get_profile(profile_id) if profile_id else None
        if profile is None:
            reason = "the task has no agent profile (use --profile)"
            log(ErrorEvent(message=reason))
            return RunOutcome(status=RunStatus.FAILED, reason=reason)
        try:
            key = await asyncio.to_thread(key_for, profile)
            users_servers = await asyncio.to_thread(
                launches_for_run, state.store, task.project_id, profile.id
            )
        except SeedbedError as exc:
            log(ErrorEvent(message=str(exc)))
            return RunOutcome(status=RunStatus.FAILED, reason=str(exc))
        recorder = state.run_log.recorder
        if key is not None:
            recorder.add_secret(key.get_secret_value())
        for secret in users_servers.secrets:  # their tokens never reach the log either
            recorder.add_secret(secret)
        runs = state.store.list_runs(task.id)
        request = agent_request(task, run, runs, run_marker(state.data_dir, run.id))
        # The servers its agent is given: Seedbed's own (scoped to the task) goes first,
        # here, then the user's.
        request.mcp_servers = [*users_servers.launches]
        over = check_budget(state.store, state.project, state.task)
        if over:  # used up by earlier runs: this one does not start
            state.halt_reason, state.control = over, Control.STOP
            log(ErrorEvent(message=f"not started: {over}"))
            return RunOutcome(status=RunStatus.STOPPED, reason=over)
        state.refs_before = await git_call(ref_tips, task.worktree)
        guard = self._config_guard = await git_call(
            SharedConfigGuard, state.project.path, state.data_dir, run.id
        )
        share: GitShare | None = None
        # The sandbox's proxy and Seedbed's MCP server, while the agent runs.
        network = contextlib.AsyncExitStack()
        try:
            boxed = sandboxed(profile)
            talkback_dir = None
            if talks_back(profile.kind):  # Seedbed's own MCP server, first
                launch, directory = await network.enter_async_context(
                    talkback(state, profile, boxed)
                )
                request.mcp_servers = [launch, *request.mcp_servers]
                # Bound into an agent CLI's sandbox for its shim; the built-in agent's
                # commands have no business with it.
                talkback_dir = directory if is_cli(profile.kind) else None
            if boxed:
                projects = known_projects(state.store)
                urls = [server.url for server in users_servers.launches if server.url]
                plan, share = await git_call(
                    agent_sandbox,
                    state.data_dir,
                    state.project,
                    task,
                    profile,
                    run.id,
                    projects,
                    urls,
                )
                if talkback_dir is not None:
                    plan = plan.model_copy(update={"talkback_dir": talkback_dir})
                request.sandbox = plan
                said = describe(plan, base_environment())
                log(StatusEvent(phase="implementing", message=said))
                await network.enter_async_context(sandbox_network(plan, self._sandbox_note))
            agent = self._agent = state.agent = await runtime_for(profile, key).start(request)
        except (OSError, SeedbedError) as exc:
            reason = f"the agent could not start: {exc}"
            await network.aclose()
            await git_call(guard.end)
            if share is not None:
                await git_call(take_back, share)
            log(ErrorEvent(message=reason))
            return RunOutcome(status=RunStatus.FAILED, reason=reason)
        usage = Usage()
        watching = asyncio.create_task(self._watch_diff())
        timing = asyncio.create_task(self._watch_time())
        try:
            state.run = state.store.update_run(run.id, pid=agent.pid)
            if state.control is not Control.NONE:
                await agent.stop("stop")
            async for batch in agent.events():
                recorder.add(batch)
                if usage.add(batch):
                    state.run = state.store.update_run(run.id, **usage.fields())
                    state.changed()
                    over = check_budget(state.store, state.project, state.task, running=True)
                    if over:
                        self._halt(over)
        finally:
            watching.cancel()
            timing.cancel()
            await network.aclose()
            if share is not None:  # first: no git of ours writes through what it planted
                for note in await git_call(clear_links, share.worktree_git, share.branch):
                    log(ErrorEvent(message=note))
            # Before anything else runs git here: a filter the agent planted never runs.
            self._config_guard = None
            changed = await git_call(guard.end)
            if share is not None:  # what it committed, into the repository
                for note in await git_call(take_back, share):
                    log(ErrorEvent(message=note))
                for note in await asyncio.to_thread(carry_back_logins, state.data_dir, task.id):
                    log(StatusEvent(phase=state.task.phase.value, message=note))
        outcome = agent.outcome
        if changed:
            reason = config_change_reason(state.project.path, changed)
            outcome = RunOutcome(
                status=RunStatus.FAILED, exit_code=outcome.exit_code, reason=reason
            )
        if agent.conversation:
            state.run = state.store.update_run(
                run.id, conversation=recorder.scrub(agent.conversation)
            )
        self._agent = state.agent = None
        if outcome.status is RunStatus.STOPPED:
            log(StatusEvent(phase="implementing", message=outcome.reason))
        elif outcome.reason:
            log(ErrorEvent(message=outcome.reason))
        return outcome

    def _sandbox_note(self, message: str) -> None:
        """What the sandbox refused (its proxy, on the loop), in the run's log."""
        self.state.log(StatusEvent(phase=self.state.task.phase.value, message=message))

    def _halt(self, reason: str) -> None:
        """Stop the run for a used-up budget (once): work committed, the reason kept."""
        if self.state.halt_reason:
            return
        self.state.halt_reason = reason
        self.state.log(ErrorEvent(message=f"stopped: {reason}"))
        self._halting = asyncio.create_task(self._halt_run())

    async def _watch_time(self) -> None:
        """The task's time limit, counting its earlier runs too."""
        state = self.state
        limit = state.task.time_limit_s
        if not limit:
            return
        run = state.run
        earlier = [r for r in state.store.list_runs(state.task.id) if run and r.id != run.id]
        left = limit - spent(earlier).seconds
        started = run.started_at if run and run.started_at else time.time()
        await asyncio.sleep(max(0.0, left - (time.time() - started)))
        over = check_budget(state.store, state.project, state.task, running=True)
        self._halt(over or "time limit reached")

    async def _watch_diff(self) -> None:
        """While the agent works, the card's diff size follows its worktree."""
        state = self.state
        while True:
            await asyncio.sleep(self.diff_every)
            task = state.task
            if task.worktree is None:
                continue
            try:
                stat = await git_call(self._live_diff_stat, task.worktree, task.base_branch)
            except SeedbedError:
                continue  # caught mid-change: keep what the card shows
            seen = (task.diff_files, task.diff_insertions, task.diff_deletions)
            if (stat.files, stat.insertions, stat.deletions) != seen:
                try:
                    state.update(
                        diff_files=stat.files,
                        diff_insertions=stat.insertions,
                        diff_deletions=stat.deletions,
                    )
                except (SeedbedError, sqlite3.Error):
                    continue  # the card keeps its last size; the run is what matters
                state.on_change(task.id)

    def _live_diff_stat(self, worktree: Path, base: str) -> DiffStat:
        """The diff stat of a worktree an agent works in (on a git thread): the shared
        config and hooks first put back as the agent found them, as a filter it planted
        would run in the diff's `git add`."""
        guard = self._config_guard
        if guard is not None:
            guard.restore()
        return vcs.worktree_diff_stat(worktree, base)

    # -- the project's commands -----------------------------------------------------

    async def setup(self) -> None:
        """The project's setup command, in a workspace just made."""
        command = self.state.project.setup_command
        if not command:
            return
        code, _lines = await self._shell(command, Stream.SETUP)
        if self.state.control is not Control.NONE:
            return
        if code != 0:
            raise StepFailed(f"the setup command exited with code {code}")

    async def checks(self) -> CheckResult:
        state = self.state
        project = state.project
        command = project.check_command
        if not command:
            return CheckResult()
        state.set_phase(Phase.CHECKING)
        code, lines = await self._shell(command, Stream.CHECK)
        if state.control is not Control.NONE:
            return CheckResult()
        status = CheckStatus.PASSED if code == 0 else CheckStatus.FAILED
        state.log(StatusEvent(phase="checking", message=f"checks {status.value} (exit {code})"))
        assert state.task.worktree is not None
        output = state.run_log.recorder.scrub(tail(lines))
        # What they ran on, so that approving knows whether the merge result is the same
        # tree (no need to check it again) and how far the base moved since.
        tree, base = await git_call(checked_tree, state.task.worktree, state.task.base_branch)
        return CheckResult(
            status=status,
            exit_code=code,
            output_tail=output,
            tree=tree,
            base=base,
            commands=commands_key(project),
        )

    async def _shell(self, command: str, stream: Stream) -> tuple[int | None, list[str]]:
        """Run a project command (setup or check) in the worktree, its lines logged."""
        state = self.state
        assert state.task.worktree is not None
        run_id = state.run.id if state.run else 0
        task = state.task
        sandbox = await git_call(
            command_sandbox, state.store, state.project, task, state.task.worktree
        )
        async with sandbox_network(sandbox, self._sandbox_note):
            return await project_command(
                command,
                state.task.worktree,
                state.project.check_timeout,
                stream,
                state.run_log.recorder,
                (state.task.id, run_id),
                run_marker(state.data_dir, run_id),
                self._on_process,
                sandbox,
            )

    def _on_process(self, process: ManagedProcess | None) -> None:
        self._process = process
        if process is not None and self.state.run is not None:
            self.state.run = self.state.store.update_run(self.state.run.id, pid=process.pid)
