"""When a task comes to need the user, and in which order they are walked."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtGui import QIcon
from pytestqt.qtbot import QtBot

from seedbed.domain.models import Phase, Task, TaskState
from seedbed.ui.common.context import AppContext
from seedbed.ui.window.attention import Attention, needs_you_order, notification_for
from tests.conftest import SeedbedCli


def task(state: TaskState, phase: Phase, updated: float = 0.0, task_id: int = 1) -> Task:
    return Task(
        id=task_id,
        project_id=1,
        title="Fix it\nnow",
        state=state,
        phase=phase,
        updated_at=updated,
        error="exit 1" if phase is Phase.AGENT_FAILED else "",
    )


RUNNING = task(TaskState.RUNNING, Phase.IMPLEMENTING)


def test_a_run_that_ends_ready_or_failed_notifies() -> None:
    ready = notification_for(RUNNING, task(TaskState.AWAITING_REVIEW, Phase.READY))
    assert ready == ("#1 is ready for review", "Fix it now")
    failed = notification_for(RUNNING, task(TaskState.AWAITING_REVIEW, Phase.AGENT_FAILED))
    assert failed is not None and "agent failed" in failed[0] and "exit 1" in failed[1]
    conflict = notification_for(
        task(TaskState.AWAITING_REVIEW, Phase.READY),
        task(TaskState.AWAITING_REVIEW, Phase.CONFLICT),
    )
    assert conflict is not None and "conflict" in conflict[0]


def test_nothing_else_notifies() -> None:
    waiting = task(TaskState.AWAITING_REVIEW, Phase.READY)
    assert notification_for(waiting, waiting) is None  # no change
    assert notification_for(RUNNING, task(TaskState.PLANNED, Phase.DRAFT)) is None
    assert notification_for(None, RUNNING) is None
    merged = task(TaskState.MERGED, Phase.NONE)
    assert notification_for(waiting, merged) is None


def test_the_queue_is_oldest_first() -> None:
    tasks = [
        task(TaskState.AWAITING_REVIEW, Phase.READY, updated=30, task_id=1),
        task(TaskState.RUNNING, Phase.IMPLEMENTING, updated=5, task_id=2),
        task(TaskState.AWAITING_REVIEW, Phase.CHECKS_FAILED, updated=10, task_id=3),
    ]
    assert [t.id for t in needs_you_order(tasks)] == [3, 1]


def test_an_agents_question_notifies_and_comes_first() -> None:
    asking = task(TaskState.AWAITING_REVIEW, Phase.NEEDS_INPUT, updated=50, task_id=4)
    assert notification_for(RUNNING, asking) == ("#4 asks you a question", "Fix it now")
    assert notification_for(asking, RUNNING) is None  # answered: the run goes on
    ready = task(TaskState.AWAITING_REVIEW, Phase.READY, updated=30, task_id=1)
    assert [t.id for t in needs_you_order([ready, asking])] == [4, 1]


@pytest.mark.usefixtures("project")
def test_the_queue_follows_each_change_read_in_one_call(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    """After the first read of every task, a burst of changes is one read of the changed
    tasks: a task reaching review joins the queue, a discarded one leaves it."""
    command_profile("quick", "echo done > out-$SEEDBED_TASK_ID.txt")
    attention = Attention(app_context, QIcon())
    counts: list[int] = []
    attention.count_changed.connect(counts.append)
    attention.refresh()
    qtbot.waitUntil(lambda: counts == [0])
    with qtbot.waitSignal(attention.notified, timeout=30_000):
        out = seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Ready", "--start", "--json"
        )
    ready = int(out.json()["id"])
    qtbot.waitUntil(lambda: [t.id for t in attention.queue] == [ready])
    assert counts[-1] == 1
    seedbed.ok("task", "discard", str(ready))
    qtbot.waitUntil(lambda: attention.queue == [], timeout=10_000)
    assert counts[-1] == 0
