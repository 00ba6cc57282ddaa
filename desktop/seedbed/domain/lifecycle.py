"""The task state machine: which moves between columns are legal, and which phases fit a state."""

from __future__ import annotations

from seedbed.domain.errors import IllegalTransition
from seedbed.domain.models import Phase, TaskState

PHASES: dict[TaskState, frozenset[Phase]] = {
    TaskState.PLANNED: frozenset({Phase.DRAFT}),
    TaskState.RUNNING: frozenset(
        {
            Phase.QUEUED,
            Phase.PREPARING,
            Phase.PLANNING,
            Phase.IMPLEMENTING,
            Phase.CHECKING,
            Phase.REVIEWING,
        }
    ),
    TaskState.AWAITING_REVIEW: frozenset(
        {
            Phase.READY,
            Phase.PLAN_READY,
            Phase.CHECKS_FAILED,
            Phase.AGENT_FAILED,
            Phase.CONFLICT,
            Phase.INTERRUPTED,
            Phase.NEEDS_INPUT,
            Phase.MERGING,
            Phase.MERGE_CHECKS_FAILED,
        }
    ),
    TaskState.MERGED: frozenset({Phase.NONE}),
    TaskState.DISCARDED: frozenset({Phase.NONE}),
}

MOVES: dict[tuple[TaskState, TaskState], str] = {
    (TaskState.PLANNED, TaskState.RUNNING): "start",
    (TaskState.RUNNING, TaskState.AWAITING_REVIEW): "the run ended, or its agent asks the user",
    (TaskState.AWAITING_REVIEW, TaskState.RUNNING): "request changes, resume, fix, or the "
    "agent's question answered (its run goes on: docs/decisions.md)",
    (TaskState.AWAITING_REVIEW, TaskState.MERGED): "approve",
    (TaskState.RUNNING, TaskState.MERGED): "auto-merge (the engine, at the end of a run)",
    (TaskState.RUNNING, TaskState.PLANNED): "stop and requeue",
    (TaskState.PLANNED, TaskState.DISCARDED): "discard",
    (TaskState.AWAITING_REVIEW, TaskState.DISCARDED): "discard",
}

LABELS: dict[TaskState, str] = {
    TaskState.PLANNED: "Planned",
    TaskState.RUNNING: "Running",
    TaskState.AWAITING_REVIEW: "Awaiting review",
    TaskState.MERGED: "Merged",
    TaskState.DISCARDED: "Discarded",
}


def is_legal(current: TaskState, target: TaskState) -> bool:
    return (current, target) in MOVES


def check_move(task_id: int, current: TaskState, target: TaskState) -> None:
    """Raise IllegalTransition, naming both columns, unless current → target is allowed."""
    if (current, target) not in MOVES:
        raise IllegalTransition(
            f"task {task_id} cannot go from {LABELS[current]} to {LABELS[target]}"
        )


def check_phase(state: TaskState, phase: Phase) -> None:
    if phase not in PHASES[state]:
        raise ValueError(f"phase {phase.value!r} does not belong to state {state.value!r}")
