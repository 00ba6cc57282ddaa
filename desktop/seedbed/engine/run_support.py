"""What a task's runs share: the git threads, commits of what an agent left (and undoing
what a planner or reviewer left), usage sums and the texts of the log (Qt-free)."""

from __future__ import annotations

import asyncio
import contextvars
import glob
import os
import shutil
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from seedbed import secrets, vcs
from seedbed.agents.base import RunOutcome
from seedbed.agents.process import (
    RUN_MARKER_VARIABLE,
    ManagedProcess,
    ProcessSpec,
    keyless_environment,
)
from seedbed.domain.errors import UserError
from seedbed.domain.events import ErrorEvent, Event, OutputEvent, Stream, UsageEvent
from seedbed.domain.models import AgentProfile, Project, Run, RunStatus, Task
from seedbed.domain.slug import one_line
from seedbed.domain.trailers import AGENT_KEY, add_trailers, agent_trailer
from seedbed.engine.recorder import EventRecorder
from seedbed.engine.worktree_guard import (
    back_on_branch,
    check_repository,
    clear_stale_locks,
    refuse_keys,
    refuse_nested_repositories,
    return_to_branch,
    stale_lock_note,
)
from seedbed.store import Store
from seedbed.vcs.runner import PATHS_RAW, run_git

CHECK_TAIL_BYTES = 4000
DIFF_EVERY_S = 10.0  # how often a running card's diff size is measured
CONTEXT_FULL = "context_full"
CONTEXT_FULL_NOTE = (
    "(An earlier run on this task filled the model's context and was stopped; its work "
    "so far is in the worktree. Look at the changes with the tools before going on.)\n\n"
)
FlushListener = Callable[[int, int, int], None]
# Git work of every run goes through a few threads, not one per run: when twenty runs end
# together, twenty threads running git at once would starve the window's thread of
# the GIL (tests/perf gui_max_stall_ending_ms); git itself is bound by the cores anyway.
GIT_THREADS = ThreadPoolExecutor(
    max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="seedbed-git"
)
T = TypeVar("T")


async def git_call(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) on one of the git threads, in the caller's context (its git scope)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(GIT_THREADS, context.run, fn, *args)


class Usage:
    """Tokens, cost and the highest context fill of a run, summed from its usage events."""

    def __init__(self) -> None:
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost_usd = 0.0
        self.context_fill = 0.0

    def add(self, batch: list[Event]) -> bool:
        """Count the batch's usage events; True when there were any."""
        seen = False
        for event in batch:
            if isinstance(event, UsageEvent):
                self.tokens_in += event.tokens_in
                self.tokens_out += event.tokens_out
                self.cost_usd += event.cost_usd
                self.context_fill = max(self.context_fill, event.context_fill)
                seen = True
        return seen

    def fields(self) -> dict[str, int | float]:
        return {
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost_usd, 6),
            "context_fill": round(self.context_fill, 4),
        }


class StepFailed(Exception):
    """A step before or after the agent failed; the task ends as agent_failed."""


def _ignore(_note: str) -> None:
    pass


def commit_work(
    project: Project,
    worktree: Path,
    message: str,
    task: Task | None = None,
    note: Callable[[str], None] = _ignore,
    refs_before: Mapping[str, str] | None = None,
) -> str | None:
    """Commit what is left in a task's worktree, except the project's local files
    (--copy): a copied .env must never reach the task's branch or the base branch.

    First, what an agent or a killed git may have left (worktree_guard): only a worktree
    of the project's repository is committed, a stale index.lock is removed, HEAD goes
    back on the `task`'s branch (taking only commits new since `refs_before`, the refs
    when its agent started), and a nested repository or a known key in the change is
    refused (WorkNotCommitted, nothing staged). `note` hears what was done."""
    check_repository(project.path, worktree)
    for lock in clear_stale_locks(worktree):
        note(stale_lock_note(lock))
    moved = ""
    if task is not None and task.branch is not None:
        moved = return_to_branch(worktree, task.branch, task.base_branch, refs_before)
    if moved:
        note(moved)
    exclude = vcs.local_only_files(project.path, worktree, project.copy_globs)
    refuse_nested_repositories(worktree)
    refuse_keys(worktree, secrets.known_keys(), exclude)
    sha = vcs.commit_all(worktree, message, exclude)
    # A merge of the base branch left for the agent to resolve is committed as a merge
    # even when its result equals the branch's tip.
    return sha or vcs.finish_merge(worktree, message)


def checked_tree(worktree: Path, base: str) -> tuple[str, str]:
    """The tree of the worktree's HEAD and the base branch's commit, as checks see them
    (empty strings when git cannot tell)."""
    try:
        tree = run_git(worktree, "rev-parse", "HEAD^{tree}").strip()
        base_sha = run_git(worktree, "rev-parse", f"refs/heads/{base}").strip()
    except vcs.GitError:
        return "", ""
    return tree, base_sha


def remove_workspace(project: Project, worktree: Path) -> None:
    """Remove a task's worktree and the per-task state agents keep beside it
    (`.<worktree name>.<agent>`, e.g. Aider's chat history): nothing is left behind."""
    vcs.remove_worktree(project.path, worktree)
    for state in worktree.parent.glob(f".{glob.escape(worktree.name)}.*"):
        if state.is_dir() and not state.is_symlink():
            shutil.rmtree(state, ignore_errors=True)


