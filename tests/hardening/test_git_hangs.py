"""Git that never returns: a clean or smudge filter, a hook that hangs.

Every git call has a timeout (SEEDBED_GIT_TIMEOUT, shortened here) and is killed with its
process group; a task's stop and the engine's shutdown cut the git of its runs. The
filters and hooks are real: `sleep 1000` under a shell that writes its pid, so that the
test can say whether it was killed and kill what is left after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from seedbed.domain.errors import UserError
from seedbed.vcs.runner import end_orphaned_git, git_timeout, run_git
from tests.conftest import SeedbedCli, git

HANGS = "a hook or a clean/smudge filter of this repository may hang"
WRITES_ATTRIBUTES = "printf '* filter=hang\\n' > .gitattributes; echo work > work.txt"


@pytest.fixture
def pids(tmp_path: Path) -> Iterator[Path]:
    """The file each hanging filter or hook writes its pid to; what is left is killed."""
    path = tmp_path / "hung.pids"
    yield path
    for pid in recorded(path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def hang(pids: Path) -> str:
    """A shell command that never returns (the pid it runs as is written to `pids`)."""
    return f"echo $$ >> {pids}; exec sleep 1000"


def recorded(pids: Path) -> list[int]:
    return [int(line) for line in pids.read_text().split()] if pids.exists() else []


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_until(what: str, done: Callable[[], Any], within: float) -> Any:
    deadline = time.monotonic() + within
    while not (value := done()):
        assert time.monotonic() < deadline, f"{what} within {within:g} s"
        time.sleep(0.1)
    return value


def add_task(seedbed: SeedbedCli, title: str, command: str) -> int:
    profile = title.lower()
    seedbed.ok("profile", "add", profile, "--kind", "command", "--command", command)
    added = seedbed.ok(
        "task", "add", "--project", "demo", "--title", title, "--profile", profile, "--start"
    )
    return int(added.out)


def task(seedbed: SeedbedCli, task_id: int) -> dict[str, Any]:
    """The task's row as `task list` has it: no git is run to read it."""
    return next(t for t in seedbed.ok("task", "list", "--json").json() if t["id"] == task_id)


def last_run(seedbed: SeedbedCli, task_id: int) -> dict[str, Any]:
    runs: list[dict[str, Any]] = seedbed.ok("task", "log", str(task_id), "--json").json()["runs"]
    return runs[-1]


def ended(seedbed: SeedbedCli, task_id: int, within: float) -> dict[str, Any]:
    return wait_until(
        f"task {task_id} did not end",
        lambda: (t := task(seedbed, task_id))["state"] != "running" and t,
        within,
    )


@contextlib.contextmanager
def engine(seedbed: SeedbedCli) -> Iterator[subprocess.Popen[str]]:
    """`seedbed run` as a real process; killed at the end whatever happened."""
    process = seedbed.spawn("run")
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def hung(pids: Path) -> None:
    wait_until("git never ran the hanging filter or hook", lambda: recorded(pids), 30)


def assert_killed(pids: Path) -> None:
    wait_until(
        "a hanging filter or hook was left running", lambda: not any(map(alive, recorded(pids))), 5
    )


def planted_hang(
    seedbed: SeedbedCli, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> int:
    """A task whose agent plants an attribute that routes its files through a clean
    filter that never returns, with a time limit nothing reaches: only a stop ends it."""
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "600")
    git(repo, "config", "filter.hang.clean", hang(pids))
    return add_task(seedbed, "Planted", WRITES_ATTRIBUTES)


def test_a_filter_that_hangs_the_snapshot_commit_fails_the_run_in_one_sentence(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "2")
    git(repo, "config", "filter.hang.clean", hang(pids))
    # The agent plants the attribute; the snapshot commit's `git add` runs the filter.
    hung_id = add_task(seedbed, "Planted", WRITES_ATTRIBUTES)
    with engine(seedbed) as process:
        hung(pids)
        started = time.monotonic()
        failed = ended(seedbed, hung_id, 30)
        assert time.monotonic() - started < 10
        assert (failed["state"], failed["phase"]) == ("awaiting_review", "agent_failed")
        sentence = f"git add did not finish within 2 s in {failed['worktree']}: {HANGS}"
        assert last_run(seedbed, hung_id)["reason"] == sentence
        assert failed["error"] == sentence
        assert_killed(pids)
        # Killed with SIGTERM first, git removed its lock: the next git of the task works.
        assert not list((repo / ".git" / "worktrees").glob("*/index.lock"))
        # The engine is alive, idle, and runs the next task as usual.
        assert process.poll() is None
        fine_id = add_task(seedbed, "Fine", "echo fine > fine.txt")
        assert (ended(seedbed, fine_id, 30)["phase"]) == "ready"
        assert process.poll() is None


