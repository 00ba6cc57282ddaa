"""The end of a run, decided (engine.run_end): each branch of the decision, as plain data
in and out; no git, no store, no process."""

from __future__ import annotations

from typing import Any

import pytest

from seedbed.domain.models import (
    CheckResult,
    CheckStatus,
    Control,
    Phase,
    RunKind,
    RunStatus,
    TaskState,
)
from seedbed.engine.run_end import (
    NO_PLAN,
    EndNote,
    NextRun,
    RunEnd,
    RunFacts,
    auto_merge_refusal,
    decide_end,
    review_may_follow,
)

PASSED = CheckResult(status=CheckStatus.PASSED, exit_code=0)
FAILED = CheckResult(status=CheckStatus.FAILED, exit_code=1, output_tail="1 test failed")
NO_CHECKS = CheckResult()
WAITING = TaskState.AWAITING_REVIEW
OK = RunStatus.SUCCEEDED


def facts(**changes: Any) -> RunFacts:
    """An implement run that succeeded, its checks passed, two fix rounds allowed."""
    base: dict[str, Any] = {
        "kind": RunKind.IMPLEMENT,
        "status": OK,
        "checks": PASSED,
        "rounds_allowed": 2,
    }
    return RunFacts(**(base | changes))


def note(phase: Phase, message: str, error: bool = False) -> EndNote:
    return EndNote(phase=phase, message=message, error=error)


