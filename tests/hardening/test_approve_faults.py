"""Issue 15: approves interrupted, racing, refused by git, and many at once.

Real repositories with real filters and hooks, real `seedbed` processes killed by real
signals, the real SQLite file held by a real second writer.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from seedbed.domain.models import TaskState
from seedbed.store import Store
from tests.conftest import Result, SeedbedCli, git, make_repo


def wait_for(what: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, message
        time.sleep(0.02)


def head(repo: Path, rev: str = "main") -> str:
    return git(repo, "rev-parse", rev).strip()


def stored_task(seedbed: SeedbedCli, task_id: int) -> tuple[str, str]:
    """State and phase straight from the database: `task show` may finish a dead approve."""
    store = Store.open(seedbed.data_dir)
    try:
        task = store.get_task(task_id)
    finally:
        store.close()
    return task.state.value, task.phase.value


def ready_tasks(seedbed: SeedbedCli, command: str, count: int) -> list[int]:
    """`count` tasks of project "demo" whose command agent ran, awaiting review."""
    seedbed.ok("profile", "add", "agent", "--kind", "command", "--command", command)
    ids = [
        int(
            seedbed.ok(
                "task", "add", "--project", "demo", "--title", f"Change {n}", "--profile", "agent"
            ).out.strip()
        )
        for n in range(1, count + 1)
    ]
    for task_id in ids:
        seedbed.ok("task", "start", str(task_id))
    seedbed.ok("run", "--until-idle")
    for task_id in ids:
        task = seedbed.show(task_id)
        assert (task["state"], task["phase"]) == ("awaiting_review", "ready"), task
    return ids


def one_error(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result
    return lines[0]


def checkout_state(repo: Path) -> str:
    """What a failed approve must leave exactly as it was: HEAD, the index, the files."""
    files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if ".git" not in p.parts)
    return "\n".join(
        [
            head(repo, "HEAD"),
            git(repo, "ls-files", "-s"),
            git(repo, "status", "--porcelain", "--untracked-files=all"),
            *files,
        ]
    )


# -- 1. an approve killed right after the base moved ---------------------------------

PAUSE_FILTER = """#!/bin/sh
# A smudge filter: while the test is armed, the first file written waits for its word.
if [ -f '{dir}/armed' ] && [ ! -f '{dir}/go' ]; then
  : > '{dir}/paused'
  while [ ! -f '{dir}/go' ]; do sleep 0.02; done
fi
exec cat
"""


@pytest.fixture
def paused_repo(tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose `*.pause` files go through a smudge filter the test can hold."""
    control = tmp_path / "pause"
    control.mkdir()
    script = tmp_path / "pause.sh"
    script.write_text(PAUSE_FILTER.format(dir=control))
    script.chmod(0o755)
    repo = make_repo(
        tmp_path / "repo", {"README.md": "# demo\n", ".gitattributes": "*.pause filter=pause\n"}
    )
    git(repo, "config", "filter.pause.smudge", str(script))
    git(repo, "config", "filter.pause.clean", "cat")
    return repo, control


