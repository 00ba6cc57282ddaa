"""Approve never breaks the base branch: the checks run on the merge result before the
base moves, and approves of one project land one at a time, each on top of the other.

Real repositories, real command agents run by a real engine, the real CLI, and real
concurrent `seedbed task approve` processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from seedbed.core.context import Context
from seedbed.core.merging import board_cards, telling_lines
from seedbed.core.runs import processes_of_run
from seedbed.service import launch
from seedbed.store import Store
from seedbed.ui.common.format import check_label
from tests.conftest import SeedbedCli, git, make_repo
from tests.core.test_review import STRATEGIES, error_line, head
from tests.service.conftest import Engines

# Every Python file of the project runs: a module that imports a deleted one fails.
CHECK = 'for f in *.py; do python3 "$f" > /dev/null || exit 1; done'
# Two changes that merge cleanly and each pass alone, but break the base together:
# one deletes lib.py (and its one use), the other adds a new user of it.
DROP_LIB = "printf 'print(2)\\n' > main.py && rm lib.py"
USE_LIB = "printf 'import lib\\nprint(lib.helper() + 1)\\n' > extra.py"


@pytest.fixture
def lib_repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "repo",
        {
            "lib.py": "def helper():\n    return 1\n",
            "main.py": "import lib\nprint(lib.helper())\n",
        },
    )


@pytest.fixture
def checked(seedbed: SeedbedCli, lib_repo: Path) -> str:
    seedbed.ok("project", "add", str(lib_repo), "--name", "demo", "--check", CHECK)
    return "demo"


def finish(seedbed: SeedbedCli, command: str, title: str, *extra: str) -> int:
    """A task whose command agent ran, now awaiting review with its checks passed."""
    name = f"agent-{abs(hash((command, title))) % 10**8}"
    seedbed.ok("profile", "add", name, "--kind", "command", "--command", command)
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", title, "--profile", name, *extra
        ).out.strip()
    )
    seedbed.ok("task", "start", str(task_id))
    seedbed.ok("run", "--until-idle")
    task = seedbed.show(task_id)
    assert (task["state"], task["phase"]) == ("awaiting_review", "ready"), task
    assert task["checks"]["status"] == "passed", task
    return task_id


def one_landed_one_refused(seedbed: SeedbedCli, strategy: str = "squash") -> tuple[int, int]:
    """Two tasks that break the base together: the first approved (landed); the second
    refused as a squash when approved now (a squash leaves its branch as it was)."""
    first = finish(seedbed, DROP_LIB, "Drop lib")
    second = finish(seedbed, USE_LIB, "Use lib more")  # branched before the first landed
    seedbed.ok("task", "approve", str(first), "--strategy", strategy)
    return first, second


def is_queued_or_merged(seedbed: SeedbedCli, task_id: int) -> bool:
    task = seedbed.show(task_id)
    return task["phase"] == "merging" or task["state"] == "merged"


def base_passes(repo: Path) -> bool:
    return subprocess.run(["sh", "-c", CHECK], cwd=repo, capture_output=True).returncode == 0


def merge_log(seedbed: SeedbedCli, task_id: int, made: bool = True) -> list[dict[str, Any]]:
    """The events of the task's latest merge run (none yet: [] unless it must be `made`)."""
    runs = [r for r in seedbed.show(task_id)["runs"] if r["kind"] == "merge"]
    assert runs or not made, "no merge run"
    if not runs:
        return []
    return seedbed.log_events(task_id, "--run", str(runs[-1]["number"]))


