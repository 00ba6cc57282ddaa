"""How numbers read on a card."""

from __future__ import annotations

import pytest

from seedbed.agents.builtin.loop import TOKEN_BUDGET
from seedbed.domain.models import Card, CheckStatus, Phase, RunStatus, Task, TaskState
from seedbed.ui.common import format as fmt


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59.9, "59s"),
        (65, "1m 05s"),
        (3600 * 2 + 7 * 60, "2h 07m"),
        (86400 * 3 + 3600 * 4, "3d 4h"),
        (-5, "0s"),
    ],
)
def test_elapsed(seconds: float, text: str) -> None:
    assert fmt.elapsed(seconds) == text


@pytest.mark.parametrize(
    ("count", "text"), [(950, "950"), (12_345, "12.3k"), (4_000, "4k"), (4_100_000, "4.1M")]
)
def test_tokens(count: int, text: str) -> None:
    assert fmt.tokens(count) == text


def card(**fields: object) -> Card:
    task = Task(
        id=1,
        project_id=1,
        title="t",
        state=TaskState.RUNNING,
        phase=Phase.IMPLEMENTING,
        diff_files=2,
        diff_insertions=12,
        diff_deletions=3,
        updated_at=1000.0,
    )
    return Card.model_validate({"task": task, **fields})


def test_a_running_card_counts_up_and_a_finished_one_shows_its_duration() -> None:
    running = card(run_started_at=100.0)
    assert fmt.card_elapsed(running, now=165.0) == "1m 05s"
    done = card(run_started_at=100.0, run_ended_at=130.0)
    assert fmt.card_elapsed(done, now=9999.0) == "30s"
    assert fmt.card_elapsed(card(), now=10.0) == ""


def test_diff_checks_and_usage() -> None:
    c = card(check_status=CheckStatus.FAILED, tokens_in=10_000, tokens_out=2_345, cost_usd=0.0123)
    assert fmt.diff_parts(c) == ("+12", fmt.MINUS + "3", "· 2 files")
    assert fmt.check_label(c) == "✗ checks"
    assert fmt.usage_line(c) == "12.3k tok · $0.012"
    empty = Card(task=Task(project_id=1, title="x"))
    assert fmt.diff_parts(empty) == ("", "", "")
    assert fmt.usage_line(empty) == "" and fmt.check_label(empty) == ""


def test_the_checks_say_how_many_fix_rounds_they_took_and_waiting_cards_say_for_what() -> None:
    task = Task(project_id=1, title="x", fix_rounds_used=2, after=[4, 7])
    passed = Card(task=task, check_status=CheckStatus.PASSED, waiting_for=[7])
    assert fmt.check_label(passed) == "✓ checks · 2 fix rounds"
    one = Card(task=task.model_copy(update={"fix_rounds_used": 1}), check_status=CheckStatus.FAILED)
    assert fmt.check_label(one) == "✗ checks · 1 fix round"
    running = Card(task=task.model_copy(update={"fix_rounds_used": 1}))
    assert fmt.check_label(running) == "1 fix round"
    assert fmt.waiting_label(passed) == "after #7"
    assert fmt.waiting_label(Card(task=task)) == ""  # nothing left to wait for


def test_a_card_waiting_for_a_discarded_task_says_so() -> None:
    task = Task(project_id=1, title="x", after=[4, 7])
    card = Card(task=task, waiting_for=[4, 7], waiting_gone=[7])
    assert fmt.waiting_label(card) == "after #4, #7 (discarded)"


def test_the_elapsed_time_is_the_total_over_all_runs() -> None:
    """Three earlier runs took 10 minutes together: the fourth adds to them."""
    running = card(run_started_at=100.0, earlier_runs_s=600.0)
    assert fmt.card_elapsed(running, now=165.0) == "11m 05s"
    done = card(run_started_at=100.0, run_ended_at=130.0, earlier_runs_s=600.0)
    assert fmt.card_elapsed(done, now=9999.0) == "10m 30s"


