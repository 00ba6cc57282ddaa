"""Approving a task: its branch reaches the base branch only as a tree whose checks passed,
and the approves of one project land one at a time, each on top of the one before.

approve() marks the task awaiting_review / merging (its MergeRequest says what was asked
and by which process), then waits for its turn in the project's merge queue: a file lock
in the data dir, taken in the order the approves were asked, by any mix of windows, CLI
processes and auto-merges. In its turn it computes the merge without moving the base
(vcs.merge.plan_merge), runs the project's checks on exactly that tree in a throwaway
worktree unless they already passed on it, and moves the base only when they pass. Every
approve is a run of kind `merge` in the task's log: what was merged, what was checked
(the check output), or why it was not.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from seedbed import secrets, vcs
from seedbed.agents.process import RUN_MARKER_VARIABLE, ManagedProcess, run_marker
from seedbed.core.commands import project_command, tail
from seedbed.core.commit_messages import leftover_message, merge_message, task_agent
from seedbed.core.context import Changed, Context, Done, Stopping
from seedbed.core.merge_queue import ANNOUNCED, ApproveInterrupted, merge_turn
from seedbed.core.recorder import EventRecorder, FlushListener
from seedbed.core.sandboxing import command_sandbox, forget_task_sandbox, sandbox_network
from seedbed.core.workspace import commit_work, remove_workspace, worktree_path
from seedbed.domain.checks import commands_key, standing_checks
from seedbed.domain.errors import OperationError, UserError
from seedbed.domain.events import ErrorEvent, StatusEvent, Stream
from seedbed.domain.lifecycle import check_move
from seedbed.domain.models import (
    AgentProfile,
    Card,
    CheckResult,
    CheckStatus,
    MergeRequest,
    MergeStrategy,
    Phase,
    Project,
    Run,
    RunKind,
    RunStatus,
    Task,
    TaskChanges,
    TaskState,
)
from seedbed.domain.slug import one_line
from seedbed.domain.trailers import AGENT_KEY
from seedbed.paths import worktrees_dir
from seedbed.sandbox.plan import SandboxPlan
from seedbed.store import Store
from seedbed.store.approving import holding_approve
from seedbed.vcs.git import add_detached_worktree, remove_worktree, rev_parse, trailer_values
from seedbed.vcs.merge import (
    MergeConflict,
    MergePlan,
    commits_between,
    land,
    plan_merge,
    reached,
)
from seedbed.vcs.runner import GitScope, current_scope, git_scope

TELLING = re.compile(r"(error|exception|fail|assert|denied|not found)", re.IGNORECASE)
RULE = re.compile(r"^([-=_~*#. ]+|Traceback \(most recent call last\):)$")


def telling_lines(output: str, count: int = 3) -> list[str]:
    """The last lines of check output that say what went wrong (an error's line, a
    summary such as "FAILED (errors=1)"), else its last lines; never a rule of dashes."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    lines = [line for line in lines if not RULE.match(line)]
    telling = [line for line in lines if TELLING.search(line)]
    return (telling or lines)[-count:]


class MergeChecksFailed(OperationError):
    """The checks failed on the merge result; the base branch did not move."""

    def __init__(self, base: str, checks: CheckResult) -> None:
        self.checks = checks
        last = telling_lines(checks.output_tail)
        how = "timed out" if checks.exit_code is None else f"exit {checks.exit_code}"
        super().__init__(
            f"the checks failed on the merge result with {base} ({how}); {base} did not "
            "move" + (": " + " / ".join(one_line(line)[:200] for line in last) if last else "")
        )


def base_moved_since_checks(project: Project, task: Task, runs: list[Run]) -> int | None:
    """How many commits the base branch gained since the task's latest checks ran (None
    when no checks ran or git cannot tell): the merge result is checked again then."""
    checked = standing_checks(runs)
    if checked is None or task.state not in (TaskState.AWAITING_REVIEW, TaskState.RUNNING):
        return None
    return commits_between(project.path, checked.checks.base, task.base_branch)


