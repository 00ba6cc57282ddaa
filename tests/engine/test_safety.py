"""The engine as a separate process: stop from elsewhere, pick-up, one engine, kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seedbed.agents.process import group_alive
from seedbed.domain.models import Phase
from seedbed.store import Store
from tests.conftest import SeedbedCli, git


def wait_for(
    predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
) -> float:
    """Poll until predicate() is true; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def spawn(seedbed: SeedbedCli) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `seedbed …` processes that are ended and reaped after the test, pass or fail."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        procs.append(seedbed.spawn(*args))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=30)


@pytest.fixture
def engine(
    seedbed: SeedbedCli, spawn: Callable[..., subprocess.Popen[str]]
) -> subprocess.Popen[str]:
    """`seedbed run` as a real background process."""
    proc = spawn("run", "--max-parallel", "4")
    wait_for(lambda: (seedbed.data_dir / "engine.lock").exists(), what="the engine lock")
    return proc


def add_sleeper(seedbed: SeedbedCli, title: str) -> int:
    return int(seedbed.ok("task", "add", "--project", "demo", "--title", title, "--start").out)


def phase(seedbed: SeedbedCli, task_id: int) -> tuple[str, str]:
    shown = seedbed.show(task_id)
    return shown["state"], shown["phase"]


def run_pid(data_dir: Path, task_id: int) -> int:
    """The pid of the task's latest run, once its agent has one (its phase may say
    implementing a moment before)."""

    def pid() -> int | None:
        [*_, run] = Store.open(data_dir).list_runs(task_id)
        return run.pid

    wait_for(lambda: pid() is not None, what="the agent's process")
    found = pid()
    assert found is not None
    return found


@pytest.fixture
def sleeper_profile(seedbed: SeedbedCli, project: str) -> None:
    seedbed.ok(
        "profile", "add", "sleeper", "--kind", "command",
        "--command", 'echo "work of $SEEDBED_TASK_ID" > work.txt; echo started; sleep 600 & wait',
    )  # fmt: skip


def test_queued_tasks_are_picked_up_within_a_second(
    seedbed: SeedbedCli, sleeper_profile: None, engine: subprocess.Popen[str]
) -> None:
    task_id = add_sleeper(seedbed, "Pick me up")
    took = wait_for(lambda: phase(seedbed, task_id)[1] != "queued", what="pick-up")
    assert took < 1.0
    wait_for(lambda: phase(seedbed, task_id)[1] == "implementing", what="implementing")


def test_stop_from_another_process_ends_the_whole_group(
    seedbed: SeedbedCli, sleeper_profile: None, engine: subprocess.Popen[str]
) -> None:
    task_id = add_sleeper(seedbed, "Stop me")
    wait_for(lambda: phase(seedbed, task_id)[1] == "implementing", what="implementing")
    worktree = Path(seedbed.show(task_id)["worktree"])
    wait_for(lambda: (worktree / "work.txt").exists(), what="the agent's work")
    pgid = run_pid(seedbed.data_dir, task_id)
    assert group_alive(pgid)

    seedbed.ok("task", "stop", str(task_id))
    assert phase(seedbed, task_id) == ("awaiting_review", "interrupted")
    wait_for(lambda: not group_alive(pgid), timeout=2, what="the process group to end")
    shown = seedbed.show(task_id)
    assert shown["runs"][0]["status"] == "stopped"
    assert shown["diff"]["files"] == 1  # the work was committed, not lost
    assert git(worktree, "status", "--porcelain") == ""


def test_requeue_from_another_process_goes_back_to_planned(
    seedbed: SeedbedCli, sleeper_profile: None, engine: subprocess.Popen[str]
) -> None:
    task_id = add_sleeper(seedbed, "Requeue me")
    wait_for(lambda: phase(seedbed, task_id)[1] == "implementing", what="implementing")
    worktree = Path(seedbed.show(task_id)["worktree"])
    seedbed.ok("task", "requeue", str(task_id))
    assert phase(seedbed, task_id) == ("planned", "draft")
    assert worktree.exists()  # kept for the next start


def test_a_second_engine_says_so(
    seedbed: SeedbedCli, project: str, engine: subprocess.Popen[str]
) -> None:
    result = seedbed("run", "--until-idle")
    assert result.code == 2
    assert result.err.startswith("error: an engine is already running")
    assert str(engine.pid) in result.err


def test_log_follow_ends_with_the_run(
    seedbed: SeedbedCli,
    project: str,
    engine: subprocess.Popen[str],
    spawn: Callable[..., subprocess.Popen[str]],
) -> None:
    seedbed.ok(
        "profile", "add", "slow", "--kind", "command",
        "--command", "for i in 1 2 3 4 5; do echo line $i; sleep 0.1; done",
    )  # fmt: skip
    task_id = add_sleeper(seedbed, "Follow me")
    follower = spawn("task", "log", str(task_id), "--follow")
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    lines = out.splitlines()
    assert [line for line in lines if line.startswith("line ")] == [
        f"line {i}" for i in range(1, 6)
    ]
    assert phase(seedbed, task_id)[0] == "awaiting_review"


