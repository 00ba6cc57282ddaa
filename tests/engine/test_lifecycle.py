"""A task's whole life through the real engine: worktree, agent, commit, checks, review."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from seedbed.domain.models import Control
from seedbed.domain.slug import one_line
from seedbed.store import Store
from tests.conftest import SeedbedCli, git


def add_profile(seedbed: SeedbedCli, command: str, name: str = "agent", *extra: str) -> None:
    seedbed.ok("profile", "add", name, "--kind", "command", "--command", command, *extra)


def add_task(seedbed: SeedbedCli, title: str = "Do it", *extra: str) -> int:
    return int(seedbed.ok("task", "add", "--project", "demo", "--title", title, *extra).out)


def run_engine(seedbed: SeedbedCli, *extra: str) -> None:
    seedbed.ok("run", "--until-idle", *extra)


def log_lines(seedbed: SeedbedCli, task_id: int, *extra: str) -> list[str]:
    return seedbed.ok("task", "log", str(task_id), *extra).out.splitlines()


def test_a_task_goes_from_planned_to_merged(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", "test -f hello.txt")
    add_profile(seedbed, 'echo "writing"; echo hello > hello.txt')
    task_id = add_task(seedbed, "Say hello", "--prompt", "write hello.txt")
    assert seedbed.show(task_id)["state"] == "planned"

    seedbed.ok("task", "start", str(task_id))
    assert (seedbed.show(task_id)["state"], seedbed.show(task_id)["phase"]) == ("running", "queued")
    run_engine(seedbed)

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready")
    assert shown["branch"] == f"seedbed/{task_id}-say-hello"
    assert shown["diff"] == {"files": 1, "insertions": 1, "deletions": 0}
    assert shown["checks"]["status"] == "passed" and shown["checks"]["exit_code"] == 0
    [run] = shown["runs"]
    assert (run["kind"], run["status"], run["exit_code"]) == ("implement", "succeeded", 0)
    assert run["started_at"] <= run["ended_at"]
    worktree = Path(shown["worktree"])
    assert worktree.is_relative_to(seedbed.data_dir / "worktrees")
    # The engine committed the agent's work as the repository's user, naming title and run.
    author = git(worktree, "log", "-1", "--format=%an <%ae>%n%B")
    assert author.startswith("Test Author <author@example.com>\nSay hello\n")
    assert "run 1" in author
    assert git(worktree, "status", "--porcelain") == ""
    assert "writing" in log_lines(seedbed, task_id)

    seedbed.ok("task", "approve", str(task_id))
    shown = seedbed.show(task_id)
    assert shown["state"] == "merged"
    assert (repo / "hello.txt").read_text() == "hello\n"
    assert git(repo, "status", "--porcelain") == ""
    assert not worktree.exists()


def test_failed_checks_keep_their_output(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok(
        "project", "add", str(repo), "--name", "demo", "--check", "echo 3 tests failed; exit 3"
    )
    add_profile(seedbed, "echo change > change.txt")
    task_id = add_task(seedbed, "Break things", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "checks_failed")
    assert shown["checks"]["status"] == "failed"
    assert shown["checks"]["exit_code"] == 3
    assert "3 tests failed" in shown["checks"]["output_tail"]
    assert "[check] 3 tests failed" in log_lines(seedbed, task_id)


def test_a_failing_agent_is_agent_failed_and_its_work_is_committed(
    seedbed: SeedbedCli, project: str
) -> None:
    add_profile(seedbed, "echo partial > partial.txt; echo oops >&2; exit 4")
    task_id = add_task(seedbed, "Fail", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["runs"][0]["exit_code"] == 4
    assert shown["runs"][0]["status"] == "failed"
    assert "code 4" in shown["error"]
    assert shown["diff"]["files"] == 1
    assert shown["checks"]["status"] == "none"


def test_a_task_sent_back_to_running_no_longer_shows_the_last_runs_error(
    seedbed: SeedbedCli, project: str
) -> None:
    add_profile(seedbed, "echo oops >&2; exit 4")
    task_id = add_task(seedbed, "Fail twice", "--start")
    run_engine(seedbed)
    assert "code 4" in seedbed.show(task_id)["error"]
    # Resumed: queued for its next run, which has no error yet.
    seedbed.ok("task", "start", str(task_id))
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"], shown["error"]) == ("running", "queued", "")
    run_engine(seedbed)
    assert "code 4" in seedbed.show(task_id)["error"]
    # Sent back with a message: the same.
    seedbed.ok("task", "request-changes", str(task_id), "--message", "try again")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["error"]) == ("running", "")


def test_an_agent_command_that_does_not_exist(seedbed: SeedbedCli, project: str) -> None:
    add_profile(seedbed, "no-such-agent-binary-xyz --go")
    task_id = add_task(seedbed, "Missing", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["runs"][0]["exit_code"] == 127
    assert "not found" in shown["error"]
    assert any("no-such-agent-binary-xyz" in line for line in log_lines(seedbed, task_id))


def test_an_agent_that_never_ends_is_timed_out(seedbed: SeedbedCli, project: str) -> None:
    add_profile(seedbed, "echo started; sleep 600", "sleeper", "--timeout", "1")
    task_id = add_task(seedbed, "Sleep", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["runs"][0]["status"] == "timed_out"
    assert "timed out after 1 s" in shown["error"]
    assert shown["runs"][0]["ended_at"] - shown["runs"][0]["started_at"] < 10


def test_a_huge_output_line_is_capped(seedbed: SeedbedCli, project: str) -> None:
    add_profile(seedbed, "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo after")
    task_id = add_task(seedbed, "Flood", "--start")
    run_engine(seedbed)
    lines = seedbed.ok("task", "log", str(task_id), "--json").out.splitlines()
    assert lines[-1]  # the log is readable
    store = Store.open(seedbed.data_dir)
    [run] = store.list_runs(task_id)
    events = [data for _seq, data in store.read_events(run.id)]
    big = next(e for e in events if '"cut":' in e and '"cut":0' not in e)
    assert '"cut":' + str(5_000_000 - 64 * 1024) in big
    assert any('"line":"after"' in e for e in events)


def test_setup_command_and_copied_files(seedbed: SeedbedCli, repo: Path) -> None:
    (repo / ".env").write_text("SECRET_URL=local\n")  # untracked, like a real .env
    (repo / "config").mkdir()
    (repo / "config" / "dev.local").write_text("dev\n")
    seedbed.ok(
        "project", "add", str(repo), "--name", "demo",
        "--copy", ".env", "--copy", "config/*.local",
        "--setup", "echo setting up; cat .env > setup-saw.txt",
    )  # fmt: skip
    add_profile(seedbed, "cat config/dev.local > agent-saw.txt")
    task_id = add_task(seedbed, "Use env", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    worktree = Path(shown["worktree"])
    assert (worktree / "setup-saw.txt").read_text() == "SECRET_URL=local\n"
    assert (worktree / "agent-saw.txt").read_text() == "dev\n"
    assert "[setup] setting up" in log_lines(seedbed, task_id)
    # The copied local files stay local: not in the task's commit, not merged.
    committed = git(worktree, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert "agent-saw.txt" in committed and "setup-saw.txt" in committed
    assert ".env" not in committed and "config/dev.local" not in committed
    assert (worktree / ".env").exists()
    seedbed.ok("task", "approve", str(task_id))
    merged = git(repo, "ls-tree", "-r", "--name-only", "main").split()
    assert "agent-saw.txt" in merged and ".env" not in merged
    assert (repo / ".env").read_text() == "SECRET_URL=local\n"


def test_a_failing_setup_stops_before_the_agent(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--setup", "exit 9")
    add_profile(seedbed, "touch agent-ran")
    task_id = add_task(seedbed, "Setup fails", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "setup command exited with code 9" in shown["error"]
    assert not (Path(shown["worktree"]) / "agent-ran").exists()


def test_request_changes_runs_again_in_the_same_worktree(seedbed: SeedbedCli, project: str) -> None:
    add_profile(
        seedbed,
        'if [ -n "$SEEDBED_FOLLOW_UP" ]; then cat > follow-up.txt; else cat > first.txt; fi',
    )
    task_id = add_task(seedbed, "Two rounds", "--prompt", "first prompt", "--start")
    run_engine(seedbed)
    first = seedbed.show(task_id)
    seedbed.ok("task", "request-changes", str(task_id), "--message", 'Rename "x"\nand $(y)')
    assert seedbed.show(task_id)["phase"] == "queued"
    run_engine(seedbed)
    second = seedbed.show(task_id)
    assert (second["state"], second["phase"]) == ("awaiting_review", "ready")
    assert (second["branch"], second["worktree"]) == (first["branch"], first["worktree"])
    assert [r["kind"] for r in second["runs"]] == ["implement", "fix"]
    worktree = Path(second["worktree"])
    assert (worktree / "first.txt").read_text() == "first prompt"
    assert (worktree / "follow-up.txt").read_text() == 'Rename "x"\nand $(y)'
    assert second["diff"]["files"] == 2
    assert len(git(worktree, "log", "--format=%H", "main..HEAD").split()) == 2
    assert "run 2" in git(worktree, "log", "-1", "--format=%B")


def test_hostile_titles_stay_text(seedbed: SeedbedCli, project: str, tmp_path: Path) -> None:
    title = "Fix \"quotes\" 'here'\nand $(touch pwned) `touch pwned2` ünïcödé 🚀; rm -rf /"
    add_profile(seedbed, 'printf "%s" "$SEEDBED_TASK_TITLE" > title.txt')
    task_id = add_task(seedbed, title, "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert shown["title"] == title
    assert shown["branch"] == f"seedbed/{task_id}-fix-quotes-here-and-touch-pwned-touch-pw"
    worktree = Path(shown["worktree"])
    assert (worktree / "title.txt").read_text() == title
    assert git(worktree, "log", "-1", "--format=%s").strip() == one_line(title)
    for root in (tmp_path, worktree, Path.cwd()):
        assert not list(root.rglob("pwned*"))


def test_an_existing_branch_is_refused_and_left_alone(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    add_profile(seedbed, "echo x > x.txt")
    task_id = add_task(seedbed, "Taken")
    branch = f"seedbed/{task_id}-taken"
    git(repo, "branch", branch)
    before = git(repo, "rev-parse", branch)
    seedbed.ok("task", "start", str(task_id))
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "already exists" in shown["error"]
    assert git(repo, "rev-parse", branch) == before


def test_a_missing_base_branch_fails_clearly(seedbed: SeedbedCli, project: str, repo: Path) -> None:
    add_profile(seedbed, "echo x > x.txt")
    git(repo, "checkout", "-q", "-b", "other")
    git(repo, "branch", "-q", "-D", "main")
    task_id = add_task(seedbed, "No base", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "main" in shown["error"]


def test_board_order_and_parallel_slots(seedbed: SeedbedCli, project: str, tmp_path: Path) -> None:
    slots = tmp_path / "slots"
    slots.mkdir()
    add_profile(
        seedbed,
        f'echo "$SEEDBED_TASK_ID" >> {tmp_path}/order; touch {slots}/$SEEDBED_TASK_ID; '
        f"ls {slots} | wc -l >> {tmp_path}/peak; sleep 0.3; rm {slots}/$SEEDBED_TASK_ID",
    )
    ids = [add_task(seedbed, f"Task {n}") for n in range(5)]
    seedbed.ok("task", "move", str(ids[4]), "--before", str(ids[0]))
    for task_id in ids:
        seedbed.ok("task", "start", str(task_id))
    run_engine(seedbed, "--max-parallel", "1")
    order = [int(x) for x in (tmp_path / "order").read_text().split()]
    assert order == [ids[4], *ids[:4]]
    assert max(int(x) for x in (tmp_path / "peak").read_text().split()) == 1

    (tmp_path / "peak").unlink()
    more = [add_task(seedbed, f"More {n}", "--start") for n in range(5)]
    run_engine(seedbed, "--max-parallel", "2")
    peaks = [int(x) for x in (tmp_path / "peak").read_text().split()]
    assert max(peaks) == 2
    assert all(seedbed.show(t)["phase"] == "ready" for t in more)


def test_requeue_and_start_reuse_the_worktree(seedbed: SeedbedCli, project: str) -> None:
    add_profile(seedbed, 'echo "$SEEDBED_RUN_NUMBER" >> runs.txt')
    task_id = add_task(seedbed, "Again", "--start")
    run_engine(seedbed)
    worktree = seedbed.show(task_id)["worktree"]
    seedbed.ok("task", "start", str(task_id))  # resume from awaiting review
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert shown["worktree"] == worktree
    assert (Path(worktree) / "runs.txt").read_text() == "1\n2\n"


def test_a_prompt_too_long_for_the_environment_arrives_on_stdin(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    prompt = tmp_path / "prompt.md"
    prompt.write_text("line of the prompt\n" * 12_000)  # 228 KB: over Linux's 128 KiB
    add_profile(seedbed, 'cat > got.txt; printf "%s" "${#SEEDBED_PROMPT}" > envlen.txt')
    task_id = add_task(seedbed, "Long", "--prompt-file", str(prompt), "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert shown["phase"] == "ready", shown["error"]
    worktree = Path(shown["worktree"])
    assert (worktree / "got.txt").read_text() == prompt.read_text()
    assert (worktree / "envlen.txt").read_text() == "0"


def test_a_nul_byte_in_a_prompt_is_refused(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    prompt = tmp_path / "prompt.md"
    prompt.write_bytes(b"do\x00it")
    result = seedbed("task", "add", "--project", "demo", "--title", "T", "--prompt-file", prompt)
    assert result.code == 2 and result.err == "error: the prompt contains a NUL byte\n"


def test_a_stale_stop_request_does_not_cancel_a_later_follow_up(
    seedbed: SeedbedCli, project: str
) -> None:
    """A stop that arrives just as the run ends must not stop the next one."""
    add_profile(seedbed, "echo $SEEDBED_RUN_NUMBER >> runs.txt")
    task_id = add_task(seedbed, "Race", "--start")
    run_engine(seedbed)
    Store.open(seedbed.data_dir).update_task(task_id, control=Control.STOP)
    seedbed.ok("task", "request-changes", str(task_id), "--message", "again")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["phase"], len(shown["runs"])) == ("ready", 2)


def test_task_show_reports_the_checks_of_the_latest_run(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", "test ! -f broken")
    add_profile(seedbed, 'if [ -n "$SEEDBED_FOLLOW_UP" ]; then touch broken; exit 1; fi; touch ok')
    task_id = add_task(seedbed, "Checks", "--start")
    run_engine(seedbed)
    assert seedbed.show(task_id)["checks"]["status"] == "passed"
    seedbed.ok("task", "request-changes", str(task_id), "--message", "break it")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert shown["phase"] == "agent_failed"
    assert shown["checks"]["status"] == "none"  # not run 1's "passed"


def test_the_diff_budget_is_reported(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--diff-budget", "3")
    add_profile(seedbed, "seq 1 5 > five.txt")
    task_id = add_task(seedbed, "Big diff", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["diff_budget"], shown["over_budget"]) == (3, True)


def test_an_engine_that_stops_says_so_on_the_runs_it_stopped(
    seedbed: SeedbedCli, project: str
) -> None:
    add_profile(seedbed, "echo started; sleep 60")
    task_id = add_task(seedbed, "Cut short", "--start")
    with seedbed.spawn("run") as engine:
        try:
            deadline = time.monotonic() + 30
            while seedbed.show(task_id)["phase"] != "implementing":
                assert time.monotonic() < deadline, "the run never started"
                time.sleep(0.1)
            engine.send_signal(signal.SIGTERM)
            engine.communicate(timeout=30)
        finally:
            engine.kill()
            engine.communicate()
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
    assert "the engine stopped" in shown["runs"][-1]["reason"]


def test_a_run_that_changed_nothing_skips_the_checks(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", "echo checked")
    add_profile(seedbed, "echo nothing to do here")
    task_id = add_task(seedbed, "Nothing", "--start")
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready")
    assert shown["diff"] == {"files": 0, "insertions": 0, "deletions": 0}
    assert shown["checks"]["status"] == "none"
    lines = log_lines(seedbed, task_id)
    assert any("no changes: checks skipped" in line for line in lines)
    assert "[check] checked" not in lines
    assert git(Path(shown["worktree"]), "rev-parse", "HEAD") == git(repo, "rev-parse", "main")


def test_a_resumed_run_that_adds_nothing_to_earlier_work_still_runs_the_checks(
    seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", "echo checked")
    # The first run writes a file and fails; the resumed one changes nothing more.
    add_profile(
        seedbed, 'if [ -f work.txt ]; then echo "done already"; else echo w > work.txt; exit 1; fi'
    )
    task_id = add_task(seedbed, "Twice", "--start")
    run_engine(seedbed)
    assert seedbed.show(task_id)["phase"] == "agent_failed"
    seedbed.ok("task", "start", str(task_id))
    run_engine(seedbed)
    shown = seedbed.show(task_id)
    assert [r["kind"] for r in shown["runs"]] == ["implement", "implement"]
    assert (shown["phase"], shown["checks"]["status"]) == ("ready", "passed")
    assert "[check] checked" in log_lines(seedbed, task_id)