# What a board column shows at most on a tall screen: the window's first read asks for
# this many of each column, and for the rest right after they are painted.
FIRST_CARDS = 30


def board_cards(
    ctx: Context,
    project_id: int | None = None,
    task_ids: list[int] | None = None,
    first: int | None = None,
) -> list[Card]:
    """The board's cards, each awaiting review saying how far its base moved since its
    checks ran (git: one rev-parse per base, a count only where it moved). With `first`,
    only each column's first `first` cards."""
    store = ctx.store
    cards = store.cards(project_id, task_ids, first)
    tips: dict[tuple[int, str], str] = {}
    for card in cards:
        task = card.task
        if task.state is not TaskState.AWAITING_REVIEW or not card.check_base:
            continue
        key = (task.project_id, task.base_branch)
        if key not in tips:
            repo = store.get_project(task.project_id).path
            try:
                tips[key] = rev_parse(repo, f"refs/heads/{task.base_branch}")
            except OperationError:
                tips[key] = ""
        if tips[key] and tips[key] != card.check_base:
            repo = store.get_project(task.project_id).path
            card.base_moved = commits_between(repo, card.check_base, task.base_branch) or 0
    return cards


def approve(
    ctx: Context,
    task_id: int,
    strategy: MergeStrategy = MergeStrategy.SQUASH,
    message: str = "",
    delete_branch: bool = False,
    recheck: bool = True,
    asked_at: float | None = None,
) -> Done[Task]:
    """The user approves the task: `merge_task`, which says what it does."""
    task = merge_task(
        ctx.store,
        task_id,
        strategy,
        message,
        delete_branch,
        recheck=recheck,
        asked_at=asked_at,
        stopping=ctx.stopping,
    )
    return Done(value=task, changed=Changed.task(task_id))


def merge_task(
    store: Store,
    task_id: int,
    strategy: MergeStrategy = MergeStrategy.SQUASH,
    message: str = "",
    delete_branch: bool = False,
    automatic: bool = False,
    recheck: bool = True,
    on_flush: FlushListener | None = None,
    asked_at: float | None = None,
    stopping: Stopping | None = None,
) -> Task:
    """Merge the task's branch into its base branch → merged, worktree removed (and the
    branch too with delete_branch), once the checks passed on the merge result (`recheck`
    False: not checked again). `automatic`: the engine's auto-merge of a task that is
    still running (its run ending), so no one can act on it meanwhile. `asked_at`: when
    the user asked (a window's click, before the call reached a worker): its place in the
    project's merge queue. `stopping`: set when the process serving it stops, which
    ends it interrupted (ApproveInterrupted) if the base has not moved yet.

    When it cannot land the base is left exactly as it was and the task waits in
    awaiting_review: `conflict` naming the files, `merge_checks_failed` naming the check
    output, or the phase it had (a dirty checkout, a base moved by hand).
    """
    asked_at = asked_at or time.time()
    if stopping is not None and stopping.is_set():
        raise UserError(f"{stopping.reason}: approve task {task_id} once it is back")
    try:
        asked = store.get_task(task_id).state  # as the user saw it: a start may come between
        with holding_approve(store.path.parent, task_id):
            return _approve(
                store,
                task_id,
                asked,
                MergeRequest(
                    strategy=MergeStrategy(strategy),
                    message=message,
                    delete_branch=delete_branch,
                    recheck=recheck,
                    queued_at=asked_at,
                    pid=os.getpid(),
                ),
                automatic,
                on_flush,
                stopping or Stopping(),
            )
    finally:
        ANNOUNCED.forget(task_id, asked_at)