# Each case: the facts that differ from `facts()`, and the whole end expected.
CASES: dict[str, tuple[dict[str, Any], RunEnd]] = {
    "checks passed: ready": (
        {},
        RunEnd(status=OK, state=WAITING, phase=Phase.READY),
    ),
    "no check command: ready": (
        {"checks": NO_CHECKS},
        RunEnd(status=OK, state=WAITING, phase=Phase.READY),
    ),
    "agent failed": (
        {"status": RunStatus.FAILED, "reason": "exit 3"},
        RunEnd(
            status=RunStatus.FAILED,
            reason="exit 3",
            state=WAITING,
            phase=Phase.AGENT_FAILED,
            error="exit 3",
        ),
    ),
    "agent failed with failed checks: the agent's failure first": (
        {"status": RunStatus.FAILED, "reason": "exit 3", "checks": FAILED},
        RunEnd(
            status=RunStatus.FAILED,
            reason="exit 3",
            state=WAITING,
            phase=Phase.AGENT_FAILED,
            error="exit 3",
        ),
    ),
    "checks failed, rounds left: a fix round follows": (
        {"checks": FAILED, "rounds_used": 1},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.CHECKS_FAILED,
            next_run=NextRun.FIX_CHECKS,
            fix_round=2,
            notes=[note(Phase.CHECKING, "checks failed: fix round 2 of 2 next")],
        ),
    ),
    "checks failed, no round left": (
        {"checks": FAILED, "rounds_used": 2},
        RunEnd(status=OK, state=WAITING, phase=Phase.CHECKS_FAILED),
    ),
    "checks failed, fix rounds off": (
        {"checks": FAILED, "rounds_allowed": 0},
        RunEnd(status=OK, state=WAITING, phase=Phase.CHECKS_FAILED),
    ),
    "checks failed with a reviewer: the fix round before any review": (
        {"checks": FAILED, "has_reviewer": True},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.CHECKS_FAILED,
            next_run=NextRun.FIX_CHECKS,
            fix_round=1,
            notes=[note(Phase.CHECKING, "checks failed: fix round 1 of 2 next")],
        ),
    ),
    "a reviewer: the review follows": (
        {"has_reviewer": True},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.READY,
            next_run=NextRun.REVIEW,
            notes=[note(Phase.REVIEWING, "review next")],
        ),
    ),
    "a fix round's end is reviewed too": (
        {"kind": RunKind.FIX, "has_reviewer": True},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.READY,
            next_run=NextRun.REVIEW,
            notes=[note(Phase.REVIEWING, "review next")],
        ),
    ),
    "a reviewer, nothing changed: no review": (
        {"has_reviewer": True, "nothing_changed": True, "checks": NO_CHECKS},
        RunEnd(status=OK, state=WAITING, phase=Phase.READY),
    ),
    "a reviewer, no branch: no review": (
        {"has_reviewer": True, "has_branch": False},
        RunEnd(status=OK, state=WAITING, phase=Phase.READY),
    ),
    "stopped": (
        {"control": Control.STOP, "reason": "stopped by the user"},
        RunEnd(
            status=RunStatus.STOPPED,
            reason="stopped by the user",
            state=WAITING,
            phase=Phase.INTERRUPTED,
            error="stopped by the user",
        ),
    ),
    "stopped with failed checks: no fix round": (
        {"control": Control.STOP, "checks": FAILED},
        RunEnd(status=RunStatus.STOPPED, state=WAITING, phase=Phase.INTERRUPTED),
    ),
    "stopped with a reviewer and auto-merge: nothing follows": (
        {"control": Control.STOP, "has_reviewer": True, "auto_merge": True},
        RunEnd(status=RunStatus.STOPPED, state=WAITING, phase=Phase.INTERRUPTED),
    ),
    "stopped for a budget: the budget is the reason": (
        {"control": Control.STOP, "halt_reason": "budget used", "reason": "killed"},
        RunEnd(
            status=RunStatus.STOPPED,
            reason="budget used",
            state=WAITING,
            phase=Phase.INTERRUPTED,
            error="budget used",
        ),
    ),
    "requeued: back to planned": (
        {"control": Control.REQUEUE, "reason": "stopped"},
        RunEnd(
            status=RunStatus.STOPPED,
            reason="stopped",
            state=TaskState.PLANNED,
            phase=Phase.DRAFT,
            error="stopped",
        ),
    ),
    "disk full: failed for it": (
        {"disk_full": "the disk is full", "reason": "exit 0"},
        RunEnd(
            status=RunStatus.FAILED,
            reason="the disk is full",
            state=WAITING,
            phase=Phase.AGENT_FAILED,
            error="the disk is full",
        ),
    ),
    "disk full, then stopped: the full disk still says why": (
        {"disk_full": "the disk is full", "control": Control.STOP, "has_reviewer": True},
        RunEnd(
            status=RunStatus.FAILED,
            reason="the disk is full",
            state=WAITING,
            phase=Phase.AGENT_FAILED,
            error="the disk is full",
        ),
    ),
    "disk full, stopped by the engine: the engine's reason": (
        {"disk_full": "the disk is full", "control": Control.STOP, "halt_reason": "engine"},
        RunEnd(
            status=RunStatus.FAILED,
            reason="engine",
            state=WAITING,
            phase=Phase.AGENT_FAILED,
            error="engine",
        ),
    ),
    "auto-merge: tried": (
        {"auto_merge": True},
        RunEnd(status=OK, state=WAITING, phase=Phase.READY, auto_merge=True),
    ),
    "auto-merge without checks: refused": (
        {"auto_merge": True, "checks": NO_CHECKS},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.READY,
            auto_merge=True,
            merge_refusal="no checks ran",
        ),
    ),
    "auto-merge, checks failed: a fix round instead": (
        {"auto_merge": True, "checks": FAILED},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.CHECKS_FAILED,
            next_run=NextRun.FIX_CHECKS,
            fix_round=1,
            notes=[note(Phase.CHECKING, "checks failed: fix round 1 of 2 next")],
        ),
    ),
    "auto-merge with a reviewer: the review first": (
        {"auto_merge": True, "has_reviewer": True},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.READY,
            next_run=NextRun.REVIEW,
            notes=[note(Phase.REVIEWING, "review next")],
        ),
    ),
    "review: approved": (
        {"kind": RunKind.REVIEW, "has_reviewer": True, "verdict": "approve", "verdict_note": "ok"},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.READY,
            review_verdict="approve",
            notes=[note(Phase.REVIEWING, "ok")],
        ),
    ),
    "review: approved, auto-merge tried": (
        {
            "kind": RunKind.REVIEW,
            "has_reviewer": True,
            "auto_merge": True,
            "verdict": "approve",
            "verdict_note": "ok",
        },
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.READY,
            review_verdict="approve",
            notes=[note(Phase.REVIEWING, "ok")],
            auto_merge=True,
        ),
    ),
    "review: approved, the work's checks failed: auto-merge refused": (
        {
            "kind": RunKind.REVIEW,
            "has_reviewer": True,
            "auto_merge": True,
            "checks": FAILED,
            "verdict": "approve",
            "verdict_note": "ok",
        },
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.READY,
            review_verdict="approve",
            notes=[note(Phase.REVIEWING, "ok")],
            auto_merge=True,
            merge_refusal="checks failed",
        ),
    ),
    "review: changes asked, rounds left: a fix round answers them": (
        {
            "kind": RunKind.REVIEW,
            "has_reviewer": True,
            "rounds_used": 1,
            "verdict": "request_changes",
            "verdict_note": "fix a",
        },
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.READY,
            next_run=NextRun.FIX_REVIEW,
            fix_round=2,
            review_verdict="request_changes",
            save_review_comments=True,
            notes=[
                note(Phase.REVIEWING, "fix a"),
                note(Phase.REVIEWING, "the reviewer asked for changes: fix round 2 of 2"),
            ],
        ),
    ),
    "review: changes asked, no round left: the comments wait, no auto-merge": (
        {
            "kind": RunKind.REVIEW,
            "has_reviewer": True,
            "auto_merge": True,
            "rounds_used": 2,
            "verdict": "request_changes",
            "verdict_note": "fix a",
        },
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.READY,
            review_verdict="request_changes",
            save_review_comments=True,
            notes=[note(Phase.REVIEWING, "fix a")],
            auto_merge=True,
            merge_refusal="the reviewer did not approve",
        ),
    ),
    "review: no verdict": (
        {"kind": RunKind.REVIEW, "has_reviewer": True},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.READY,
            error="the reviewer gave no verdict: its answer held no verdict",
            review_verdict="none",
            notes=[
                note(
                    Phase.REVIEWING,
                    "the reviewer gave no verdict: its answer held no verdict",
                    error=True,
                )
            ],
        ),
    ),
    "review: the reviewer failed, its reason is why": (
        {"kind": RunKind.REVIEW, "status": RunStatus.FAILED, "reason": "exit 2"},
        RunEnd(
            status=RunStatus.FAILED,
            reason="exit 2",
            state=WAITING,
            phase=Phase.READY,
            error="the reviewer gave no verdict: exit 2",
            review_verdict="none",
            notes=[note(Phase.REVIEWING, "the reviewer gave no verdict: exit 2", error=True)],
        ),
    ),
    "review: stopped": (
        {"kind": RunKind.REVIEW, "control": Control.STOP, "verdict": "approve"},
        RunEnd(status=RunStatus.STOPPED, state=WAITING, phase=Phase.INTERRUPTED),
    ),
    "review: disk full then stopped: ready, the verdict untouched": (
        {"kind": RunKind.REVIEW, "control": Control.STOP, "disk_full": "full"},
        RunEnd(
            status=RunStatus.FAILED, reason="full", state=WAITING, phase=Phase.READY, error="full"
        ),
    ),
    "plan: written": (
        {"kind": RunKind.PLAN, "checks": NO_CHECKS, "plan_answer": "  1. do it  "},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.PLAN_READY,
            plan="1. do it\n",
            notes=[note(Phase.PLANNING, "the plan is written")],
        ),
    ),
    "plan: written and approved on its own: the code follows": (
        {
            "kind": RunKind.PLAN,
            "checks": NO_CHECKS,
            "plan_answer": "1. do it",
            "auto_approve_plan": True,
            "auto_merge": True,
        },
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.PLAN_READY,
            plan="1. do it\n",
            approve_plan=True,
            next_run=NextRun.IMPLEMENT,
            notes=[
                note(Phase.PLANNING, "the plan is written"),
                note(Phase.PLANNING, "plan approved (auto)"),
            ],
        ),
    ),
    "plan: a split": (
        {
            "kind": RunKind.PLAN,
            "checks": NO_CHECKS,
            "plan_answer": "```json ...```",
            "plan_split": True,
            "auto_approve_plan": True,
        },
        RunEnd(status=OK, state=WAITING, phase=Phase.PLAN_READY, split_plan=True),
    ),
    "plan: none written, the old one kept": (
        {"kind": RunKind.PLAN, "checks": NO_CHECKS, "plan_answer": " \n", "task_plan": "old"},
        RunEnd(
            status=OK,
            state=WAITING,
            phase=Phase.PLAN_READY,
            plan="old",
            error=NO_PLAN,
            notes=[note(Phase.PLANNING, NO_PLAN, error=True)],
        ),
    ),
    "plan: the planner failed": (
        {"kind": RunKind.PLAN, "checks": NO_CHECKS, "status": RunStatus.FAILED, "reason": "x"},
        RunEnd(
            status=RunStatus.FAILED,
            reason="x",
            state=WAITING,
            phase=Phase.AGENT_FAILED,
            error="x",
        ),
    ),
    "plan: stopped": (
        {"kind": RunKind.PLAN, "control": Control.STOP, "plan_answer": "1. do it"},
        RunEnd(status=RunStatus.STOPPED, state=WAITING, phase=Phase.INTERRUPTED),
    ),
}