@pytest.mark.parametrize(
    ("phase", "status", "reason", "word"),
    [
        (Phase.INTERRUPTED, RunStatus.STOPPED, "stopped", "stopped"),
        (
            Phase.INTERRUPTED,
            RunStatus.STOPPED,
            "cost budget reached: $1.02 of the task's $1.00",
            "budget",
        ),
        (
            Phase.INTERRUPTED,
            RunStatus.STOPPED,
            "project token budget reached: 9,000 of demo's 8,000 tokens",
            "budget",
        ),
        (
            Phase.INTERRUPTED,
            RunStatus.STOPPED,
            "time limit reached: 5.1 of the task's 5.0 minutes",
            "time limit",
        ),
        (
            Phase.INTERRUPTED,
            RunStatus.INTERRUPTED,
            "interrupted: the engine stopped while this run was going",
            "engine stopped",
        ),
        (Phase.INTERRUPTED, RunStatus.STOPPED, "the engine stopped", "engine stopped"),
        (Phase.AGENT_FAILED, RunStatus.TIMED_OUT, "timed out after 600 s", "time limit"),
        (Phase.AGENT_FAILED, RunStatus.FAILED, "exited with code 4", "agent failed"),
        (Phase.AGENT_FAILED, RunStatus.FAILED, "preparing failed: no such branch", "setup failed"),
        # Issue 15's faults, as the engine words them.
        (
            Phase.AGENT_FAILED,
            RunStatus.FAILED,
            "disk full: the disk holding /d has no space left ([Errno 28] No space left)",
            "disk full",
        ),
        (
            Phase.AGENT_FAILED,
            RunStatus.FAILED,
            "preparing failed: the branch seedbed/1-x already exists and is not this task's; "
            "`seedbed task start 1` will use seedbed/1-x-2",
            "branch taken",
        ),
        (
            Phase.AGENT_FAILED,
            RunStatus.FAILED,
            "git add did not finish within 5 s in /w: a hook or a clean/smudge filter of "
            "this repository may hang",
            "git hung",
        ),
        (
            Phase.AGENT_FAILED,
            RunStatus.FAILED,
            "the change contains the API key named OPENAI_API_KEY in leak.py",
            "key in change",
        ),
        (
            Phase.AGENT_FAILED,
            RunStatus.FAILED,
            "the shared git configuration of /r changed while the agent worked (alias.st); "
            "Seedbed put it back as it was before the run",
            "git config changed",
        ),
        (
            Phase.AGENT_FAILED,
            RunStatus.FAILED,
            "the agent ended without a result (Claude Code printed no 'result' event)",
            "no result",
        ),
        # The built-in agent's own limits (agents/builtin/loop.py): its profile's token
        # budget per run, its model calls per run.
        (Phase.AGENT_FAILED, RunStatus.FAILED, TOKEN_BUDGET, "budget"),
        (Phase.AGENT_FAILED, RunStatus.FAILED, "token budget of 500 reached", "budget"),
        (
            Phase.AGENT_FAILED,
            RunStatus.FAILED,
            "max_turns: 50 model calls without finishing",
            "max turns",
        ),
        (Phase.READY, RunStatus.SUCCEEDED, "", ""),
        (Phase.INTERRUPTED, None, "", ""),
    ],
)
def test_an_interrupted_or_failed_card_says_why_in_a_word(
    phase: Phase, status: RunStatus | None, reason: str, word: str
) -> None:
    task = Task(project_id=1, title="x", state=TaskState.AWAITING_REVIEW, phase=phase)
    assert fmt.reason_word(task, status, reason) == word


def test_the_badge_says_why_and_that_nothing_changed() -> None:
    stopped = card(run_status=RunStatus.STOPPED, run_reason="token budget reached: 2 of 1")
    stopped.task.state, stopped.task.phase = TaskState.AWAITING_REVIEW, Phase.INTERRUPTED
    assert fmt.badge_label(stopped, "interrupted") == "interrupted · budget"
    failed = card(run_status=RunStatus.FAILED, run_reason="exited with code 4")
    failed.task.state, failed.task.phase = TaskState.AWAITING_REVIEW, Phase.AGENT_FAILED
    assert fmt.badge_label(failed, "agent failed") == "agent failed"  # not said twice
    nothing = Card(
        task=Task(project_id=1, title="x", state=TaskState.AWAITING_REVIEW, phase=Phase.READY)
    )
    assert fmt.badge_label(nothing, "ready") == "no changes"
    ready = card()
    ready.task.state, ready.task.phase = TaskState.AWAITING_REVIEW, Phase.READY
    assert fmt.badge_label(ready, "ready") == "ready"


def test_the_running_header_counts_the_queued_apart() -> None:
    phases = [Phase.IMPLEMENTING, Phase.CHECKING, Phase.PREPARING] + [Phase.QUEUED] * 6
    assert fmt.running_header("Running", phases) == "Running  3 · 6 queued"
    assert fmt.running_header("Running", [Phase.IMPLEMENTING]) == "Running  1"