def kill_after_the_base_moved(
    seedbed: SeedbedCli, repo: Path, control: Path, task_id: int, strategy: str
) -> str:
    """`task approve` killed with SIGKILL once the base moved, before it could say so in
    the database (a second writer holds the database then); the base's new tip."""
    old = head(repo)
    (control / "armed").touch()
    approving = seedbed.spawn(
        "task", "approve", str(task_id), "--strategy", strategy, start_new_session=True
    )
    try:
        wait_for(
            lambda: (control / "paused").exists() or approving.poll() is not None,
            30,
            "the approve never wrote the task's file into the checkout",
        )
        assert approving.poll() is None, approving.communicate()
        db = sqlite3.connect(seedbed.data_dir / "seedbed.db", timeout=30, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # the approve's next write waits
        try:
            (control / "go").touch()
            wait_for(lambda: head(repo) != old, 30, "the base never moved")
            time.sleep(0.3)
            assert approving.poll() is None, approving.communicate()
            os.killpg(approving.pid, signal.SIGKILL)
            approving.communicate(timeout=10)
        finally:
            db.execute("ROLLBACK")
            db.close()
    finally:
        if approving.poll() is None:
            os.killpg(approving.pid, signal.SIGKILL)
            approving.communicate(timeout=10)
    (control / "armed").unlink()
    return head(repo)


@pytest.mark.parametrize(
    ("strategy", "finisher"),
    [("squash", "run"), ("merge", "approve"), ("rebase", "show"), ("squash", "start")],
)
def test_an_approve_killed_after_the_base_moved_is_finished_by_recovery(
    seedbed: SeedbedCli, paused_repo: tuple[Path, Path], strategy: str, finisher: str
) -> None:
    repo, control = paused_repo
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    (task_id,) = ready_tasks(seedbed, "printf 'work\\n' > \"t$SEEDBED_TASK_ID.pause\"", 1)
    branch = seedbed.show(task_id)["branch"]

    landed = kill_after_the_base_moved(seedbed, repo, control, task_id, strategy)
    assert stored_task(seedbed, task_id) == ("awaiting_review", "merging")  # as it died

    if finisher == "run":
        seedbed.ok("run", "--until-idle")  # the engine's start-up recovery
    elif finisher == "approve":
        again = seedbed.ok("task", "approve", str(task_id), "--strategy", strategy)
        assert f"task {task_id} merged into main" in again.out
    elif finisher == "show":
        seedbed.ok("task", "show", str(task_id))
    else:
        refused = one_error(seedbed("task", "start", str(task_id)))
        assert f"task {task_id} is merged" in refused, refused

    task = seedbed.show(task_id)
    assert (task["state"], task["phase"]) == ("merged", ""), task
    assert head(repo) == landed  # nothing landed twice
    assert (repo / f"t{task_id}.pause").read_text() == "work\n"
    assert git(repo, "status", "--porcelain") == ""
    merge_runs = [r for r in task["runs"] if r["kind"] == "merge"]
    assert [(r["status"], r["commit"]) for r in merge_runs] == [("succeeded", landed)]
    log = "\n".join(e.get("message", "") for e in seedbed.log_events(task_id))
    assert "finished by recovery" in log, log
    # The branch and the worktree are cleaned up as a normal approve does.
    assert task["branch"] is None and task["worktree"] is None
    assert git(repo, "branch", "--list", branch) == ""
    assert "seedbed/" not in git(repo, "worktree", "list")


def test_an_approve_killed_between_the_files_and_the_ref_is_taken_back(
    seedbed: SeedbedCli, paused_repo: tuple[Path, Path]
) -> None:
    """Land switches the checkout's files, then moves the ref: killed between the two,
    the checkout holds the new files on the old HEAD; recovery switches them back."""
    repo, control = paused_repo
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    (task_id,) = ready_tasks(seedbed, "printf 'work\\n' > t.pause && echo b > b.txt", 1)
    before = checkout_state(repo)
    old = head(repo)

    (control / "armed").touch()
    approving = seedbed.spawn("task", "approve", str(task_id), start_new_session=True)
    try:
        wait_for(
            lambda: (control / "paused").exists() or approving.poll() is not None,
            30,
            "the approve never wrote the task's file into the checkout",
        )
        assert approving.poll() is None, approving.communicate()
    finally:
        os.killpg(approving.pid, signal.SIGKILL)
        approving.communicate(timeout=10)
    # git, in a session of its own, finishes switching the files; nothing moves the ref.
    (control / "go").touch()
    wait_for(lambda: git(repo, "status", "--porcelain") != "", 30, "the files never switched")
    wait_for(lambda: not (repo / ".git" / "index.lock").exists(), 30, "git never finished")
    assert head(repo) == old and (repo / "b.txt").exists()
    (control / "armed").unlink()

    seedbed.ok("run", "--until-idle")

    assert checkout_state(repo) == before
    task = seedbed.show(task_id)
    assert (task["state"], task["phase"]) == ("awaiting_review", "ready"), task
    assert "it had switched are back as they were" in task["error"]
    seedbed.ok("task", "approve", str(task_id))
    assert (repo / "b.txt").read_text() == "b\n" and head(repo) != old
    assert git(repo, "status", "--porcelain") == ""


# -- 2. a hook that never returns after the base moved ---------------------------------


def test_a_hung_post_merge_hook_does_not_hang_the_approve(
    seedbed: SeedbedCli, repo: Path, project: str
) -> None:
    """Land runs none of the user's hooks (docs/decisions.md): a post-merge or
    reference-transaction hook that never returns cannot hold the base half-landed."""
    (task_id,) = ready_tasks(seedbed, "printf 'x\\n' > new.txt", 1)
    hooks = repo / ".git" / "hooks"
    for name in ("post-merge", "reference-transaction"):
        (hooks / name).write_text("#!/bin/sh\nsleep 600\n")
        (hooks / name).chmod(0o755)

    approving = seedbed.spawn("task", "approve", str(task_id), start_new_session=True)
    try:
        _out, err = approving.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(approving.pid, signal.SIGKILL)
        approving.communicate(timeout=10)
        pytest.fail("the approve hung in the user's hook")
    assert approving.returncode == 0, err
    assert seedbed.show(task_id)["state"] == "merged"
    assert (repo / "new.txt").read_text() == "x\n"
    assert git(repo, "status", "--porcelain") == ""


# -- 3. approve racing a resume ----------------------------------------------------------

APPROVE_LOST = re.compile(
    r"task (\d+) (was started again|is running); approve it when it is back in review"
)
START_LOST = re.compile(r"task (\d+) is (being )?merged")


def test_approve_and_start_at_once_one_wins_and_the_other_says_why(
    seedbed: SeedbedCli, repo: Path, project: str
) -> None:
    """Rounds of both at once, each on a task awaiting review: the next task once one
    is merged, the same one again (stopped) when the start won."""
    pool = ready_tasks(seedbed, 'printf "$SEEDBED_TASK_ID\\n" > "f$SEEDBED_TASK_ID.txt"', 8)
    winners: dict[str, int] = {"approve": 0, "start": 0}
    rounds = 0
    while pool and rounds < 12 and (rounds < 6 or not all(winners.values())):
        rounds += 1
        task_id = pool[0]
        base = head(repo)
        approving = seedbed.spawn("task", "approve", str(task_id))
        starting = seedbed.spawn("task", "start", str(task_id))
        approved, started = approving.communicate(timeout=60), starting.communicate(timeout=60)
        task = seedbed.show(task_id)
        codes = (approving.returncode, starting.returncode)
        assert sorted(codes) == [0, 2], (codes, approved, started)
        if approving.returncode == 0:
            winners["approve"] += 1
            assert task["state"] == "merged", task
            assert head(repo) != base
            assert START_LOST.search(started[1]), started
            pool.pop(0)
        else:
            winners["start"] += 1
            assert (task["state"], task["phase"]) == ("running", "queued"), task
            assert head(repo) == base  # the approve changed nothing
            assert APPROVE_LOST.search(approved[1]), approved
            assert not [r for r in task["runs"] if r["kind"] == "merge"]
            seedbed.ok("task", "stop", str(task_id))  # back to review for the next round
        assert len(started[1].strip().splitlines()) <= 1
        assert len(approved[1].strip().splitlines()) <= 1
    assert git(repo, "status", "--porcelain") == ""
    assert all(winners.values()), winners  # both orders were tried


def test_a_discard_during_an_approve_is_refused_and_touches_nothing(
    seedbed: SeedbedCli, repo: Path
) -> None:
    """The same guard as a start: a discard while the merge result is checked is refused
    before it commits or removes anything in the task's worktree."""
    check = "if [ -f slow ]; then sleep 4; fi; true"  # slow on the merge result only
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", check)
    (task_id,) = ready_tasks(seedbed, "printf 'x\\n' > new.txt", 1)
    worktree = Path(seedbed.show(task_id)["worktree"])
    (repo / "slow").write_text("")
    git(repo, "add", "slow")
    git(repo, "commit", "-q", "-m", "slow checks")

    approving = seedbed.spawn("task", "approve", str(task_id))
    wait_for(
        lambda: stored_task(seedbed, task_id) == ("awaiting_review", "merging"),
        30,
        "the approve never started",
    )
    refused = one_error(seedbed("task", "discard", str(task_id)))
    still_there = worktree.exists()  # the approve's checks go on meanwhile
    _out, err = approving.communicate(timeout=60)

    assert f"task {task_id} is being merged" in refused, refused
    assert still_there
    assert approving.returncode == 0, err
    assert seedbed.show(task_id)["state"] == "merged"
    assert (repo / "new.txt").read_text() == "x\n"
    merge_runs = [r for r in seedbed.show(task_id)["runs"] if r["kind"] == "merge"]
    assert [r["status"] for r in merge_runs] == ["succeeded"]


# -- 4. the base's ref lock held, or a hook refusing, during approve --------------------


def test_a_held_ref_lock_leaves_the_checkout_exactly_as_it_was(
    seedbed: SeedbedCli, repo: Path, project: str
) -> None:
    (task_id,) = ready_tasks(seedbed, "printf 'x\\n' > new.txt && printf 'y\\n' >> README.md", 1)
    (repo / "untracked.txt").write_text("mine\n")
    before = checkout_state(repo)
    lock = repo / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")  # another git process is moving main

    refused = seedbed("task", "approve", str(task_id))

    assert refused.code != 0
    lines = refused.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "main" in lines[0], refused
    assert "Traceback" not in refused.err
    assert checkout_state(repo) == before
    assert (seedbed.show(task_id)["state"], seedbed.show(task_id)["phase"]) == (
        "awaiting_review",
        "ready",
    )

    lock.unlink()  # the other git process is done
    seedbed.ok("task", "approve", str(task_id))
    assert seedbed.show(task_id)["state"] == "merged"
    assert (repo / "new.txt").read_text() == "x\n"
    assert git(repo, "status", "--porcelain") == "?? untracked.txt\n"


def test_a_refusing_reference_transaction_hook_does_not_stop_the_approve(
    seedbed: SeedbedCli, repo: Path, project: str
) -> None:
    """Land runs no hook of the user's (docs/decisions.md), so one that refuses every
    ref update changes nothing: the approve lands, files and ref together."""
    (task_id,) = ready_tasks(seedbed, "printf 'x\\n' > new.txt", 1)
    hook = repo / ".git" / "hooks" / "reference-transaction"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)

    seedbed.ok("task", "approve", str(task_id))

    assert seedbed.show(task_id)["state"] == "merged"
    assert (repo / "new.txt").read_text() == "x\n"
    assert git(repo, "status", "--porcelain") == ""


