"""The messages of the commits Seedbed makes on a task's branch and the base branch, each
naming the agent that wrote the work in a trailer."""

from __future__ import annotations

from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentProfile, Run, Task
from seedbed.domain.slug import one_line
from seedbed.domain.trailers import AGENT_KEY, add_trailers, agent_trailer
from seedbed.store import Store


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