@pytest.mark.parametrize("attack", ["smudge filter at the first start", "post-checkout hook"])
def test_a_git_that_hangs_while_preparing_fails_the_start_and_a_retry_works(
    seedbed: SeedbedCli,
    project: str,
    repo: Path,
    pids: Path,
    monkeypatch: pytest.MonkeyPatch,
    attack: str,
) -> None:
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "2")
    if attack == "post-checkout hook":
        # Git runs post-checkout when a worktree is checked out by `worktree add`: the
        # start of a task whose worktree directory was lost re-attaches it so.
        task_id = add_task(seedbed, "Lost", "echo first > first.txt")
        seedbed.ok("run", "--until-idle")
        worktree = Path(task(seedbed, task_id)["worktree"])
        shutil.rmtree(worktree)
        hook = repo / ".git" / "hooks" / "post-checkout"
        hook.write_text(f"#!/bin/sh\n{hang(pids)}\n")
        hook.chmod(0o755)
        seedbed.ok("task", "start", str(task_id))
    else:
        (repo / ".gitattributes").write_text("*.txt filter=hang\n")
        (repo / "data.txt").write_text("data\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "a filtered file")
        git(repo, "config", "filter.hang.smudge", hang(pids))
        task_id = add_task(seedbed, "Smudged", "echo second > second.txt")
    with engine(seedbed) as process:
        hung(pids)
        failed = ended(seedbed, task_id, 30)
        assert process.poll() is None
    worktree = Path(failed["worktree"])
    # `worktree add` runs in the repository, the checkout of a new worktree in it.
    where = f"worktree did not finish within 2 s in {repo}"
    if attack != "post-checkout hook":
        where = f"reset did not finish within 2 s in {worktree}"
    sentence = f"git {where}: {HANGS}"
    assert (failed["state"], failed["phase"]) == ("awaiting_review", "agent_failed")
    assert failed["error"] == f"preparing failed: {sentence}"
    assert_killed(pids)

    if attack == "post-checkout hook":
        (repo / ".git" / "hooks" / "post-checkout").unlink()
    else:
        git(repo, "config", "--unset", "filter.hang.smudge")
    seedbed.ok("task", "start", str(task_id))
    seedbed.ok("run", "--until-idle")
    retried = task(seedbed, task_id)
    assert (retried["state"], retried["phase"]) == ("awaiting_review", "ready")
    assert (worktree / "README.md").exists()
    assert git(worktree, "status", "--porcelain") == ""


def terminate_within(process: subprocess.Popen[str], seconds: float, refused: str) -> None:
    """SIGTERM to the engine, which must have ended within `seconds`."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=seconds * 3)
    assert process.poll() is not None, refused
    assert time.monotonic() - started < seconds


def test_task_stop_cuts_a_git_that_hangs(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = planted_hang(seedbed, repo, pids, monkeypatch)  # only a stop can end it
    with engine(seedbed) as process:
        hung(pids)
        started = time.monotonic()
        stopped = seedbed("task", "stop", str(task_id))
        assert time.monotonic() - started < 10
        assert stopped.code == 0, stopped.err
        shown = task(seedbed, task_id)
        assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
        run = last_run(seedbed, task_id)
        assert run["status"] == "stopped"
        cut = f"git add was cut short in {shown['worktree']}: the task was stopped"
        # Cut at once (the card's diff hung), or after 3 s idle (the snapshot commit hung:
        # a stop lets a commit that works finish).
        idle = f"{cut}, and it had done nothing for 3 s"
        assert run["reason"] in (cut, idle) and shown["error"] == run["reason"], run
        assert_killed(pids)
        assert process.poll() is None


def test_sigterm_ends_an_engine_whose_git_hangs(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = planted_hang(seedbed, repo, pids, monkeypatch)  # only a stop can end it
    with engine(seedbed) as process:
        hung(pids)
        terminate_within(process, 10, "the engine ignored SIGTERM")
    assert_killed(pids)
    shown = task(seedbed, task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
    assert "the engine stopped" in last_run(seedbed, task_id)["reason"]
    # The next start finds nothing left running.
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "5")
    seedbed.ok("run", "--until-idle")
    again = task(seedbed, task_id)
    assert (again["state"], again["phase"]) == ("awaiting_review", "interrupted")


def test_the_next_start_kills_a_git_that_a_killed_engine_left_hanging(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = planted_hang(seedbed, repo, pids, monkeypatch)  # only a stop can end it
    with engine(seedbed) as process:
        hung(pids)
        process.kill()
    # Git runs in a session of its own, so the engine's death did not end it.
    assert all(map(alive, recorded(pids)))
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "2")
    seedbed.ok("run", "--until-idle")
    assert_killed(pids)
    shown = task(seedbed, task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")


def test_the_default_git_time_limit_is_long_enough_for_a_slow_repository(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A hang is cut by a stop or the engine's shutdown; the limit is for one nobody stops,
    # and must not fail an `add -A` of a monorepo or an LFS checkout that takes minutes.
    monkeypatch.delenv("SEEDBED_GIT_TIMEOUT", raising=False)
    assert git_timeout() == 30 * 60


def test_a_git_time_limit_that_is_not_a_number_is_one_sentence(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for value in ("soon", "0", "-5", "inf", "nan"):
        monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", value)
        with pytest.raises(UserError) as raised:
            run_git(repo, "status")
        assert str(raised.value) == (
            f"SEEDBED_GIT_TIMEOUT must be a number of seconds above 0, not {value!r}"
        )
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "0.5")
    assert run_git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main\n"


def test_sigterm_ends_an_engine_whose_recovery_hangs_in_git(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "600")
    git(repo, "config", "filter.hang.clean", hang(pids))
    task_id = add_task(seedbed, "Planted", f"{WRITES_ATTRIBUTES}; echo $$ >> {pids}; sleep 1000")
    with engine(seedbed) as process:
        hung(pids)  # the agent, not git: the engine dies before any commit
        process.kill()
    # The next start's recovery commits what the agent left: the filter hangs it.
    with engine(seedbed) as process:
        wait_until("recovery never ran the filter", lambda: len(recorded(pids)) > 1, 30)
        terminate_within(process, 10, "the engine ignored SIGTERM")
    assert_killed(pids)
    shown = task(seedbed, task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")


# A filter that takes a while and then cleans as `cat` does: the snapshot commit made
# after a stop must wait for it (the old code gave such a commit 3 s and cut it).
SLOW_FILTER = "echo $$ >> {pids}; sleep 5; cat"
# The same, working all the while (a large `git add`, an LFS download): it uses CPU.
BUSY_FILTER = (
    "echo $$ >> {pids}; end=$(($(date +%s) + {seconds})); "
    "while [ $(date +%s) -lt $end ]; do :; done; cat"
)


def working_agent(pids: Path) -> str:
    """An agent that leaves a filtered file and a plain one, then works until stopped."""
    return (
        "printf 'slow.txt filter=slow\\n' > .gitattributes; echo slow > slow.txt; "
        f"echo ok > small.txt; echo $$ >> {pids}; exec sleep 600"
    )


def committed_files(repo: Path, shown: dict[str, Any]) -> set[str]:
    listed = git(repo, "diff", "--name-only", f"{shown['base_branch']}...{shown['branch']}")
    return set(listed.split())


def test_a_stop_commits_the_work_though_its_commit_takes_longer_than_a_few_seconds(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "60")
    git(repo, "config", "filter.slow.clean", SLOW_FILTER.format(pids=pids))
    task_id = add_task(seedbed, "Slow", working_agent(pids))
    with engine(seedbed) as process:
        # The stop comes while the card's diff size is measured (its `git add` runs the
        # filter): that git is cut, and the old code then failed every later one at once.
        wait_until("the diff size was never measured", lambda: len(recorded(pids)) > 1, 30)
        stopped = seedbed("task", "stop", str(task_id))
        assert stopped.code == 0, stopped.err
        shown = task(seedbed, task_id)
        assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
        run = last_run(seedbed, task_id)
        assert run["status"] == "stopped"
        assert run["commit"], run["reason"]
        assert committed_files(repo, shown) == {".gitattributes", "slow.txt", "small.txt"}
        assert shown["diff_files"] == 3
        assert process.poll() is None


def asked_to_stop(seedbed: SeedbedCli, task_id: int) -> bool:
    return task(seedbed, task_id)["control"] != "none"


def test_a_second_stop_cuts_the_commit_of_the_first(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "600")
    git(repo, "config", "filter.slow.clean", BUSY_FILTER.format(pids=pids, seconds=600))
    task_id = add_task(seedbed, "Twice", working_agent(pids))
    with engine(seedbed) as process:
        hung(pids)
        first = seedbed.spawn("task", "stop", str(task_id))
        try:
            # The first stop's commit works on (its filter): the first stop lets it.
            wait_until("the commit never ran the filter", lambda: len(recorded(pids)) > 1, 30)
            # The second stop insists only once the first is on the task.
            wait_until(
                "the first stop never reached the task", lambda: asked_to_stop(seedbed, task_id), 30
            )
            time.sleep(4)
            assert task(seedbed, task_id)["state"] == "running"
            started = time.monotonic()
            again = seedbed("task", "stop", str(task_id))
            assert again.code == 0, again.err
            assert time.monotonic() - started < 10
            assert first.wait(timeout=30) == 0
        finally:
            if first.poll() is None:
                first.kill()
            first.communicate()
        assert_killed(pids)
        shown = task(seedbed, task_id)
        assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
        cut = f"git add was cut short in {shown['worktree']}: the task was stopped"
        assert last_run(seedbed, task_id)["reason"] == cut
        assert process.poll() is None


def test_sigterm_lets_the_commit_of_a_stopped_run_finish_while_it_works(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "60")
    busy = BUSY_FILTER.format(pids=pids, seconds=6)
    git(repo, "config", "filter.slow.clean", busy)
    task_id = add_task(seedbed, "Busy", working_agent(pids))
    with engine(seedbed) as process:
        hung(pids)
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=40)
        assert process.poll() is not None, "the engine did not end"
    shown = task(seedbed, task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
    run = last_run(seedbed, task_id)
    assert run["commit"], run["reason"]
    assert committed_files(repo, shown) == {".gitattributes", "slow.txt", "small.txt"}


def test_sigterm_cuts_the_commit_of_a_stopped_run_that_hangs(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "600")
    git(repo, "config", "filter.slow.clean", hang(pids))
    # The agent (not git) runs when the engine is told to stop: the commit after it hangs.
    task_id = add_task(seedbed, "Hangs later", working_agent(pids))
    with engine(seedbed) as process:
        hung(pids)
        terminate_within(process, 15, "the engine waited for a git that hangs")
    assert_killed(pids)
    shown = task(seedbed, task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
    assert "the engine stopped" in last_run(seedbed, task_id)["reason"]


def test_a_second_sigterm_cuts_a_commit_that_works(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "600")
    git(repo, "config", "filter.slow.clean", BUSY_FILTER.format(pids=pids, seconds=600))
    task_id = add_task(seedbed, "Insist", working_agent(pids))
    with engine(seedbed) as process:
        hung(pids)
        process.send_signal(signal.SIGTERM)
        # The commit's filter works on: the first SIGTERM lets it.
        wait_until("the commit never ran the filter", lambda: len(recorded(pids)) > 1, 30)
        time.sleep(4)
        assert process.poll() is None
        terminate_within(process, 10, "the engine ignored the second SIGTERM")
    assert_killed(pids)
    shown = task(seedbed, task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")


def pause_repo(repo: Path, pids: Path) -> None:
    """`*.pause` files pass a smudge filter that hangs (as a stuck LFS download would)."""
    (repo / ".gitattributes").write_text("*.pause filter=pause\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-q", "-m", "pause attributes")
    git(repo, "config", "filter.pause.smudge", f"echo $$ >> {pids}; sleep 600; cat")


def kill_approve(seedbed: SeedbedCli, task_id: int, pids: Path) -> None:
    """`task approve` in a session of its own (`setsid`), killed with its whole group by
    SIGKILL once its git hangs: a closed terminal, a killed service."""
    approving = seedbed.spawn("task", "approve", str(task_id), start_new_session=True)
    try:
        hung(pids)
        os.killpg(approving.pid, signal.SIGKILL)
    finally:
        approving.communicate()
    # Git runs in a session of its own: the kill did not reach it.
    assert all(map(alive, recorded(pids)))


def test_recovery_kills_the_git_of_a_killed_approve_and_frees_the_index(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "600")
    pause_repo(repo, pids)
    task_id = add_task(seedbed, "Paused", "echo data > x.pause")
    seedbed.ok("run", "--until-idle")
    base = git(repo, "rev-parse", "main")
    # The base's checkout gets x.pause: its smudge filter hangs the approve.
    kill_approve(seedbed, task_id, pids)
    seedbed.ok("run", "--until-idle")
    assert_killed(pids)
    assert not (repo / ".git" / "index.lock").exists()
    shown = task(seedbed, task_id)
    if git(repo, "rev-parse", "main") == base:
        assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready")
        assert "the approve was interrupted" in shown["error"]
    else:
        assert shown["state"] == "merged"
    git(repo, "status", "--porcelain")  # the user's git works


def test_recovery_kills_a_git_whose_seedbed_process_was_killed(
    seedbed: SeedbedCli, project: str, repo: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "600")
    task_id = add_task(seedbed, "Left", "echo done > done.txt")
    seedbed.ok("run", "--until-idle")
    worktree = Path(task(seedbed, task_id)["worktree"])
    # Something written in the worktree after the run: the approve commits it first,
    # before its merge run (and that run's marker) exists; its clean filter hangs.
    git(repo, "config", "filter.hang.clean", hang(pids))
    (worktree / ".gitattributes").write_text("later.txt filter=hang\n")
    (worktree / "later.txt").write_text("later\n")
    kill_approve(seedbed, task_id, pids)
    seedbed.ok("run", "--until-idle")
    assert_killed(pids)
    # Killed with SIGTERM first: git removed the worktree's index.lock itself.
    assert not list((repo / ".git" / "worktrees").glob("*/index.lock"))
    git(repo, "config", "--unset", "filter.hang.clean")
    assert task(seedbed, task_id)["state"] == "awaiting_review"
    git(worktree, "status", "--porcelain")


def test_recovery_ends_only_git_itself_never_a_daemon_a_hook_started(
    repo: Path, tmp_path: Path
) -> None:
    """A hook's daemon inherits git's owner marker; once the Seedbed process that ran git
    has exited (normally or killed), recovery must still leave the daemon alone."""
    daemon_pid = tmp_path / "daemon.pid"
    hook = repo / ".git" / "hooks" / "post-checkout"
    starts = f"setsid sh -c 'echo $$ > {daemon_pid}; exec sleep 600'"
    hook.write_text(f"#!/bin/sh\n{starts} </dev/null >/dev/null 2>&1 &\n")
    hook.chmod(0o755)
    seedbed_process = subprocess.run(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from seedbed.vcs.runner import run_git; "
         "run_git(Path(sys.argv[1]), 'checkout', '-q', '-b', 'other')", str(repo)],
        check=True,
    )  # fmt: skip
    assert seedbed_process.returncode == 0
    wait_until("the hook's daemon never started", daemon_pid.exists, 10)
    daemon = int(daemon_pid.read_text())
    try:
        assert end_orphaned_git() == 0
        os.kill(daemon, 0)  # alive
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(daemon, signal.SIGKILL)


@pytest.mark.parametrize("namespace", ["ours", "another"])
def test_recovery_judges_an_owner_only_in_its_own_pid_namespace(repo: Path, namespace: str) -> None:
    """A git whose owner pid is dead here is an orphan only when the pid is of our own
    namespace: a Seedbed in a container or sandbox has pids of its own."""
    ours = os.readlink("/proc/self/ns/pid")
    where = ours if namespace == "ours" else "pid:[1]"
    owner = f"{where}|999999999|1"  # no such process here
    # An engine starting anywhere on the machine (another test run) ends such a git too, by
    # design: a git it ended before we looked is tried again, never counted either way.
    for _attempt in range(5):
        waiting = subprocess.Popen(
            ["git", "-C", str(repo), "hash-object", "--stdin"],
            stdin=subprocess.PIPE,
            env={**os.environ, "SEEDBED_GIT_OWNER": owner},
            start_new_session=True,
        )  # git waits for its input: alive until ended
        try:
            time.sleep(0.3)
            if waiting.poll() is not None:
                continue  # ended by another engine before this one looked
            ended = end_orphaned_git()
            if ended == 0 and waiting.poll() is not None:
                continue  # ended by another engine while this one looked
            assert (ended, waiting.poll() is not None) == (
                (1, True) if namespace == "ours" else (0, False)
            )
            return
        finally:
            waiting.kill()
            waiting.communicate()
    pytest.fail("another engine ended the test's git five times in a row")
