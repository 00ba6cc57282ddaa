"""How numbers read on a card."""

from __future__ import annotations

import pytest

from seedbed.domain.models import Card, CheckStatus, Phase, Task, TaskState
from seedbed.ui import format as fmt


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
