"""Automatic fix rounds: failing checks go back to the agent before anyone reviews."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SeedbedCli
from tests.engine.test_builtin_agent import wait_for
from tests.engine.test_lifecycle import add_profile, add_task, log_lines, run_engine

CHECK = "test -f fixed.txt || { echo 'missing fixed.txt: 1 test failed'; exit 1; }"
# The agent fixes things only when it is told what failed.
FIXER = (
    'echo run >> work.txt; case "$SEEDBED_FOLLOW_UP" in '
    "*'missing fixed.txt'*) touch fixed.txt;; esac"
)


def test_failing_checks_go_back_to_the_agent_until_they_pass(
    seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", CHECK)
    add_profile(seedbed, FIXER)
    task_id = add_task(seedbed, "Fix me", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready")
    runs = shown["runs"]
    assert [(r["kind"], r["status"]) for r in runs] == [
        ("implement", "succeeded"),
        ("fix", "succeeded"),
    ]
    assert shown["checks"]["status"] == "passed" and shown["fix_rounds_used"] == 1
    follow_up = seedbed.ok("task", "show", str(task_id), "--json").json()["runs"][1]
    assert follow_up["number"] == 2
    lines = log_lines(seedbed, task_id, "--run", "1")
    assert any("fix round 1 of 2" in line for line in lines)
    prompt = runs_follow_up(seedbed, task_id, 2)
    assert "missing fixed.txt: 1 test failed" in prompt and "fix round 1 of 2" in prompt
    assert CHECK in prompt


def test_the_rounds_are_bounded_and_the_developer_gets_a_fresh_count(
    seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", CHECK)
    add_profile(seedbed, "echo run >> work.txt")  # never fixes anything
    task_id = add_task(seedbed, "Stubborn", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "checks_failed")
    assert [r["kind"] for r in shown["runs"]] == ["implement", "fix", "fix"]
    assert shown["fix_rounds_used"] == 2
    assert shown["checks"]["status"] == "failed"

    seedbed.ok("task", "request-changes", str(task_id), "--message", "try harder")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert [r["kind"] for r in shown["runs"]] == ["implement", "fix", "fix", "fix", "fix", "fix"]
    assert runs_follow_up(seedbed, task_id, 4) == "try harder"
    assert shown["fix_rounds_used"] == 2 and shown["phase"] == "checks_failed"


def test_no_rounds_when_the_project_allows_none(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", CHECK, "--fix-rounds", "0")
    add_profile(seedbed, FIXER)
    task_id = add_task(seedbed, "Once", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert shown["phase"] == "checks_failed" and len(shown["runs"]) == 1
    refused = seedbed("project", "add", str(repo), "--name", "other", "--fix-rounds", "-1")
    assert refused.code == 2 and "--fix-rounds must be 0 to 10" in refused.err


def test_a_stopped_task_does_not_start_a_fix_round(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", CHECK)
    add_profile(seedbed, "echo run >> work.txt; sleep 30")
    task_id = add_task(seedbed, "Stop me", "--start")
    engine = seedbed.spawn("run")
    try:
        wait_for(lambda: working(seedbed, task_id))
        seedbed.ok("task", "stop", str(task_id))
    finally:
        engine.terminate()
        engine.communicate(timeout=30)
    shown = seedbed.show(task_id)
    assert shown["phase"] == "interrupted" and len(shown["runs"]) == 1


def working(seedbed: SeedbedCli, task_id: int) -> bool:
    """The agent has written its line (and now sleeps)."""
    worktree = seedbed.show(task_id)["worktree"]
    return worktree is not None and (Path(worktree) / "work.txt").exists()


def runs_follow_up(seedbed: SeedbedCli, task_id: int, number: int) -> str:
    from seedbed.store import Store

    store = Store.open(seedbed.data_dir)
    try:
        return next(r.follow_up for r in store.list_runs(task_id) if r.number == number)
    finally:
        store.close()