FAILING_FILTER = """#!/bin/sh
# A required smudge filter that fails while the test says so.
if [ -f '{flag}' ]; then exit 1; fi
exec cat
"""


def test_a_filter_that_fails_halfway_leaves_the_checkout_exactly_as_it_was(
    seedbed: SeedbedCli, tmp_path: Path
) -> None:
    """Git writes some of the files, then a required filter fails: the files it wrote
    are taken back (they were left half-merged, and later approves refused)."""
    flag = tmp_path / "failing"
    script = tmp_path / "fail.sh"
    script.write_text(FAILING_FILTER.format(flag=flag))
    script.chmod(0o755)
    repo = make_repo(
        tmp_path / "repo",
        {"README.md": "# demo\n", "old.txt": "old\n", ".gitattributes": "*.fail filter=fail\n"},
    )
    for key, value in (("smudge", str(script)), ("clean", "cat"), ("required", "true")):
        git(repo, "config", f"filter.fail.{key}", value)
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    change = (
        "printf 'a\\n' > a.txt && mkdir -p sub && printf 'b\\n' > sub/b.txt && "
        "printf 'z\\n' > z.fail && printf 'y\\n' >> README.md && rm old.txt"
    )
    (task_id,) = ready_tasks(seedbed, change, 1)
    before = checkout_state(repo)
    flag.touch()

    refused = seedbed("task", "approve", str(task_id))

    lines = refused.err.strip().splitlines()
    assert refused.code != 0 and len(lines) == 1 and lines[0].startswith("error: "), refused
    assert checkout_state(repo) == before
    flag.unlink()
    seedbed.ok("task", "approve", str(task_id))
    assert seedbed.show(task_id)["state"] == "merged"
    assert (repo / "z.fail").read_text() == "z\n" and not (repo / "old.txt").exists()
    assert git(repo, "status", "--porcelain") == ""