def messages(events: list[dict[str, Any]]) -> str:
    return "\n".join(e.get("message") or e.get("line") or "" for e in events)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_two_approves_that_break_the_base_together_leave_it_working(
    seedbed: SeedbedCli, checked: str, lib_repo: Path, strategy: str
) -> None:
    first = finish(seedbed, DROP_LIB, "Drop lib")
    second = finish(seedbed, USE_LIB, "Use lib more")  # branched before the first merged

    seedbed.ok("task", "approve", str(first), "--strategy", strategy)
    merged = head(lib_repo, "main")
    result = seedbed("task", "approve", str(second), "--strategy", strategy)

    assert result.code == 1, result
    assert "checks failed on the merge result" in error_line(result)
    assert head(lib_repo, "main") == merged  # the base did not move
    assert git(lib_repo, "status", "--porcelain").strip() == ""
    assert base_passes(lib_repo)
    task = seedbed.show(second)
    assert (task["state"], task["phase"]) == ("awaiting_review", "merge_checks_failed")
    assert "No module named 'lib'" in task["error"]
    log = messages(merge_log(seedbed, second))
    assert "No module named 'lib'" in log  # the check output is in the task's log
    assert "checking the merge result" in log
    # No throwaway worktree is left behind.
    assert ".merge-check" not in git(lib_repo, "worktree", "list")


def test_the_first_approve_lands_without_running_the_checks_again(
    seedbed: SeedbedCli, checked: str, lib_repo: Path
) -> None:
    task_id = finish(seedbed, USE_LIB, "Use lib more")

    seedbed.ok("task", "approve", str(task_id))

    assert seedbed.show(task_id)["state"] == "merged"
    log = messages(merge_log(seedbed, task_id))
    assert "the checks passed on this exact tree" in log
    assert "checking the merge result" not in log


def test_a_base_moved_by_hand_is_checked_and_the_card_says_how_far(
    seedbed: SeedbedCli, checked: str, lib_repo: Path
) -> None:
    task_id = finish(seedbed, USE_LIB, "Use lib more")
    for n in range(3):
        (lib_repo / f"n{n}.txt").write_text(f"{n}\n")
        git(lib_repo, "add", "-A")
        git(lib_repo, "commit", "-q", "-m", f"user commit {n}")

    assert seedbed.show(task_id)["base_moved_since_checks"] == 3
    seedbed.ok("task", "approve", str(task_id))

    log = messages(merge_log(seedbed, task_id))
    assert "main moved 3 commit(s) since the checks ran" in log
    assert "checks on the merge result passed" in log
    assert seedbed.show(task_id)["state"] == "merged"


def test_no_recheck_lands_as_asked_and_says_so(
    seedbed: SeedbedCli, checked: str, lib_repo: Path
) -> None:
    _first, second = one_landed_one_refused(seedbed)

    seedbed.ok("task", "approve", str(second), "--no-recheck")

    assert seedbed.show(second)["state"] == "merged"
    assert "skipped, as asked" in messages(merge_log(seedbed, second))


def test_a_project_without_checks_merges_with_a_note(seedbed: SeedbedCli, lib_repo: Path) -> None:
    seedbed.ok("project", "add", str(lib_repo), "--name", "demo")
    seedbed.ok("profile", "add", "a", "--kind", "command", "--command", USE_LIB)
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "x", "--profile", "a", "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")

    seedbed.ok("task", "approve", str(task_id))

    assert seedbed.show(task_id)["state"] == "merged"
    assert "no check command" in messages(merge_log(seedbed, task_id))


def test_fix_merge_sends_the_check_output_back_with_the_base_merged_in(
    seedbed: SeedbedCli, checked: str, lib_repo: Path
) -> None:
    first, second = one_landed_one_refused(seedbed)
    seedbed("task", "approve", str(second))

    seedbed.ok("task", "fix-merge", str(second))

    task = seedbed.show(second)
    assert (task["state"], task["phase"]) == ("running", "queued")
    assert task["error"] == ""
    refused = seedbed("task", "fix-merge", str(first))
    assert refused.code == 2 and "no failed checks on a merge result" in refused.err