def _approve(
    store: Store,
    task_id: int,
    asked: TaskState,
    request: MergeRequest,
    automatic: bool,
    on_flush: FlushListener | None,
    stopping: Stopping,
) -> Task:
    """approve(), holding the task's approve lock (so no other approve of it, nor a start
    or resume of it, runs); `asked`: the task's state when it was asked."""
    finished = finish_landed(store, task_id)
    if finished is not None:
        return finished  # an approve killed after the base moved: done now
    task = store.get_task(task_id)
    expect = TaskState.RUNNING if automatic else TaskState.AWAITING_REVIEW
    if task.state is TaskState.RUNNING and not automatic:
        how = "was started again" if asked is TaskState.AWAITING_REVIEW else "is running"
        raise UserError(f"task {task_id} {how}; approve it when it is back in review")
    if task.state is not expect:
        check_move(task_id, task.state, TaskState.MERGED)  # names what is wrong
        raise UserError(f"task {task_id} is {task.state.value}: it is not for this merge")
    previous = task.phase
    if task.merge_request is not None:  # its approve died (we hold the lock): undone now
        previous = task.merge_request.previous_phase
    project = store.get_project(task.project_id)
    if task.branch is None or not vcs.branch_exists(project.path, task.branch):
        raise UserError(f"task {task_id} has no branch to merge")
    agent = task_agent(store, task)
    notes: list[str] = []  # said in the merge run's log, once it has one
    _commit_leftovers(project, task, agent, notes.append)
    if vcs.diff_stat(project.path, task.base_branch, task.branch).files == 0:
        raise UserError(
            f"task {task_id} changed nothing against {task.base_branch}: nothing to merge "
            "(discard it instead)"
        )
    request = request.model_copy(update={"previous_phase": previous})
    fields: TaskChanges = {"merge_request": request}
    if not automatic:
        fields["phase"] = Phase.MERGING
    task = store.update_task(task_id, expect=expect, **fields)
    checks = CheckResult()
    run: Run | None = None
    recorder: EventRecorder | None = None
    landed = False
    try:
        run = store.add_run(
            Run(
                task_id=task_id,
                number=0,
                kind=RunKind.MERGE,
                follow_up=f"merge into {task.base_branch} ({request.strategy.value})",
                pid=os.getpid(),
                started_at=time.time(),
            )
        )
        recorder = EventRecorder(store, run.id, on_flush=on_flush)
        for value in secrets.known_key_values():
            recorder.add_secret(value)
        note = _noter(recorder)
        for text in notes:
            note(text)
        with (
            git_scope(_merge_scope(store, run)),
            merge_turn(store, project, task_id, recorder, stopping),
        ):
            task = store.get_task(task_id)
            # What was written in the worktree while it waited is part of the change.
            _commit_leftovers(project, task, agent, note)
            agents = trailer_values(project.path, task.base_branch, task.branch or "", AGENT_KEY)
            message = merge_message(task, request.message, agents, agent)
            plan, checks = _merge_checked(
                store, project, task, request, message, recorder, stopping
            )
            # Said before the base moves, so that recovery can tell whether it did when
            # this process dies (kill -9) before the task is marked merged.
            request = request.model_copy(update={"landing": plan.new})
            store.update_task(task_id, expect=expect, merge_request=request)
            # From here on an interrupt waits: the base moves and the task is merged, or
            # neither happens.
            with signals_deferred():
                land(project.path, plan)
                landed = True
                moved = f"{task.base_branch} moved to {plan.new[:10]}"
                recorder.add([StatusEvent(phase="merging", message=moved)])
                _end_run(store, recorder, run, RunStatus.SUCCEEDED, "", checks, plan.new)
                return _merged(store, project, task, request, expect)
    except BaseException as exc:
        if landed:
            raise  # merged; only the clean-up after it failed
        if isinstance(exc, MergeChecksFailed):
            checks = exc.checks
        if run is not None and recorder is not None:
            ended = RunStatus.INTERRUPTED if isinstance(exc, ApproveInterrupted) else None
            _end_run(store, recorder, run, ended or RunStatus.FAILED, str(exc), checks)
        _unqueue(store, task_id, automatic, previous, exc)
        raise


