"""What the agent of a run is asked (engine.agent_request): pure, no store, no process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seedbed.domain.models import Run, RunKind, Task
from seedbed.engine.agent_request import agent_profile_id, agent_request, previous_conversation
from seedbed.engine.run_support import CONTEXT_FULL, CONTEXT_FULL_NOTE

TASK = Task(
    id=7,
    project_id=1,
    title="Add a flag",
    prompt="Add --flag",
    plan="1. parse it\n",
    profile_id=1,
    reviewer_profile_id=2,
    worktree=Path("/tmp/wt"),
)


def run(id: int, kind: RunKind = RunKind.IMPLEMENT, **fields: Any) -> Run:
    return Run(id=id, task_id=TASK.id, number=id, kind=kind, **fields)


@pytest.mark.parametrize(
    ("task", "kind", "profile"),
    [
        (TASK, RunKind.IMPLEMENT, 1),
        (TASK, RunKind.FIX, 1),
        (TASK, RunKind.REVIEW, 2),
        (TASK, RunKind.PLAN, 1),
        (TASK.model_copy(update={"planner_profile_id": 3}), RunKind.PLAN, 3),
        (TASK.model_copy(update={"reviewer_profile_id": None}), RunKind.REVIEW, None),
    ],
)
def test_the_profile_of_each_kind_of_run(task: Task, kind: RunKind, profile: int | None) -> None:
    assert agent_profile_id(task, kind) == profile


def test_a_first_run_is_asked_the_task() -> None:
    first = run(1)
    request = agent_request(TASK, first, [first], "marker")
    assert (request.task_id, request.run_id, request.kind) == (7, 1, RunKind.IMPLEMENT)
    assert (request.title, request.prompt, request.plan) == ("Add a flag", "Add --flag", TASK.plan)
    assert (request.follow_up, request.conversation, request.marker) == ("", "", "marker")


def test_a_follow_up_continues_the_implementers_last_conversation() -> None:
    runs = [
        run(1, conversation="[1]"),
        run(2, RunKind.REVIEW, conversation="[review]"),
        run(3, RunKind.FIX, follow_up="fix it"),
    ]
    request = agent_request(TASK, runs[2], runs, "m")
    assert (request.conversation, request.follow_up) == ("[1]", "fix it")


def test_a_conversation_that_filled_the_context_is_not_continued() -> None:
    runs = [run(1, conversation="[1]", reason=CONTEXT_FULL), run(2, follow_up="go on")]
    request = agent_request(TASK, runs[1], runs, "m")
    assert (request.conversation, request.follow_up) == ("", CONTEXT_FULL_NOTE + "go on")


def test_a_review_starts_afresh_and_a_plan_is_asked_for() -> None:
    runs = [run(1, conversation="[1]"), run(2, RunKind.REVIEW, follow_up="the diff")]
    review = agent_request(TASK, runs[1], runs, "m")
    assert (review.conversation, review.follow_up) == ("", "the diff")
    plan = agent_request(TASK, run(3, RunKind.PLAN, follow_up="shorter"), runs, "m")
    assert plan.conversation == ""
    assert "Plan this task" in plan.follow_up and "shorter" in plan.follow_up


def test_the_run_itself_is_not_its_previous_conversation() -> None:
    runs = [run(1, conversation="[1]"), run(2, conversation="[2]")]
    assert previous_conversation(runs, 2) == ("[1]", "")
    assert previous_conversation(runs, 3) == ("[2]", "")
    assert previous_conversation([], 1) == ("", "")