def test_concurrent_approves_queue_and_each_is_checked_on_top_of_the_last(
    seedbed: SeedbedCli, lib_repo: Path, tmp_path: Path
) -> None:
    """Three approves at once from three processes: each waits its turn, each is
    checked on the base the one before left, and the one that breaks it is refused."""
    seedbed.ok("project", "add", str(lib_repo), "--name", "demo", "--check", CHECK)
    a = finish(seedbed, "printf 'A = 1\\n' > a.py", "Add a")
    b = finish(seedbed, DROP_LIB, "Drop lib")
    c = finish(seedbed, USE_LIB, "Use lib more")

    # The merge checks wait until all three approves are asked, whatever the machine's
    # load: the later two must find the queue taken.
    release = tmp_path / "release"
    held = f"while [ ! -e {release} ]; do sleep 0.05; done; {CHECK}"
    seedbed.ok("project", "set", "demo", "--check", held)
    procs = []
    for task_id in (a, b, c):
        procs.append(seedbed.spawn("task", "approve", str(task_id)))
        deadline = time.monotonic() + 30
        while not is_queued_or_merged(seedbed, task_id):  # asked in this order
            assert time.monotonic() < deadline, f"the approve of {task_id} never started"
            time.sleep(0.05)
    release.touch()
    outputs = [p.communicate(timeout=60) for p in procs]
    codes = [p.returncode for p in procs]

    assert codes == [0, 0, 1], outputs
    states = [seedbed.show(t)["phase"] for t in (a, b, c)]
    assert states == ["", "", "merge_checks_failed"]
    assert base_passes(lib_repo)
    assert (lib_repo / "a.py").exists() and not (lib_repo / "lib.py").exists()
    # The later ones said they waited, and c was checked on top of a and b.
    assert "queued: waiting for the merge of task" in messages(merge_log(seedbed, c))
    last = [r for r in seedbed.show(c)["runs"] if r["kind"] == "merge"][-1]
    assert last["status"] == "failed"


def test_an_approve_killed_while_checking_is_undone_by_recovery(
    seedbed: SeedbedCli, lib_repo: Path
) -> None:
    task_id = slow_merge_check(seedbed, lib_repo)
    base = head(lib_repo, "main")

    approving = seedbed.spawn("task", "approve", str(task_id), start_new_session=True)
    run_id = wait_checking(seedbed, task_id)
    assert seedbed.show(task_id)["phase"] == "merging"
    again = seedbed("task", "approve", str(task_id))
    assert again.code == 2 and "being merged already" in again.err
    os.kill(approving.pid, signal.SIGKILL)
    approving.communicate(timeout=10)

    seedbed.ok("run", "--until-idle")  # the engine's start-up recovery

    assert not processes_of_run(seedbed.data_dir, run_id)  # its check was killed
    task = seedbed.show(task_id)
    assert (task["state"], task["phase"]) == ("awaiting_review", "ready")
    assert "approve was interrupted" in task["error"]
    assert head(lib_repo, "main") == base
    seedbed.ok("task", "approve", str(task_id), "--no-recheck")
    assert seedbed.show(task_id)["state"] == "merged"


def test_two_auto_merges_never_break_the_base(
    seedbed: SeedbedCli, checked: str, lib_repo: Path
) -> None:
    """Both run at once and pass their checks on their own branches; the one that lands
    second is checked on top of the first and refused."""
    seedbed.ok(
        "profile", "add", "dropper", "--kind", "command", "--command", f"sleep 1; {DROP_LIB}"
    )
    seedbed.ok("profile", "add", "user", "--kind", "command", "--command", USE_LIB)
    ids = [
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", title, "--profile", profile,
            "--auto-merge", "--start",
        ).out.strip()
        for title, profile in (("Drop lib", "dropper"), ("Use lib more", "user"))
    ]  # fmt: skip

    seedbed.ok("run", "--until-idle")

    phases = sorted(seedbed.show(t)["phase"] for t in ids)
    assert phases == ["", "merge_checks_failed"]
    assert base_passes(lib_repo)
    failed = next(t for t in ids if seedbed.show(t)["phase"] == "merge_checks_failed")
    assert "No module named 'lib'" in messages(merge_log(seedbed, int(failed)))