# -- 5. many approves at once ----------------------------------------------------------


def test_four_approve_processes_over_twelve_tasks_land_every_one_in_a_line(
    seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", "test -f README.md")
    ids = ready_tasks(seedbed, 'printf "$SEEDBED_TASK_ID\\n" > "f$SEEDBED_TASK_ID.txt"', 12)
    start = head(repo)
    lanes = [ids[n::4] for n in range(4)]
    results: dict[int, tuple[int | None, str]] = {}

    def approve_lane(lane: list[int]) -> None:
        for task_id in lane:
            process = seedbed.spawn("task", "approve", str(task_id))
            _out, err = process.communicate(timeout=120)
            results[task_id] = (process.returncode, err)

    threads = [threading.Thread(target=approve_lane, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {task_id: code for task_id, (code, _err) in results.items()} == dict.fromkeys(ids, 0), (
        results
    )
    for task_id in ids:
        assert seedbed.show(task_id)["state"] == TaskState.MERGED.value
    # One commit per task, each on the one before: a straight line from where it started.
    line = git(repo, "rev-list", "--first-parent", f"{start}..main").split()
    assert len(line) == len(ids)
    assert git(repo, "rev-list", "--count", f"{start}..main").strip() == str(len(ids))
    assert git(repo, "rev-list", "--merges", f"{start}..main") == ""
    titles = git(repo, "log", "--reverse", "--format=%s", f"{start}..main").splitlines()
    for lane in lanes:  # each lane's approves landed in the order it asked them
        landed = [titles.index(f"Change {ids.index(t) + 1}") for t in lane]
        assert landed == sorted(landed), titles
    assert git(repo, "status", "--porcelain") == ""
    for task_id in ids:
        assert (repo / f"f{task_id}.txt").read_text() == f"{task_id}\n"
    assert ".merge-check" not in git(repo, "worktree", "list")
