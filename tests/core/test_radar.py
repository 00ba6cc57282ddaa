"""The conflict radar and the diff budget, on real tasks run by real command agents."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

from seedbed.core.context import Context
from seedbed.core.radar import budget_note, overlapping_tasks, overlaps
from seedbed.store import Store
from tests.conftest import SeedbedCli, git

_profiles = itertools.count(1)


def add_task(seedbed: SeedbedCli, command: str, title: str = "Change") -> int:
    """A started task of project "demo" whose agent runs `command`."""
    profile = f"agent-{next(_profiles)}"
    seedbed.ok("profile", "add", profile, "--kind", "command", "--command", command)
    return int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", title, "--profile", profile, "--start"
        ).out
    )


def test_two_tasks_changing_one_file_both_see_it(seedbed: SeedbedCli, project: str) -> None:
    first = add_task(seedbed, "echo a > shared.txt; echo a > only-a.txt")
    second = add_task(seedbed, "echo b > shared.txt; echo x >> README.md")
    third = add_task(seedbed, "echo c > elsewhere.txt")
    seedbed.ok("run", "--until-idle")

    assert seedbed.show(first)["overlaps"] == [{"task_id": second, "files": ["shared.txt"]}]
    assert seedbed.show(second)["overlaps"] == [{"task_id": first, "files": ["shared.txt"]}]
    assert seedbed.show(third)["overlaps"] == []
    text = seedbed.ok("task", "show", str(first)).out
    assert f"also changed by task {second}: shared.txt" in text

    store = Store.open(seedbed.data_dir)
    try:
        assert overlapping_tasks(Context(store), 1) == {
            first: [(second, ["shared.txt"])],
            second: [(first, ["shared.txt"])],
            third: [],
        }
    finally:
        store.close()

    # Once one is merged the other has nothing left to race with.
    seedbed.ok("task", "approve", str(first))
    assert seedbed.show(second)["overlaps"] == []


def test_a_task_whose_branch_is_gone_is_left_out(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    first = add_task(seedbed, "echo a > shared.txt")
    second = add_task(seedbed, "echo b > shared.txt")
    seedbed.ok("run", "--until-idle")
    gone = seedbed.show(first)
    shutil.rmtree(gone["worktree"])
    git(repo, "worktree", "prune")
    git(repo, "branch", "-D", gone["branch"])

    assert seedbed.show(second)["overlaps"] == []
    assert seedbed.show(first)["overlaps"] == []
    store = Store.open(seedbed.data_dir)
    try:
        assert overlapping_tasks(Context(store), 1) == {second: []}
    finally:
        store.close()


def test_the_card_and_the_reviewer_say_when_a_diff_is_over_budget(
    seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--diff-budget", "2")
    big = add_task(seedbed, "printf '1\\n2\\n3\\n' > three.txt")
    small = add_task(seedbed, "echo 1 > one.txt")
    seedbed.ok("run", "--until-idle")

    shown = seedbed.show(big)
    assert shown["over_budget"] is True
    assert shown["budget_note"] == "3 lines, budget 2: consider splitting"
    assert "3 lines, budget 2: consider splitting" in seedbed.ok("task", "show", str(big)).out
    assert seedbed.show(small)["budget_note"] == ""


@pytest.mark.parametrize(
    ("lines", "budget", "note"),
    [
        (1240, 400, "1,240 lines, budget 400: consider splitting"),
        (401, 400, "401 lines, budget 400: consider splitting"),
        (12_000, 1_500, "12,000 lines, budget 1,500: consider splitting"),
        (400, 400, ""),
        (0, 400, ""),
        (5000, 0, ""),
    ],
)
def test_budget_note(lines: int, budget: int, note: str) -> None:
    assert budget_note(lines, budget) == note


def test_overlaps_name_every_shared_file_in_order() -> None:
    found = overlaps({3: {"b", "a", "c"}, 1: {"a", "b"}, 2: {"z"}, 4: {"c"}})
    assert found == {
        1: [(3, ["a", "b"])],
        2: [],
        3: [(1, ["a", "b"]), (4, ["c"])],
        4: [(3, ["c"])],
    }