def test_kill_9_of_the_engine_loses_nothing(
    seedbed: SeedbedCli, sleeper_profile: None, spawn: Callable[..., subprocess.Popen[str]]
) -> None:
    engine = spawn("run", "--max-parallel", "4")
    tasks = [add_sleeper(seedbed, f"Crash {n}") for n in range(2)]
    for task_id in tasks:
        wait_for(lambda t=task_id: phase(seedbed, t)[1] == "implementing", what="implementing")
        worktree = Path(seedbed.show(task_id)["worktree"])
        wait_for(lambda w=worktree: (w / "work.txt").exists(), what="the agent's work")
    pgids = [run_pid(seedbed.data_dir, t) for t in tasks]

    os.kill(engine.pid, signal.SIGKILL)
    engine.communicate(timeout=10)
    assert all(group_alive(p) for p in pgids)  # orphans, until the next engine

    seedbed.ok("run", "--until-idle")
    for task_id, pgid in zip(tasks, pgids, strict=True):
        shown = seedbed.show(task_id)
        assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
        assert shown["runs"][0]["status"] == "interrupted"
        wait_for(lambda p=pgid: not group_alive(p), timeout=2, what="the orphans to end")
        worktree = Path(shown["worktree"])
        assert (worktree / "work.txt").read_text() == f"work of {task_id}\n"
        assert shown["diff"]["files"] == 1
    with sqlite3.connect(seedbed.data_dir / "seedbed.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # Resuming runs again in the same worktree, told that it was interrupted.
    seedbed.ok(
        "profile", "add", "resume", "--kind", "command",
        "--command", 'printf "%s" "$SEEDBED_FOLLOW_UP" > resumed.txt',
    )  # fmt: skip
    store = Store.open(seedbed.data_dir)
    store.update_task(tasks[0], profile_id=store.find_profile("resume").id)
    seedbed.ok("task", "start", str(tasks[0]))
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(tasks[0])
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready")
    assert len(shown["runs"]) == 2
    assert "interrupted" in (Path(shown["worktree"]) / "resumed.txt").read_text()


def test_ctrl_c_of_the_engine_interrupts_runs_cleanly(
    seedbed: SeedbedCli, sleeper_profile: None, spawn: Callable[..., subprocess.Popen[str]]
) -> None:
    engine = spawn("run")
    task_id = add_sleeper(seedbed, "Interrupt me")
    wait_for(lambda: phase(seedbed, task_id)[1] == "implementing", what="implementing")
    pgid = run_pid(seedbed.data_dir, task_id)
    engine.send_signal(signal.SIGINT)
    engine.communicate(timeout=30)
    assert engine.returncode == 0
    assert phase(seedbed, task_id) == ("awaiting_review", "interrupted")
    wait_for(lambda: not group_alive(pgid), timeout=2, what="the process group to end")


@pytest.mark.parametrize("left", ["unchecked-out worktree", "branch only", "stray directory"])
def test_a_crash_while_preparing_is_resumed(
    seedbed: SeedbedCli, project: str, repo: Path, left: str
) -> None:
    """kill -9 can land between the steps of making a workspace: the next start finishes
    what was begun instead of refusing the task's own branch."""
    seedbed.ok("profile", "add", "w", "--kind", "command", "--command", "echo done > done.txt")
    task_id = int(seedbed.ok("task", "add", "--project", "demo", "--title", "Prep").out)
    branch = f"seedbed/{task_id}-prep"
    worktree = seedbed.data_dir / "worktrees" / "demo" / f"{task_id}-prep"
    # What the engine had done when it died: the names claimed, the workspace half made.
    store = Store.open(seedbed.data_dir)
    seedbed.ok("task", "start", str(task_id))
    store.update_task(task_id, branch=branch, worktree=worktree, base_branch="main")
    store.update_task(task_id, phase=Phase.PREPARING)
    if left == "unchecked-out worktree":
        git(repo, "worktree", "add", "--no-checkout", "-b", branch, str(worktree), "main")
    elif left == "branch only":
        git(repo, "branch", branch, "main")
    else:
        worktree.mkdir(parents=True)
        (worktree / "partial").write_text("x")

    seedbed.ok("run", "--until-idle")  # recovery: interrupted
    assert phase(seedbed, task_id) == ("awaiting_review", "interrupted")
    seedbed.ok("task", "start", str(task_id))
    seedbed.ok("run", "--until-idle")

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert shown["branch"] == branch
    assert (worktree / "README.md").exists() and (worktree / "done.txt").exists()
    assert not (worktree / "partial").exists()
    assert git(worktree, "status", "--porcelain") == ""
