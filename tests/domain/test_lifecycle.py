"""The task state machine, checked against the table in DESIGN.md."""

from __future__ import annotations

import itertools

import pytest

from seedbed.domain.errors import IllegalTransition, UserError
from seedbed.domain.lifecycle import PHASES, check_move, check_phase, is_legal
from seedbed.domain.models import Phase, TaskState

S = TaskState
P = Phase

# DESIGN.md, "Task lifecycle": the only legal moves between columns.
LEGAL = {
    (S.PLANNED, S.RUNNING),
    (S.RUNNING, S.AWAITING_REVIEW),
    (S.AWAITING_REVIEW, S.RUNNING),
    (S.AWAITING_REVIEW, S.MERGED),
    (S.RUNNING, S.MERGED),  # auto-merge, by the engine only
    (S.RUNNING, S.PLANNED),
    (S.PLANNED, S.DISCARDED),
    (S.AWAITING_REVIEW, S.DISCARDED),
}
ILLEGAL = sorted(set(itertools.product(S, S)) - LEGAL)

# DESIGN.md: which phases say more within each state.
STATE_PHASES = {
    S.PLANNED: {P.DRAFT},
    S.RUNNING: {P.QUEUED, P.PREPARING, P.PLANNING, P.IMPLEMENTING, P.CHECKING, P.REVIEWING},
    S.AWAITING_REVIEW: {
        P.READY,
        P.PLAN_READY,
        P.CHECKS_FAILED,
        P.AGENT_FAILED,
        P.CONFLICT,
        P.INTERRUPTED,
        P.NEEDS_INPUT,
        P.MERGING,
        P.MERGE_CHECKS_FAILED,
    },
    S.MERGED: {P.NONE},
    S.DISCARDED: {P.NONE},
}

COLUMN_NAMES = {
    S.PLANNED: "planned",
    S.RUNNING: "running",
    S.AWAITING_REVIEW: "awaiting review",
    S.MERGED: "merged",
    S.DISCARDED: "discarded",
}


def test_the_states_are_the_five_columns() -> None:
    assert [s.value for s in S] == [
        "planned",
        "running",
        "awaiting_review",
        "merged",
        "discarded",
    ]


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_moves_are_allowed(current: TaskState, target: TaskState) -> None:
    assert is_legal(current, target)
    check_move(7, current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_other_move_is_refused_naming_both_columns(
    current: TaskState, target: TaskState
) -> None:
    assert not is_legal(current, target)
    with pytest.raises(IllegalTransition) as refused:
        check_move(7, current, target)
    message = str(refused.value).lower()
    assert "task 7" in message
    first, second = COLUMN_NAMES[current], COLUMN_NAMES[target]
    if first == second:
        assert message.count(first) >= 2, message
    else:
        assert message.index(first) < message.index(second), message


def test_an_illegal_move_is_a_user_error() -> None:
    # The CLI turns a UserError into `error: …` and exit code 2.
    assert issubclass(IllegalTransition, UserError)


def test_merged_and_discarded_are_terminal() -> None:
    for end in (S.MERGED, S.DISCARDED):
        assert not any(is_legal(end, target) for target in S)


@pytest.mark.parametrize("state", list(S))
def test_phases_belong_to_their_states(state: TaskState) -> None:
    assert PHASES[state] == STATE_PHASES[state]
    for phase in P:
        if phase in STATE_PHASES[state]:
            check_phase(state, phase)
        else:
            with pytest.raises(ValueError, match=repr(state.value)):
                check_phase(state, phase)


def test_every_phase_belongs_to_some_state() -> None:
    owners = {phase: [s for s in S if phase in STATE_PHASES[s]] for phase in P}
    assert all(owners.values()), owners
    assert [phase for phase, states in owners.items() if len(states) > 1] == [P.NONE]