@pytest.mark.parametrize(("changes", "expected"), CASES.values(), ids=CASES.keys())
def test_the_end_of_a_run(changes: dict[str, Any], expected: RunEnd) -> None:
    assert decide_end(facts(**changes)) == expected


def test_every_next_run_names_its_kind() -> None:
    assert {next_run: next_run.kind for next_run in NextRun} == {
        NextRun.FIX_CHECKS: RunKind.FIX,
        NextRun.FIX_REVIEW: RunKind.FIX,
        NextRun.REVIEW: RunKind.REVIEW,
        NextRun.IMPLEMENT: RunKind.IMPLEMENT,
    }


@pytest.mark.parametrize(
    ("changes", "follows"),
    [
        ({"has_reviewer": True}, True),
        ({"has_reviewer": True, "kind": RunKind.FIX}, True),
        ({"has_reviewer": True, "checks": NO_CHECKS}, True),
        ({"has_reviewer": True, "control": Control.STOP}, True),  # decide_end sees the stop
        ({}, False),
        ({"has_reviewer": True, "kind": RunKind.REVIEW}, False),
        ({"has_reviewer": True, "kind": RunKind.PLAN}, False),
        ({"has_reviewer": True, "has_branch": False}, False),
        ({"has_reviewer": True, "nothing_changed": True}, False),
        ({"has_reviewer": True, "status": RunStatus.FAILED}, False),
        ({"has_reviewer": True, "disk_full": "full"}, False),
        ({"has_reviewer": True, "checks": FAILED}, False),
    ],
)
def test_when_a_review_may_follow(changes: dict[str, Any], follows: bool) -> None:
    """The runner reads the diff for the reviewer only then."""
    assert review_may_follow(facts(**changes)) is follows


@pytest.mark.parametrize(
    ("checks", "has_reviewer", "verdict", "refusal"),
    [
        (PASSED, False, "", ""),
        (PASSED, True, "approve", ""),
        (NO_CHECKS, False, "", "no checks ran"),
        (FAILED, True, "approve", "checks failed"),
        (PASSED, True, "request_changes", "the reviewer did not approve"),
        (PASSED, True, "none", "the reviewer did not approve"),
        (PASSED, True, "", "the reviewer did not approve"),
    ],
)
def test_when_a_task_may_merge_itself(
    checks: CheckResult, has_reviewer: bool, verdict: str, refusal: str
) -> None:
    assert auto_merge_refusal(checks, has_reviewer, verdict) == refusal


def test_an_earlier_approval_lets_a_run_without_a_new_review_merge() -> None:
    """The verdict the task holds counts when this run gives none (it was not a review)."""
    end = decide_end(facts(auto_merge=True, has_reviewer=True, has_branch=False))
    assert end.merge_refusal == "the reviewer did not approve"
    kept = decide_end(
        facts(auto_merge=True, has_reviewer=True, has_branch=False, review_verdict="approve")
    )
    assert kept.auto_merge and kept.merge_refusal == ""