def test_the_card_says_how_far_the_base_moved_since_the_checks(
    seedbed: SeedbedCli, checked: str, lib_repo: Path, data_dir: Path
) -> None:
    task_id = finish(seedbed, USE_LIB, "Use lib more")
    store = Store.open(data_dir)
    assert [c.base_moved for c in board_cards(Context(store), task_ids=[task_id])] == [0]
    for n in range(2):
        (lib_repo / f"n{n}.txt").write_text(f"{n}\n")
        git(lib_repo, "add", "-A")
        git(lib_repo, "commit", "-q", "-m", f"user commit {n}")

    card = board_cards(Context(store), task_ids=[task_id])[0]

    assert card.base_moved == 2
    assert check_label(card) == "✓ checks · base +2"


def test_the_error_names_what_failed_not_the_last_rule_of_dashes() -> None:
    unittest_output = (
        "ERROR: test_x (tests.test_extra.T.test_x)\n" + "-" * 70 + "\n"
        "Traceback (most recent call last):\n"
        '  File "tests/test_extra.py", line 8, in test_x\n'
        "AttributeError: module 'm' has no attribute 'ichunked'\n\n" + "-" * 70 + "\n"
        "Ran 902 tests in 19.391s\n\nFAILED (errors=1)\n"
    )
    assert telling_lines(unittest_output) == [
        "ERROR: test_x (tests.test_extra.T.test_x)",
        "AttributeError: module 'm' has no attribute 'ichunked'",
        "FAILED (errors=1)",
    ]
    assert telling_lines("compiling\nstep 2 of 2\n") == ["compiling", "step 2 of 2"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_fixed_on_top_of_the_base_it_lands_with_the_fix(
    seedbed: SeedbedCli, checked: str, lib_repo: Path, strategy: str
) -> None:
    """The fix is a merge of the base into the task's branch plus the agent's change: a
    rebase must not drop it (git's rebase drops merge commits)."""
    _first, second = one_landed_one_refused(seedbed, strategy)
    # Refused as a squash, which leaves the branch as it was (a rebase would move it
    # onto the base, and the fix below would need no merge).
    assert seedbed("task", "approve", str(second)).code == 1
    fixed = "printf 'print(2)\\n' > extra.py"  # the agent's fix: no use of lib left
    profile = seedbed.show(second)["profile"]
    seedbed.ok("profile", "set", profile, "--command", fixed)
    seedbed.ok("task", "fix-merge", str(second))
    seedbed.ok("run", "--until-idle")
    assert seedbed.show(second)["phase"] == "ready"
    (lib_repo / "later.txt").write_text("the base moves on again\n")  # → a real rebase
    git(lib_repo, "add", "later.txt")
    git(lib_repo, "commit", "-q", "-m", "later")

    seedbed.ok("task", "approve", str(second), "--strategy", strategy)

    assert seedbed.show(second)["state"] == "merged"
    assert (lib_repo / "extra.py").read_text() == "print(2)\n"
    assert base_passes(lib_repo)


def slow_merge_check(seedbed: SeedbedCli, lib_repo: Path) -> int:
    """A task whose checks are slow on its merge result only (the base gains `slow`)."""
    check = f"if [ -f slow ]; then sleep 60; fi; {CHECK}"
    seedbed.ok("project", "add", str(lib_repo), "--name", "demo", "--check", check)
    task_id = finish(seedbed, USE_LIB, "Use lib more")
    (lib_repo / "slow").write_text("")
    git(lib_repo, "add", "slow")
    git(lib_repo, "commit", "-q", "-m", "slow checks")
    return task_id


def wait_checking(seedbed: SeedbedCli, task_id: int) -> int:
    """Wait until the task's merge check runs (its processes exist); the merge run's id."""
    deadline = time.monotonic() + 30
    while True:
        runs = [r for r in seedbed.show(task_id)["runs"] if r["kind"] == "merge"]
        if runs and processes_of_run(seedbed.data_dir, runs[-1]["id"]):
            return int(runs[-1]["id"])
        assert time.monotonic() < deadline, "the merge check never started"
        time.sleep(0.1)


def test_a_closed_terminal_ends_the_approve_cleanly(seedbed: SeedbedCli, lib_repo: Path) -> None:
    task_id = slow_merge_check(seedbed, lib_repo)
    approving = seedbed.spawn("task", "approve", str(task_id), start_new_session=True)
    run_id = wait_checking(seedbed, task_id)

    approving.send_signal(signal.SIGHUP)
    approving.communicate(timeout=30)

    assert approving.returncode == 130
    task = seedbed.show(task_id)
    assert (task["state"], task["phase"]) == ("awaiting_review", "ready")
    assert [r["status"] for r in task["runs"] if r["kind"] == "merge"] == ["failed"]
    assert not processes_of_run(seedbed.data_dir, run_id)  # its checks were stopped
    assert ".merge-check" not in git(lib_repo, "worktree", "list")


def test_an_engine_that_runs_undoes_an_approve_killed_meanwhile(
    seedbed: SeedbedCli, lib_repo: Path
) -> None:
    task_id = slow_merge_check(seedbed, lib_repo)
    # The approve runs in its own process (no engine answers yet: with one, the command
    # would ask the engine to approve); the engine starts while its checks run.
    approving = seedbed.spawn("task", "approve", str(task_id), start_new_session=True)
    run_id = wait_checking(seedbed, task_id)
    engine = seedbed.spawn("run")
    try:
        deadline = time.monotonic() + 30
        while launch.answering(seedbed.data_dir) is None:
            assert engine.poll() is None, engine.communicate()
            assert time.monotonic() < deadline, "the engine never answered"
            time.sleep(0.05)
        os.kill(approving.pid, signal.SIGKILL)
        approving.communicate(timeout=10)
        assert processes_of_run(seedbed.data_dir, run_id)  # its check outlived it

        deadline = time.monotonic() + 20  # the engine looks every 5 s
        while seedbed.show(task_id)["phase"] != "ready":
            assert time.monotonic() < deadline, seedbed.show(task_id)
            time.sleep(0.2)
        assert "approve was interrupted" in seedbed.show(task_id)["error"]
        assert not processes_of_run(seedbed.data_dir, run_id)
    finally:
        engine.send_signal(signal.SIGTERM)
        engine.communicate(timeout=30)


def test_a_pass_under_other_commands_is_checked_again(
    seedbed: SeedbedCli, checked: str, lib_repo: Path
) -> None:
    task_id = finish(seedbed, USE_LIB, "Use lib more")
    seedbed.ok("project", "set", "demo", "--check", f"true && {CHECK}")

    seedbed.ok("task", "approve", str(task_id))

    log = messages(merge_log(seedbed, task_id))
    assert "the project's commands changed since the checks" in log
    assert "checks on the merge result passed" in log


def process_gone(pid: int, timeout: float) -> bool:
    """Whether the process `pid` ended within `timeout` s (a zombie counts as ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_an_engine_stopped_during_approves_interrupts_them_and_exits(
    seedbed: SeedbedCli, lib_repo: Path, engines: Engines
) -> None:
    """One approve runs its merge checks in the engine, another waits its turn behind it;
    the engine is stopped: both end interrupted at once (checks stopped, base untouched,
    the tasks back in review saying so), each command hears why, and the engine's
    process exits instead of living on until the checks end."""
    check = f"if [ -f slow ]; then sleep 60; fi; {CHECK}"
    seedbed.ok("project", "add", str(lib_repo), "--name", "demo", "--check", check)
    first = finish(seedbed, USE_LIB, "Use lib more")
    second = finish(seedbed, "printf 'A = 1\\n' > a.py", "Add a")
    (lib_repo / "slow").write_text("")
    git(lib_repo, "add", "slow")
    git(lib_repo, "commit", "-q", "-m", "slow checks")
    base = head(lib_repo, "main")
    pid = engines.start()["pid"]

    approving = [engines.spawn("task", "approve", str(first))]
    run_id = wait_checking(seedbed, first)
    approving.append(engines.spawn("task", "approve", str(second)))
    deadline = time.monotonic() + 30
    while "queued: waiting" not in messages(merge_log(seedbed, second, made=False)):
        assert time.monotonic() < deadline, "the second approve never queued"
        time.sleep(0.1)

    stopped_at = time.monotonic()
    engines.command("engine", "stop")
    assert process_gone(pid, 20), "the engine lived on after its stop"
    assert time.monotonic() - stopped_at < 20
    outputs = [p.communicate(timeout=30) for p in approving]

    for process, (_out, err), task_id in zip(approving, outputs, (first, second), strict=True):
        assert process.returncode == 1, err
        assert f"the approve of task {task_id} was interrupted (the engine stopped)" in err
        task = seedbed.show(task_id)
        assert (task["state"], task["phase"]) == ("awaiting_review", "ready"), task
        assert "approve again" in task["error"]
        assert [r["status"] for r in task["runs"] if r["kind"] == "merge"] == ["interrupted"]
    assert not processes_of_run(seedbed.data_dir, run_id)  # its checks were stopped
    assert head(lib_repo, "main") == base
    assert ".merge-check" not in git(lib_repo, "worktree", "list")

    seedbed.ok("task", "approve", str(second), "--no-recheck")  # no engine: in-process
    assert seedbed.show(second)["state"] == "merged"


def test_a_task_stopped_while_it_auto_merges_ends_its_merge_checks(
    seedbed: SeedbedCli, lib_repo: Path, engines: Engines, tmp_path: Path
) -> None:
    """The base moves while the agent works; its auto-merge then checks the merge result
    (slow); the user stops the task: the checks stop, the base stays, the task waits in
    review saying why, at once rather than when the checks would have ended."""
    check = f"if [ -f slow ]; then sleep 60; fi; {CHECK}"
    seedbed.ok("project", "add", str(lib_repo), "--name", "demo", "--check", check)
    release = tmp_path / "release"
    agent = f"printf 'A = 1\\n' > a.py; while [ ! -e {release} ]; do sleep 0.05; done"
    seedbed.ok("profile", "add", "slowpoke", "--kind", "command", "--command", agent)
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Add a", "--profile", "slowpoke",
            "--auto-merge",
        ).out.strip()
    )  # fmt: skip
    engines.start()
    seedbed.ok("task", "start", str(task_id))
    deadline = time.monotonic() + 30
    while not (
        seedbed.show(task_id)["runs"] and "implementing" in messages(seedbed.log_events(task_id))
    ):  # its worktree made
        assert time.monotonic() < deadline, "the agent never started"
        time.sleep(0.1)
    (lib_repo / "slow").write_text("")
    git(lib_repo, "add", "slow")
    git(lib_repo, "commit", "-q", "-m", "slow checks")
    base = head(lib_repo, "main")
    release.touch()
    run_id = wait_checking(seedbed, task_id)

    stopped_at = time.monotonic()
    seedbed.ok("task", "stop", str(task_id))
    deadline = time.monotonic() + 20
    while seedbed.show(task_id)["state"] == "running":
        assert time.monotonic() < deadline, "the stopped task never left running"
        time.sleep(0.1)
    assert time.monotonic() - stopped_at < 20

    task = seedbed.show(task_id)
    assert task["state"] == "awaiting_review", task
    merges = [r for r in task["runs"] if r["kind"] == "merge"]
    assert [r["status"] for r in merges] == ["interrupted"]
    assert "was interrupted (the task was stopped)" in messages(merge_log(seedbed, task_id))
    assert not processes_of_run(seedbed.data_dir, run_id)
    assert head(lib_repo, "main") == base