def _merge_scope(store: Store, run: Run) -> GitScope:
    """The git of a merge run: it carries the run's marker, so that recovery of an approve
    that died (kill -9) kills the git it left hanging (git runs in a session of its own)."""
    scope = GitScope(current_scope())
    scope.env = {RUN_MARKER_VARIABLE: run_marker(store.path.parent, run.id)}
    return scope


FINISHED_BY_RECOVERY = (
    "{base} had moved to {commit} when this approve's process ended: finished by recovery"
)


def finish_landed(store: Store, task_id: int) -> Task | None:
    """The task merged, if an approve of it died after the base moved (killed before it
    could say so): the commit it recorded as landing is on the base. Its merge run ends
    as succeeded with that commit and a line saying recovery finished it; the worktree
    and branch go as that approve would have done. None when there is no such approve.
    Call it holding the task's approve lock (no live approve of it then)."""
    task = store.get_task(task_id)
    request = task.merge_request
    if request is None or not request.landing:
        return None
    if task.state not in (TaskState.AWAITING_REVIEW, TaskState.RUNNING) or task.branch is None:
        return None
    project = store.get_project(task.project_id)
    if not reached(project.path, task.base_branch, request.landing):
        return None  # it died before the base moved: recovery undoes it
    message = FINISHED_BY_RECOVERY.format(base=task.base_branch, commit=request.landing[:10])
    for run in store.list_runs(task_id):
        if run.kind is RunKind.MERGE and run.status is RunStatus.RUNNING:
            recorder = EventRecorder(store, run.id)
            recorder.add([StatusEvent(phase="merging", message=message)])
            _end_run(store, recorder, run, RunStatus.SUCCEEDED, "", run.checks, request.landing)
    return _merged(store, project, task, request, task.state)


def _merged(
    store: Store, project: Project, task: Task, request: MergeRequest, expect: TaskState
) -> Task:
    """The task once its change is on the base: merged, its worktree removed, and its
    branch too when asked (only a branch Seedbed made: the runner records a branch name
    only when it was free)."""
    assert task.branch is not None
    delete = request.delete_branch and task.branch.startswith("seedbed/")
    merged = store.move_task(
        task.id,
        TaskState.MERGED,
        Phase.NONE,
        expect=expect,
        workspace_ready=False,
        worktree=None,
        branch=None if delete else task.branch,
        error="",
        merge_request=None,
    )
    if task.worktree is not None:
        remove_workspace(project, task.worktree)
    forget_task_sandbox(store.path.parent, task.id, [run.id for run in store.list_runs(task.id)])
    if delete:
        vcs.delete_branch(project.path, task.branch)
    return merged


def _noter(recorder: EventRecorder) -> Callable[[str], None]:
    """A note of the commit's checks (a stale lock removed…) as a line of the merge run."""

    def note(text: str) -> None:
        recorder.add([StatusEvent(phase="merging", message=text)])

    return note


def _commit_leftovers(
    project: Project, task: Task, agent: AgentProfile | None, note: Callable[[str], None]
) -> None:
    """Commit what is left in the worktree; `note` hears what was done (a stale lock
    removed)."""
    worktree = worktree_path(task)
    if worktree is not None:
        commit_work(project, worktree, leftover_message(task, agent), note=note)


def _unqueue(
    store: Store, task_id: int, automatic: bool, previous: Phase, error: BaseException
) -> None:
    """An approve that did not land: the task leaves the queue; a conflict or failed
    checks become its phase (the runner decides an auto-merged task's)."""
    fields: TaskChanges = {"merge_request": None}
    if not automatic:
        fields["phase"] = previous
        if isinstance(error, MergeConflict):
            fields["phase"], fields["error"] = Phase.CONFLICT, str(error)
        elif isinstance(error, MergeChecksFailed):
            fields["phase"], fields["error"] = Phase.MERGE_CHECKS_FAILED, str(error)
        elif isinstance(error, ApproveInterrupted):
            fields["error"] = str(error)
    with contextlib.suppress(UserError, ValueError):  # moved meanwhile: nothing to undo
        store.update_task(task_id, **fields)


