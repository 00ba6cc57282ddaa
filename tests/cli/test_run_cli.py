"""`seedbed run --until-idle` ends by saying how the tasks it ran ended, in one line."""

from __future__ import annotations

from tests.conftest import SeedbedCli


def add_task(seedbed: SeedbedCli, title: str, command: str, *extra: str) -> str:
    profile = title.lower()
    seedbed.ok("profile", "add", profile, "--kind", "command", "--command", command)
    return seedbed.ok(
        "task", "add", "--project", "demo", "--title", title, "--profile", profile, "--start",
        *extra,
    ).out.strip()  # fmt: skip


def test_run_until_idle_ends_with_a_summary_of_its_tasks(seedbed: SeedbedCli, project: str) -> None:
    add_task(seedbed, "Good", "echo done > done.txt")
    add_task(seedbed, "Broken", "exit 3")
    slow = add_task(seedbed, "Slow", "sleep 30", "--time-limit", "0.02")
    add_task(seedbed, "Other", "echo more > more.txt")
    seedbed.ok("task", "add", "--project", "demo", "--title", "Never started")

    out = seedbed.ok("run", "--until-idle").out

    assert seedbed.show(slow)["phase"] == "interrupted"
    assert out.splitlines()[-1] == "idle: 2 ready, 1 failed, 1 interrupted"
    assert seedbed.ok("run", "--until-idle").out.splitlines()[-1] == "idle: no tasks ran"
