"""Budgets the engine enforces: a hard stop, the work committed, a reason that says which."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import SeedbedCli, git
from tests.engine.test_builtin_agent import builtin_profile, run_task
from tests.engine.test_lifecycle import add_profile, add_task, run_engine
from tests.model_server import ModelServer, answer

WRITE = ("c1", "write_file", {"path": "half.txt", "content": "half done\n"})


def test_the_task_token_budget_stops_the_run_with_its_work_committed(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "anthropic", model_server.url)
    model_server.script(
        answer(tool_calls=[WRITE], usage=(300, 50)),
        answer(tool_calls=[("c2", "list_files", {})], usage=(400, 50)),
        answer("never asked for"),
    )
    shown = run_task(seedbed, "Spend", "--budget-tokens", "500")
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
    assert shown["error"] == "token budget reached: 800 of the task's 500 tokens"
    assert shown["runs"][0]["status"] == "stopped"
    assert len(model_server.posts) == 2  # stopped before the third call
    worktree = Path(shown["worktree"])
    assert git(worktree, "status", "--porcelain") == ""
    assert git(worktree, "show", "HEAD:half.txt") == "half done\n"
    assert shown["spent"]["tokens"] == 800 and shown["budget"]["tokens"] == 500

    # Used up: a request for changes does not start another run.
    seedbed.ok("task", "request-changes", str(shown["id"]), "--message", "more")
    seedbed.ok("run", "--until-idle")
    again = seedbed.show(shown["id"])
    assert again["phase"] == "interrupted" and "token budget reached" in again["error"]
    assert len(model_server.posts) == 2
    # Raised, it runs again.
    seedbed.ok("task", "budget", str(shown["id"]), "--budget-tokens", "0")
    model_server.script(answer("done", usage=(10, 5)))
    seedbed.ok("task", "request-changes", str(shown["id"]), "--message", "finish")
    seedbed.ok("run", "--until-idle")
    assert seedbed.show(shown["id"])["phase"] == "ready"


def test_the_project_cost_budget_counts_every_task(
    seedbed: SeedbedCli, repo: Path, model_server: ModelServer
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--budget-usd", "1")
    builtin_profile(seedbed, "anthropic", model_server.url, "--price-in", "1000000")
    model_server.script(answer("first", usage=(1, 0)))  # $1.00: the project's budget
    first = run_task(seedbed, "First")
    assert first["phase"] == "ready" and first["spent"]["cost_usd"] == 1.0
    second = run_task(seedbed, "Second")
    assert second["phase"] == "interrupted"
    assert second["error"] == "project cost budget reached: $1.00 of demo's $1.00"
    assert len(model_server.posts) == 1


def test_the_time_limit_counts_all_of_a_tasks_runs(seedbed: SeedbedCli, project: str) -> None:
    add_profile(seedbed, "echo started > started.txt; sleep 30")
    task_id = add_task(seedbed, "Slow", "--start", "--time-limit", "0.02")  # 1.2 s
    began = time.monotonic()
    run_engine(seedbed)
    assert time.monotonic() - began < 15
    shown = seedbed.show(task_id)
    assert shown["phase"] == "interrupted"
    assert shown["error"].startswith("time limit reached")
    assert git(Path(shown["worktree"]), "show", "HEAD:started.txt") == "started\n"


def test_budgets_must_be_positive(seedbed: SeedbedCli, project: str) -> None:
    refused = seedbed("task", "add", "--project", "demo", "--title", "x", "--budget-usd", "-1")
    assert refused.code == 2 and "--budget-usd must be 0 or more" in refused.err


def test_the_time_limit_adds_up_the_runs(seedbed: SeedbedCli, project: str) -> None:
    add_profile(seedbed, 'sleep 1; echo x >> n.txt; [ -z "$SEEDBED_FOLLOW_UP" ] || sleep 30')
    task_id = add_task(seedbed, "Twice", "--start", "--time-limit", "0.03")  # 1.8 s
    run_engine(seedbed)
    assert seedbed.show(task_id)["phase"] == "ready"  # about 1 s of 1.8
    seedbed.ok("task", "request-changes", str(task_id), "--message", "again")
    began = time.monotonic()
    run_engine(seedbed)
    assert time.monotonic() - began < 10  # stopped after the 0.8 s left, not 30 s
    shown = seedbed.show(task_id)
    assert shown["phase"] == "interrupted" and shown["error"].startswith("time limit reached")
    assert shown["spent"]["seconds"] < 5