def _merge_checked(
    store: Store,
    project: Project,
    task: Task,
    request: MergeRequest,
    message: str,
    recorder: EventRecorder,
    stopping: Stopping,
) -> tuple[MergePlan, CheckResult]:
    """In the task's turn: compute the merge and check it when needed; the plan to land
    and the checks it passed. Raises MergeChecksFailed when they failed, and
    ApproveInterrupted when `stopping` cut them."""
    assert task.branch is not None

    def note(message: str) -> None:
        recorder.add([StatusEvent(phase="merging", message=message)])
        recorder.flush()

    worktree = worktree_path(task)
    plan = plan_merge(
        project.path,
        task.base_branch,
        task.branch,
        request.strategy,
        message,
        worktree,
    )
    base = task.base_branch
    note(f"merge into {base} at {plan.old[:10]} ({request.strategy.value}): {plan.new[:10]}")
    checks = CheckResult()
    passed = _passed_on(store, project, task.id, plan.tree)
    if plan.new == plan.old:
        note(f"{base} has this change already: nothing to check")
    elif not project.check_command:
        note("the project has no check command: merged without checking the result")
    elif not request.recheck:
        note("the checks on the merge result were skipped, as asked (no re-check)")
    elif passed is not None:
        note(f"the checks passed on this exact tree in run {passed.number}: not run again")
        checks = passed.checks
    else:
        note(_why_check(project, base, plan, store.list_runs(task.id)))
        checks = check_merge_result(store.path.parent, project, task, plan, recorder, stopping)
        if checks.status is not CheckStatus.PASSED:
            if stopping.is_set():
                raise ApproveInterrupted(task.id, base, stopping.reason)
            raise MergeChecksFailed(base, checks)
    return plan, checks


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl+C, SIGTERM and SIGHUP wait until the block is over (on the main thread, where
    Python delivers them; other threads never get them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _passed_on(store: Store, project: Project, task_id: int, tree: str) -> Run | None:
    """The task's run whose checks passed on exactly this tree, under the project's
    commands as they are now, if the task's latest checks are that pass."""
    standing = standing_checks(store.list_runs(task_id))
    if standing is None or standing.checks.status is not CheckStatus.PASSED:
        return None
    same = standing.checks.tree == tree and _same_commands(standing.checks, project)
    return standing if same else None


def _same_commands(checks: CheckResult, project: Project) -> bool:
    """Whether checks ran under the project's commands as they are now (checks recorded
    before commands were recorded count as such)."""
    return checks.commands in ("", commands_key(project))


def _why_check(project: Project, base: str, plan: MergePlan, runs: list[Run]) -> str:
    checked = standing_checks(runs)
    if checked is None:
        return "checking the merge result: no checks ran on this branch yet"
    if not _same_commands(checked.checks, project):
        return "checking the merge result: the project's commands changed since the checks"
    moved = commits_between(project.path, checked.checks.base, base)
    if moved:
        return f"checking the merge result: {base} moved {moved} commit(s) since the checks ran"
    return "checking the merge result: it is not the tree the checks ran on"


def check_merge_result(
    data_dir: Path,
    project: Project,
    task: Task,
    plan: MergePlan,
    recorder: EventRecorder,
    stopping: Stopping | None = None,
) -> CheckResult:
    """The project's setup and check commands on the planned commit, in a throwaway
    worktree with the project's local files copied in, as a task's own worktree has.
    `stopping` set stops them (they end failed, exit code None)."""
    path = worktrees_dir(data_dir, project.name) / f".merge-check-{task.id}"
    add_detached_worktree(project.path, path, plan.new)
    try:
        if project.copy_globs:
            vcs.copy_into_worktree(project.path, path, project.copy_globs)
        sandbox = command_sandbox(recorder.store, project, task, path)
        code, lines = asyncio.run(
            _setup_and_checks(project, task, path, recorder, stopping or Stopping(), sandbox)
        )
    finally:
        with contextlib.suppress(OperationError):
            remove_worktree(project.path, path)
    status = CheckStatus.PASSED if code == 0 else CheckStatus.FAILED
    message = f"checks on the merge result {status.value} (exit {code})"
    # A failure is said once as an error: by the merge run's end, with the telling lines.
    recorder.add([StatusEvent(phase="merging", message=message)])
    return CheckResult(
        status=status,
        exit_code=code,
        output_tail=recorder.scrub(tail(lines)),
        tree=plan.tree,
        base=plan.old,
        commands=commands_key(project),
    )


async def _setup_and_checks(
    project: Project,
    task: Task,
    path: Path,
    recorder: EventRecorder,
    stopping: Stopping,
    sandbox: SandboxPlan | None,
) -> tuple[int | None, list[str]]:
    """The setup and check commands on the merge result (in the sandbox's network, when
    it has one of its own)."""
    cutter = _Cutter(asyncio.get_running_loop())

    def note(message: str) -> None:
        recorder.add([StatusEvent(phase="merging", message=message)])

    async with sandbox_network(sandbox, note):
        return await _commands(project, task, path, recorder, stopping, sandbox, cutter)


async def _commands(
    project: Project,
    task: Task,
    path: Path,
    recorder: EventRecorder,
    stopping: Stopping,
    sandbox: SandboxPlan | None,
    cutter: _Cutter,
) -> tuple[int | None, list[str]]:
    ids = (task.id, recorder.run_id)
    marker = run_marker(recorder.store.path.parent, recorder.run_id)
    timeout = project.check_timeout
    with stopping.calling(cutter.cut):
        if project.setup_command:
            code, lines = await project_command(
                project.setup_command,
                path,
                timeout,
                Stream.SETUP,
                recorder,
                ids,
                marker,
                cutter.started,
                sandbox,
            )
            if code != 0:
                lines.append(f"(the setup command exited with code {code})")
                return code, lines
        if cutter.cutting:
            return None, []
        command = project.check_command
        return await project_command(
            command, path, timeout, Stream.CHECK, recorder, ids, marker, cutter.started, sandbox
        )


class _Cutter:
    """Stops the command running on `loop` when cut() is called from any thread; once
    cut, the next command stops as soon as it starts."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._process: ManagedProcess | None = None
        self._stops: set[asyncio.Task[None]] = set()
        self.cutting = False

    def started(self, process: ManagedProcess | None) -> None:
        """On the loop: the command that runs now (None: it ended)."""
        self._process = process
        if process is not None and self.cutting:
            self._stop(process)

    def cut(self) -> None:
        self._loop.call_soon_threadsafe(self._cut_on_loop)

    def _cut_on_loop(self) -> None:
        self.cutting = True
        if self._process is not None:
            self._stop(self._process)

    def _stop(self, process: ManagedProcess) -> None:
        stopping = self._loop.create_task(process.stop())
        self._stops.add(stopping)
        stopping.add_done_callback(self._stops.discard)


def _end_run(
    store: Store,
    recorder: EventRecorder,
    run: Run,
    status: RunStatus,
    reason: str,
    checks: CheckResult,
    commit: str | None = None,
) -> None:
    """The merge run ended; `commit`: what the base moved to, when it did."""
    if reason:
        recorder.add([ErrorEvent(message=recorder.scrub(reason))])
    phase = "merged" if status is RunStatus.SUCCEEDED else "merging"
    recorder.add([StatusEvent(phase=phase, message=f"run {run.number} ended")])
    recorder.flush()
    store.update_run(
        run.id,
        status=status,
        reason=recorder.scrub(reason),
        ended_at=time.time(),
        checks=checks,
        commit=commit,
    )
