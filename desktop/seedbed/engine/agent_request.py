"""What the agent of a run is asked, as data (pure: no store, no process; Qt-free): the
profile that runs it and its request, a follow-up continuing the last conversation."""

from __future__ import annotations

from seedbed.agents.base import RunRequest
from seedbed.core.planning import plan_prompt
from seedbed.domain.models import Run, RunKind, Task
from seedbed.engine.run_support import CONTEXT_FULL, CONTEXT_FULL_NOTE


def agent_profile_id(task: Task, kind: RunKind) -> int | None:
    """The profile whose agent runs a run of this kind: the reviewer's for a review, the
    planner's (else the task's own) for a plan, the task's own otherwise."""
    if kind is RunKind.REVIEW:
        return task.reviewer_profile_id
    if kind is RunKind.PLAN:
        return task.planner_profile_id or task.profile_id
    return task.profile_id


def agent_request(task: Task, run: Run, runs: list[Run], marker: str) -> RunRequest:
    """The request of `run` (one of the task's `runs`): a planner is asked for the plan; a
    follow-up continues the last conversation; a review starts with a fresh context."""
    assert task.worktree is not None
    request = RunRequest(
        task_id=task.id,
        run_id=run.id,
        run_number=run.number,
        kind=run.kind,
        title=task.title,
        prompt=task.prompt,
        plan=task.plan,
        worktree=task.worktree,
        follow_up=run.follow_up,
        marker=marker,
    )
    if run.kind is RunKind.PLAN:
        request.follow_up = plan_prompt(task, run.follow_up)
    elif run.follow_up and run.kind is not RunKind.REVIEW:
        conversation, note = previous_conversation(runs, run.id)
        request.conversation = conversation
        request.follow_up = note + run.follow_up
    return request


def previous_conversation(runs: list[Run], current: int | None) -> tuple[str, str]:
    """What a follow-up continues: the last saved conversation of the task's `runs`, and
    a note for the agent. A conversation that filled the context is not continued (it
    would fill it again at once): the agent starts afresh on the work so far."""
    for run in reversed(runs):
        fresh = run.kind in (RunKind.REVIEW, RunKind.PLAN)  # not the implementer's talk
        if run.id == current or not run.conversation or fresh:
            continue
        if run.reason == CONTEXT_FULL:
            return "", CONTEXT_FULL_NOTE
        return run.conversation, ""
    return "", ""
