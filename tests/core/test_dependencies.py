"""Task dependencies: "after #12" waits for #12's merge; cycles are refused."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SeedbedCli
from tests.engine.test_lifecycle import add_profile, add_task, run_engine


def test_a_task_waits_for_its_dependency_to_be_merged(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    add_profile(seedbed, 'echo "$SEEDBED_PROMPT" > "$(date +%s%N).txt"; ls > seen.txt')
    first = add_task(seedbed, "Lay the ground", "--start")
    second = add_task(seedbed, "Build on it", "--start", "--after", str(first))
    assert seedbed.show(second)["after"] == [first]

    run_engine(seedbed)  # --until-idle: returns with the second still waiting

    assert seedbed.show(first)["state"] == "awaiting_review"
    shown = seedbed.show(second)
    assert (shown["state"], shown["phase"]) == ("running", "queued")
    assert shown["runs"] == [] and shown["waiting_for"] == [first]
    assert f"waits for #{first} to merge" in seedbed.ok("task", "show", str(second)).out

    seedbed.ok("task", "approve", str(first))
    run_engine(seedbed)
    shown = seedbed.show(second)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready")
    assert shown["waiting_for"] == []
    # It started from the base with the first task's work merged in.
    worktree = Path(shown["worktree"])
    assert "seen.txt" in (worktree / "seen.txt").read_text()
    assert len(list(worktree.glob("*.txt"))) == 3  # the first's file, its own, seen.txt


def test_cycles_and_strangers_are_refused(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    a = add_task(seedbed, "A")
    b = add_task(seedbed, "B", "--after", str(a))
    c = add_task(seedbed, "C", "--after", str(b))
    refused = seedbed("task", "wait", str(a), "--after", str(c))
    assert refused.code == 2 and f"cycle: #{a} → #{c} → #{b} → #{a}" in refused.err
    assert seedbed("task", "wait", str(a), "--after", str(a)).code == 2
    missing = seedbed("task", "add", "--project", "demo", "--title", "D", "--after", "99")
    assert missing.code == 2 and "no task with id 99" in missing.err
    seedbed.ok("task", "discard", str(b))
    gone = seedbed("task", "wait", str(c), "--after", str(b))
    assert gone.code == 2 and "discarded" in gone.err
    assert seedbed.ok("task", "wait", str(c), "--none").out.strip().endswith("waits for nothing")
    assert seedbed.show(c)["after"] == []
    assert seedbed.ok("task", "wait", str(c), "--after", str(a), "--after", str(a)).out
    assert seedbed.show(c)["after"] == [a]


def test_the_card_says_what_it_waits_for(seedbed: SeedbedCli, repo: Path) -> None:
    from seedbed.store import Store
    from seedbed.ui.common import format as fmt

    seedbed.ok("project", "add", str(repo), "--name", "demo")
    add_profile(seedbed, "echo one > one.txt")
    first = add_task(seedbed, "First", "--start")
    other = add_task(seedbed, "Other")
    second = add_task(seedbed, "Second", "--after", str(first), "--after", str(other))

    def card_label() -> tuple[list[int], str]:
        store = Store.open(seedbed.data_dir)
        try:
            [card] = store.cards(task_ids=[second])
        finally:
            store.close()
        return card.waiting_for, fmt.waiting_label(card)

    assert card_label() == ([first, other], f"after #{first}, #{other}")
    run_engine(seedbed)
    seedbed.ok("task", "approve", str(first))
    assert card_label() == ([other], f"after #{other}")
