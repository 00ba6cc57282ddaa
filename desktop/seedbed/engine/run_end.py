"""The end of a run, decided: what the task becomes once its agent stopped and its checks
ran (pure: plain data in, plain data out; Qt-free, no I/O).

The runner gathers the facts (`RunFacts`), `decide_end` says what follows (`RunEnd`),
the runner applies it: the run's row, the task's column and phase, its error text, the
run that follows in the same slot (a fix round, the reviewer's run, the code after an
auto-approved plan), what the log says, whether the task merges itself.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from seedbed.domain.models import (
    CheckResult,
    CheckStatus,
    Control,
    Model,
    Phase,
    RunKind,
    RunStatus,
    TaskState,
)

# A reviewer's verdict, as review_agent.Verdict words it (stored on the task as is).
VerdictWord = Literal["approve", "request_changes"]
NO_PLAN = "the planner wrote no plan"


class NextRun(StrEnum):
    """The run that follows in the same slot, the task still running; each names the
    prompt the runner builds for it."""

    FIX_CHECKS = "fix_checks"  # the failed checks' output (rounds.fix_prompt)
    FIX_REVIEW = "fix_review"  # the reviewer's comments, sent back (comments.follow_up_prompt)
    REVIEW = "review"  # the diff, for the reviewer (review_agent.review_prompt)
    IMPLEMENT = "implement"  # the code, after a plan approved on its own: no prompt

    @property
    def kind(self) -> RunKind:
        if self is NextRun.REVIEW:
            return RunKind.REVIEW
        if self is NextRun.IMPLEMENT:
            return RunKind.IMPLEMENT
        return RunKind.FIX


class EndNote(Model):
    """A line the log says before the run's end (an error line when `error`)."""

    phase: Phase
    message: str
    error: bool = False


class RunFacts(Model):
    """What the end of a run is decided on, gathered by the runner after the end's git
    (a stop that came meanwhile is seen: no next run is planned for a stopped task)."""

    kind: RunKind
    status: RunStatus = Field(description="How the agent's run ended (its outcome).")
    reason: str = Field("", description="Why it ended so, scrubbed of secrets.")
    control: Control = Field(Control.NONE, description="The stop asked of the run.")
    halt_reason: str = Field("", description="Why the engine stopped it (a budget, its end).")
    disk_full: str = Field("", description="Why its log could not be stored; '': it could.")
    checks: CheckResult = Field(default_factory=CheckResult)
    nothing_changed: bool = Field(False, description="The run left no diff: no checks ran.")
    has_reviewer: bool = False
    has_branch: bool = True
    rounds_used: int = Field(0, description="Fix rounds the task used before this run.")
    rounds_allowed: int = Field(0, description="Fix rounds the project allows.")
    auto_merge: bool = False
    review_verdict: str = Field("", description="The task's verdict before this run.")
    # A reviewer run's verdict in its final answer (None: it gave none), and the log's line.
    verdict: VerdictWord | None = None
    verdict_note: str = ""
    # A planner run's final answer; whether it proposes smaller tasks; the task's plan.
    plan_answer: str = ""
    plan_split: bool = False
    auto_approve_plan: bool = False
    task_plan: str = ""


class RunEnd(Model):
    """What the task becomes. With `next_run` the task stays running and that run follows;
    otherwise it moves to `state`/`phase` (after a merge tried when `auto_merge`)."""

    status: RunStatus = Field(description="The run's status, as its row keeps it.")
    reason: str = Field("", description="The run's reason, as its row keeps it.")
    state: TaskState
    phase: Phase
    error: str = Field("", description="The task's error text.")
    next_run: NextRun | None = None
    fix_round: int = Field(0, description="The fix round next_run is (counted on the task).")
    notes: list[EndNote] = Field(default_factory=list)
    review_verdict: str | None = Field(None, description="The task's new verdict; None: kept.")
    save_review_comments: bool = False  # the reviewer's comments, saved as the reviewer's
    plan: str | None = Field(None, description="The task's new plan; None: kept.")
    split_plan: bool = False  # make the smaller tasks; the plan says where they went
    approve_plan: bool = False
    auto_merge: bool = Field(False, description="Merge without a human, the task running.")
    merge_refusal: str = Field("", description="Why the auto-merge is not tried ('': it is).")


def review_may_follow(facts: RunFacts) -> bool:
    """Whether the reviewer's run may follow this one (the runner reads the diff for it
    first; `decide_end` says whether it does)."""
    return (
        facts.kind not in (RunKind.REVIEW, RunKind.PLAN)
        and facts.has_reviewer
        and facts.has_branch
        and not facts.nothing_changed
        and facts.status is RunStatus.SUCCEEDED
        and not facts.disk_full
        and facts.checks.status is not CheckStatus.FAILED
    )