def discard_changes(project: Project, worktree: Path, branch: str, head: str) -> str:
    """Undo what a planner or reviewer run did in the worktree (the work itself is
    committed at `head`, the tip of the task's `branch` when the run started): HEAD back
    on `branch`, the branch and its files back to `head` (a commit it made is dropped
    too), new files removed, the project's local files kept. No other branch moves: one
    the agent switched to (the user's own) stays as it is. A note of the switch, or ""."""
    check_repository(project.path, worktree)  # a reset --hard in another repository…
    keep = set(vcs.local_only_files(project.path, worktree, project.copy_globs))
    note = back_on_branch(worktree, branch)
    run_git(worktree, "reset", "-q", "--hard", head)  # moves `branch` only, HEAD is on it
    out = run_git(worktree, *PATHS_RAW, "ls-files", "-z", "--others", "--exclude-standard")
    for name in out.split("\0"):
        if name and name not in keep:
            (worktree / name).unlink(missing_ok=True)
    return note


def task_agent(store: Store, task: Task) -> AgentProfile | None:
    """The agent profile that writes the task's code (None: none, or it was removed)."""
    if task.profile_id is None:
        return None
    try:
        return store.get_profile(task.profile_id)
    except UserError:
        return None


def _agent_trailers(agent: AgentProfile | None) -> list[str]:
    return [agent_trailer(agent)] if agent is not None else []


def _subject(title: str, suffix: str = "") -> str:
    return one_line(title, 72 - len(suffix)) + suffix


def commit_message(
    task: Task, run: Run, merged_base: bool = False, agent: AgentProfile | None = None
) -> str:
    """The message of a run's snapshot commit, naming `agent` in a trailer. A rebase puts
    these commits on the base branch: each run's subject is its own (run 1 is the title,
    a later run adds its number and kind)."""
    if merged_base:
        text = (
            f"Merge {task.base_branch} into {task.branch}\n\n"
            f"Seedbed task {task.id}, run {run.number} ({run.kind.value}): "
            "conflicts resolved by the agent.\n"
        )
    else:
        suffix = "" if run.number <= 1 else f" (run {run.number}: {run.kind.value})"
        text = (
            f"{_subject(task.title, suffix)}\n\n"
            f"Seedbed task {task.id}, run {run.number} ({run.kind.value}), "
            "changes left by the agent.\n"
        )
    return add_trailers(text, _agent_trailers(agent))


def leftover_message(task: Task, agent: AgentProfile | None) -> str:
    """The message of the commit approve makes of what is left in the worktree; its own
    subject, as a rebase puts it on the base branch beside the runs' commits."""
    text = f"{_subject(task.title, ' (left in the worktree)')}\n\nChanges left in the worktree.\n"
    return add_trailers(text, _agent_trailers(agent))


def discard_message(task: Task, agent: AgentProfile | None) -> str:
    text = f"{one_line(task.title)}\n\nWork kept when discarded.\n"
    return add_trailers(text, _agent_trailers(agent))


def merge_message(
    task: Task, message: str, agents: list[str], fallback: AgentProfile | None
) -> str:
    """The squash or merge commit's message: the reviewer's `message` (else the task's
    title), with an `Agent:` trailer for each of `agents` (the trailers' values on the
    branch's commits), or for `fallback` when the branch names none."""
    text = message if message.strip() else f"{one_line(task.title)}\n\nSeedbed task {task.id}\n"
    trailers = [f"{AGENT_KEY}: {value}" for value in agents] or _agent_trailers(fallback)
    return add_trailers(text, trailers)


def merge_note(base: str, branch: str, files: list[str]) -> str:
    """The log line saying what merging the base branch into the task's branch did."""
    if not files:
        return f"merged {base} into {branch}: no conflicts"
    return f"merged {base} into {branch}: conflicts in {', '.join(files)}"


async def project_command(
    command: str,
    worktree: Path,
    timeout: float,
    stream: Stream,
    recorder: EventRecorder,
    ids: tuple[int, int],
    marker: str,
    started: Callable[[ManagedProcess | None], None] = lambda _process: None,
) -> tuple[int | None, list[str]]:
    """Run a project command (setup or checks) through /bin/sh in `worktree`, its lines
    recorded; its exit code (None when it was stopped or timed out) and its last lines.
    `ids` (task, run) and the run's `marker` mark its processes, so recovery finds them;
    `started` hears of the process (to stop it) and of its end (None)."""
    env = keyless_environment()
    env["SEEDBED_TASK_ID"], env["SEEDBED_RUN_ID"] = (str(n) for n in ids)
    env[RUN_MARKER_VARIABLE] = marker
    spec = ProcessSpec(
        argv=["/bin/sh", "-c", command],
        cwd=worktree,
        env=env,
        timeout=timeout,
        streams=(stream, stream),
    )
    process = await ManagedProcess.start(spec)
    started(process)
    lines: list[str] = []
    try:
        async for batch in process.batches():
            recorder.add(
                OutputEvent.model_construct(ts=time.time(), stream=s, line=text, cut=cut)
                for s, text, cut in batch
            )
            lines.extend(text for _s, text, _cut in batch)
            del lines[:-200]
    finally:
        started(None)
    if process.ended_by == "timeout":
        recorder.add([ErrorEvent(ts=time.time(), message=f"{stream.value} command timed out")])
    return process.exit_code, lines


def tail(lines: list[str], limit: int = CHECK_TAIL_BYTES) -> str:
    text = "\n".join(lines)
    return text[-limit:]


def stopped() -> RunOutcome:
    return RunOutcome(status=RunStatus.STOPPED, reason="stopped")
