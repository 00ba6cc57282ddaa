"""Questions a run's agent asks its user, stored: one answer wins, a restart still sees
one that waits, and an engine that died leaves none waiting (its task interrupted)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed.core.context import Context
from seedbed.core.questions import answer_question
from seedbed.domain.errors import UserError
from seedbed.domain.models import Phase, Project, Run, RunStatus, Task, TaskState
from seedbed.domain.questions import Answerer, Question, QuestionStatus
from seedbed.engine.recovery import recover
from seedbed.store import Store
from seedbed.store.lock import EngineLock


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "seedbed.db")
    yield store
    store.close()


def asking(store: Store) -> Question:
    """A task whose running agent asks: Awaiting review, needs_input, its run running."""
    project = store.add_project(Project(name="p", path=Path("/repo"), base_branch="main"))
    task = store.add_task(Task(project_id=project.id, title="t", base_branch="main"))
    store.move_task(task.id, TaskState.RUNNING, Phase.IMPLEMENTING)
    run = store.add_run(Run(task_id=task.id, number=0, status=RunStatus.RUNNING))
    store.move_task(task.id, TaskState.AWAITING_REVIEW, Phase.NEEDS_INPUT)
    return store.add_question(
        Question(task_id=task.id, run_id=run.id, text="Red or blue?", options=["red", "blue"])
    )


def test_a_question_waits_across_a_restart_and_takes_one_answer(
    store: Store, tmp_path: Path
) -> None:
    asked = asking(store)
    store.close()
    again = Store(tmp_path / "seedbed.db")  # a restarted window reads it back
    try:
        assert again.waiting_question(asked.task_id) == asked
        assert [c.question for c in again.cards()] == ["Red or blue?"]
        with pytest.raises(UserError, match="no engine runs"):
            answer_question(Context(again), asked.task_id, "blue")
        with EngineLock(tmp_path):  # an engine (this test) waits on the answer
            done = answer_question(Context(again), asked.task_id, " blue ", Answerer.WINDOW)
        assert (done.value.status, done.value.answer) == (QuestionStatus.ANSWERED, "blue")
        assert done.value.answered_by is Answerer.WINDOW
        assert again.waiting_question(asked.task_id) is None
        with pytest.raises(UserError, match="waits on no question"):
            answer_question(Context(again), asked.task_id, "red")
        with pytest.raises(UserError, match="no longer waits"):
            again.answer_question(asked.id, "red", Answerer.CLI)
    finally:
        again.close()


def test_a_task_whose_agent_waits_leaves_the_column_only_by_its_answer_or_its_end(
    store: Store,
) -> None:
    asked = asking(store)
    for target, phase in (
        (TaskState.MERGED, Phase.NONE),
        (TaskState.DISCARDED, Phase.NONE),
        (TaskState.RUNNING, Phase.QUEUED),  # a resume or a request for changes
    ):
        with pytest.raises(UserError, match="waits on your answer"):
            store.move_task(asked.task_id, target, phase)
    store.move_task(asked.task_id, TaskState.RUNNING, Phase.IMPLEMENTING)  # answered


def test_recovery_ends_a_question_an_engine_that_died_left_waiting(store: Store) -> None:
    asked = asking(store)

    assert recover(store) == [asked.task_id]

    task = store.get_task(asked.task_id)
    assert (task.state, task.phase) == (TaskState.AWAITING_REVIEW, Phase.INTERRUPTED)
    ended = store.get_question(asked.id)
    assert ended.status is QuestionStatus.UNANSWERED and "engine stopped" in ended.reason
    said = [json.loads(data).get("message") for _seq, data in store.read_events(asked.run_id)]
    assert f"no answer: {ended.reason}" in said  # in its log, as a stop says it