def decide_end(facts: RunFacts) -> RunEnd:
    """What the task becomes at the end of this run (see RunEnd)."""
    # A stop asked after a full disk had ended the run does not hide why it ended.
    status = RunStatus.FAILED if facts.disk_full else facts.status
    stopped = facts.control is Control.STOP and not facts.disk_full
    if facts.control is not Control.NONE and not facts.disk_full:
        status = RunStatus.STOPPED
    reason = facts.halt_reason or facts.disk_full or facts.reason
    state, phase = _column(facts, status, stopped)
    end = RunEnd(
        status=status,
        reason=reason,
        state=state,
        phase=phase,
        error=reason if status is not RunStatus.SUCCEEDED else "",
    )
    going = facts.control is Control.NONE
    if facts.kind is RunKind.REVIEW and going:
        _after_review(facts, end)
    elif phase is Phase.PLAN_READY:
        _after_plan(facts, end)
    elif going and status is RunStatus.SUCCEEDED:
        number = facts.rounds_used + 1
        if facts.checks.status is CheckStatus.FAILED and facts.rounds_used < facts.rounds_allowed:
            end.next_run, end.fix_round = NextRun.FIX_CHECKS, number
            message = f"checks failed: fix round {number} of {facts.rounds_allowed} next"
            end.notes.append(EndNote(phase=Phase.CHECKING, message=message))
        elif review_may_follow(facts):  # then its phase is READY
            end.next_run = NextRun.REVIEW
            end.notes.append(EndNote(phase=Phase.REVIEWING, message="review next"))
    if end.next_run is None and phase is Phase.READY and going and facts.auto_merge:
        end.auto_merge = True
        verdict = facts.review_verdict if end.review_verdict is None else end.review_verdict
        end.merge_refusal = auto_merge_refusal(facts.checks, facts.has_reviewer, verdict)
    return end


def auto_merge_refusal(checks: CheckResult, has_reviewer: bool, verdict: str) -> str:
    """Why a task may not merge without a human ("": it may): only with checks that ran
    and passed, and the reviewer's approval when the task has a reviewer."""
    if checks.status is not CheckStatus.PASSED:
        return "no checks ran" if checks.status is CheckStatus.NONE else "checks failed"
    if has_reviewer and verdict != "approve":
        return "the reviewer did not approve"
    return ""


def _column(facts: RunFacts, status: RunStatus, stopped: bool) -> tuple[TaskState, Phase]:
    """The task's column and phase when no run follows."""
    if facts.control is Control.REQUEUE:
        return TaskState.PLANNED, Phase.DRAFT
    if stopped:
        return TaskState.AWAITING_REVIEW, Phase.INTERRUPTED
    if facts.kind is RunKind.REVIEW:  # the work passed its checks; the review is advice on it
        return TaskState.AWAITING_REVIEW, Phase.READY
    if facts.kind is RunKind.PLAN and status is RunStatus.SUCCEEDED:
        return TaskState.AWAITING_REVIEW, Phase.PLAN_READY
    if status is not RunStatus.SUCCEEDED:
        return TaskState.AWAITING_REVIEW, Phase.AGENT_FAILED
    if facts.checks.status is CheckStatus.FAILED:
        return TaskState.AWAITING_REVIEW, Phase.CHECKS_FAILED
    return TaskState.AWAITING_REVIEW, Phase.READY


def _after_review(facts: RunFacts, end: RunEnd) -> None:
    """The reviewer's verdict kept on the task, its comments saved (the reviewer's);
    requested changes become a fix round while rounds are left."""
    if facts.verdict is None:
        why = end.reason or "its answer held no verdict"
        end.review_verdict, end.error = "none", f"the reviewer gave no verdict: {why}"
        end.notes.append(EndNote(phase=Phase.REVIEWING, message=end.error, error=True))
        return
    end.review_verdict, end.error = facts.verdict, ""
    end.notes.append(EndNote(phase=Phase.REVIEWING, message=facts.verdict_note))
    if facts.verdict == "approve":
        return
    end.save_review_comments = True
    number = facts.rounds_used + 1
    if number > facts.rounds_allowed:
        return
    end.next_run, end.fix_round = NextRun.FIX_REVIEW, number
    message = f"the reviewer asked for changes: fix round {number} of {facts.rounds_allowed}"
    end.notes.append(EndNote(phase=Phase.REVIEWING, message=message))


def _after_plan(facts: RunFacts, end: RunEnd) -> None:
    """The planner's answer kept as the plan (a split makes the smaller tasks, and the
    plan says where they are); an auto-approved plan goes on to the code."""
    if not facts.plan_answer.strip():
        end.plan, end.error = facts.task_plan, NO_PLAN
        end.notes.append(EndNote(phase=Phase.PLANNING, message=NO_PLAN, error=True))
        return
    end.error = ""
    if facts.plan_split:
        end.split_plan = True
        return
    end.plan = facts.plan_answer.strip() + "\n"
    end.notes.append(EndNote(phase=Phase.PLANNING, message="the plan is written"))
    if facts.auto_approve_plan:
        end.notes.append(EndNote(phase=Phase.PLANNING, message="plan approved (auto)"))
        end.approve_plan, end.next_run = True, NextRun.IMPLEMENT
