"""Issue 15: what an agent, or a killed git, can do to a task's worktree and repository.

Real git everywhere: a commit killed by SIGKILL in a slow clean filter, a real outer
repository around the data dir, an agent (a command profile) that switches branches,
makes a repository of its own, plants a filter in the shared config, or writes a key.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seedbed.agents.process import RUN_MARKER_VARIABLE, run_marker
from seedbed.core import shared_config
from seedbed.core.worktree_guard import clear_stale_locks
from seedbed.store import Store
from seedbed.vcs.git import is_ancestor
from tests.conftest import SeedbedCli, git, make_repo

KEY = "sk-test-9f8e7d6c5b4a39281706"


def run_agent(seedbed: SeedbedCli, command: str, title: str = "Do it") -> int:
    """A command profile running `command`, a task using it, run to its end; its id."""
    profile = f"p{len(seedbed.ok('profile', 'list', '--json').json()) + 1}"
    seedbed.ok("profile", "add", profile, "--kind", "command", "--command", command)
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", title, "--profile", profile, "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    return int(task_id)


def worktree_of(seedbed: SeedbedCli, task_id: int) -> Path:
    return Path(seedbed.show(task_id)["worktree"])


def messages(seedbed: SeedbedCli, task_id: int) -> str:
    return "\n".join(str(e.get("message", "")) for e in seedbed.log_events(task_id))


def wait_for_file(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def all_objects(repo: Path) -> bytes:
    """Every object's content in the repository (loose and packed, reachable or not)."""
    return subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True,
        check=True,
    ).stdout


# -- a stale index.lock ----------------------------------------------------------------


def kill_git_mid_add(worktree: Path, common: Path) -> Path:
    """A real `git add` in `worktree` killed by SIGKILL (its whole group) while a slow clean
    filter runs: git leaves its index.lock behind. The lock's path."""
    gitdir = Path(git(worktree, "rev-parse", "--path-format=absolute", "--git-dir").strip())
    attributes = common / "info" / "attributes"
    attributes.parent.mkdir(exist_ok=True)
    attributes.write_text("* filter=slow\n")
    (worktree / "late.txt").write_text("written as the engine died\n")
    proc = subprocess.Popen(
        ["git", "-c", "filter.slow.clean=sleep 30; cat", "add", "-A"],
        cwd=worktree,
        start_new_session=True,
    )
    lock = gitdir / "index.lock"
    wait_for_file(lock)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    attributes.unlink()
    assert lock.exists()
    return lock


def test_stale_index_lock_is_removed_and_resume_and_approve_work(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    # The engine's whole process group is killed while its agent runs (a closed terminal)…
    seedbed.ok(
        "profile", "add", "slow", "--kind", "command",
        "--command", 'echo "first" > work.txt; sleep 600 & wait',
    )  # fmt: skip
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Slow", "--profile", "slow", "--start"
        ).out
    )
    engine = seedbed.spawn("run", "--max-parallel", "2", start_new_session=True)
    deadline = time.monotonic() + 30
    while seedbed.show(task_id)["phase"] != "implementing":
        assert time.monotonic() < deadline, "the agent never started"
        time.sleep(0.05)
    worktree = worktree_of(seedbed, task_id)
    wait_for_file(worktree / "work.txt")
    os.killpg(engine.pid, signal.SIGKILL)
    engine.communicate(timeout=30)
    # … during its snapshot commit: git's index.lock is left in the worktree.
    lock = kill_git_mid_add(worktree, repo / ".git")

    seedbed.ok("run", "--until-idle")  # recovery
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
    assert not lock.exists()
    assert f"removed a stale {lock.name}" in messages(seedbed, task_id)
    assert "late.txt" in git(worktree, "ls-files")  # recovery committed what was left

    # Another one, left between runs: resume and approve both get past it.
    lock = kill_git_mid_add(worktree, repo / ".git")
    seedbed.ok("profile", "set", "slow", "--command", "echo second >> work.txt")
    seedbed.ok("task", "start", str(task_id))
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown
    assert f"removed a stale {lock.name}" in messages(seedbed, task_id)

    lock = kill_git_mid_add(worktree, repo / ".git")
    seedbed.ok("task", "approve", str(task_id))
    assert seedbed.show(task_id)["state"] == "merged"
    assert (repo / "late.txt").exists() and "second" in (repo / "work.txt").read_text()
    assert f"removed a stale {lock.name}" in messages(seedbed, task_id)  # the merge run's log


def marked_processes(marker: str) -> list[int]:
    """The live processes whose environment holds `marker` (a run's SEEDBED_RUN)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                variables = (entry / "environ").read_bytes().split(b"\0")
                if f"{RUN_MARKER_VARIABLE}={marker}".encode() in variables:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_the_engines_own_snapshot_commit_killed_leaves_a_lock_that_is_removed(
    seedbed: SeedbedCli,
    project: str,
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A closed terminal: the engine's process group is killed while its own `git add` of
    the snapshot commit runs (held in a clean filter), and so is that git (it runs in a
    session of its own). Git's index.lock is left; the next engine removes it, says so,
    and commits the work; resume and approve work."""
    monkeypatch.setenv("SEEDBED_GIT_TIMEOUT", "20")  # a filter left blocking is cut soon
    started, release = tmp_path / "filter-started", tmp_path / "release"
    git(repo, "config", "filter.block.clean",
        f"touch {started}; while [ ! -e {release} ]; do sleep 0.05; done; cat")  # fmt: skip
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("late.txt filter=block\n")
    seedbed.ok("profile", "add", "writer", "--kind", "command", "--command", "echo late > late.txt")
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Late", "--profile", "writer",
            "--start",
        ).out
    )  # fmt: skip
    engine = seedbed.spawn("run", start_new_session=True)
    try:
        wait_for_file(started, timeout=30)
    finally:
        store = Store.open(seedbed.data_dir)
        run = store.list_runs(task_id)[-1]
        marker = run_marker(seedbed.data_dir, run.id)
        gits = marked_processes(marker)
        os.killpg(engine.pid, signal.SIGKILL)
        engine.communicate(timeout=30)
        for pid in gits:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
    worktree = store.get_task(task_id).worktree  # (`task show` would run the filter)
    assert worktree is not None
    lock = repo / ".git" / "worktrees" / worktree.name / "index.lock"
    assert gits and lock.exists()  # the engine's own git, killed mid-commit, left it
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in gits):
        assert time.monotonic() < deadline, "the killed git lingers"
        time.sleep(0.02)
    release.touch()  # the filter passes files through from here on

    seedbed.ok("run", "--until-idle")  # recovery
    assert not lock.exists()
    assert f"removed a stale index.lock that no live git process held ({lock})" in messages(
        seedbed, task_id
    )
    assert "late.txt" in git(worktree, "ls-files")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted"), shown

    seedbed.ok("profile", "set", "writer", "--command", "echo more > more.txt")
    seedbed.ok("task", "start", str(task_id))
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown
    seedbed.ok("task", "approve", str(task_id))
    assert seedbed.show(task_id)["state"] == "merged"
    assert (repo / "late.txt").read_text() == "late\n" and (repo / "more.txt").exists()


def test_a_lock_a_live_git_holds_is_left_alone(seedbed: SeedbedCli, project: str) -> None:
    task_id = run_agent(seedbed, "echo hi > work.txt")
    worktree = worktree_of(seedbed, task_id)
    gitdir = Path(git(worktree, "rev-parse", "--path-format=absolute", "--git-dir").strip())
    # A process of someone else's holding the lock open (as git does while it writes).
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; f=open(sys.argv[1],'w'); time.sleep(60)",
         str(gitdir / "index.lock")],
    )  # fmt: skip
    try:
        wait_for_file(gitdir / "index.lock")
        time.sleep(0.2)
        assert clear_stale_locks(worktree) == []
        assert (gitdir / "index.lock").exists()
    finally:
        holder.kill()
        holder.wait()
    assert [p.name for p in clear_stale_locks(worktree)] == ["index.lock"]


# -- commits into the wrong repository -------------------------------------------------


def test_agent_deleting_dot_git_does_not_commit_into_an_outer_repository(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    outer = make_repo(tmp_path, {"outer.txt": "the user's other repository\n"})
    head = git(outer, "rev-parse", "HEAD").strip()
    task_id = run_agent(seedbed, "rm .git; echo work > work.txt")
    shown = seedbed.show(task_id)
    worktree = Path(shown["worktree"])
    assert git(outer, "rev-parse", "HEAD").strip() == head  # nothing landed there
    assert git(outer, "diff", "--cached", "--name-only") == ""
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == (
        f"the worktree {worktree} is no longer a git worktree of {project_path(seedbed)} "
        "(its .git file is missing); the work is left there"
    )
    assert (worktree / "work.txt").read_text() == "work\n"
    # Resuming says the same, and still commits nothing in the outer repository.
    seedbed.ok("task", "start", str(task_id))
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "is no longer a git worktree of" in shown["error"], shown["error"]
    assert git(outer, "rev-parse", "HEAD").strip() == head


def test_a_dot_git_pointing_at_the_main_checkout_is_refused(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    main = git(repo, "rev-parse", "main").strip()
    task_id = run_agent(seedbed, f"echo 'gitdir: {repo}/.git' > .git; echo work > work.txt")
    shown = seedbed.show(task_id)
    assert git(repo, "rev-parse", "main").strip() == main  # the user's branch did not move
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "(its .git file points elsewhere)" in shown["error"]


def test_a_planner_deleting_dot_git_does_not_reset_an_outer_repository(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    outer = make_repo(tmp_path, {"outer.txt": "the user's other repository\n"})
    (outer / "outer.txt").write_text("the user's work in progress\n")
    seedbed.ok("profile", "add", "planner", "--kind", "command", "--command", "rm .git")
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Plan", "--profile", "planner",
        "--plan-first", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    assert (outer / "outer.txt").read_text() == "the user's work in progress\n"
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed"), shown
    assert shown["error"].startswith(f"the worktree {shown['worktree']} is no longer a git")


def project_path(seedbed: SeedbedCli) -> str:
    return str(Store.open(seedbed.data_dir).list_projects()[0].path)


# -- an agent that switches branches ---------------------------------------------------


COMMIT = "git -c user.name=a -c user.email=a@b commit -qm"


def test_work_on_a_new_branch_comes_back_to_the_task_branch(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task_id = run_agent(
        seedbed,
        f"git checkout -q -b elsewhere && echo one > one.txt && git add one.txt && "
        f"{COMMIT} one && echo two > two.txt",
    )
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown
    worktree = Path(shown["worktree"])
    assert git(worktree, "symbolic-ref", "HEAD").strip() == f"refs/heads/{shown['branch']}"
    files = git(repo, "ls-tree", "-r", "--name-only", shown["branch"]).split()
    assert {"one.txt", "two.txt"} <= set(files)
    assert "branch 'elsewhere'" in messages(seedbed, task_id)
    # The other branch is where the agent left it, not moved by Seedbed.
    assert "one.txt" in git(repo, "ls-tree", "-r", "--name-only", "elsewhere")
    assert "two.txt" not in git(repo, "ls-tree", "-r", "--name-only", "elsewhere")


def test_work_on_an_unrelated_branch_fails_the_run_saying_where(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    git(repo, "branch", "users-feature")
    before = git(repo, "rev-parse", "users-feature").strip()
    task_id = run_agent(
        seedbed,
        "echo mine > mine.txt && git add mine.txt && "
        f"{COMMIT} mine && git checkout -q users-feature && echo other > other.txt && "
        f"git add other.txt && {COMMIT} other && echo loose > loose.txt",
    )
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed"), shown
    moved = git(repo, "rev-parse", "users-feature").strip()
    assert moved != before  # the agent's own commit; Seedbed adds none to it
    assert git(repo, "rev-parse", "users-feature~1").strip() == before
    assert shown["error"].startswith(
        f"the agent switched the worktree to branch 'users-feature' (at {moved[:10]})"
    )
    assert (Path(shown["worktree"]) / "loose.txt").exists()


def test_commits_on_the_base_branch_fail_the_run_and_move_nothing_more(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    git(repo, "checkout", "-q", "-b", "elsewhere")  # the user's checkout leaves main free
    task_id = run_agent(
        seedbed,
        f"git checkout -q main && echo sneaky > sneaky.txt && git add sneaky.txt && "
        f"{COMMIT} sneaky",
    )
    shown = seedbed.show(task_id)
    moved = git(repo, "rev-parse", "main").strip()
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed"), shown
    assert shown["error"].startswith(
        f"the agent switched the worktree to the base branch 'main' and committed there "
        f"(it is at {moved[:10]})"
    )
    assert (
        git(repo, "rev-parse", shown["branch"]).strip() == git(repo, "rev-parse", "main~1").strip()
    )


def user_branch(repo: Path, name: str = "userbranch") -> str:
    """A branch of the user's made from main before any task, with a commit "user work";
    its tip. The user's checkout stays on main."""
    git(repo, "checkout", "-q", "-b", name)
    (repo / "user.txt").write_text("the user's own work\n")
    git(repo, "add", "user.txt")
    git(repo, "commit", "-qm", "user work")
    git(repo, "checkout", "-q", "main")
    return git(repo, "rev-parse", name).strip()


def test_a_planner_switching_to_a_users_branch_does_not_reset_it(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    users = user_branch(repo)
    seedbed.ok(
        "profile", "add", "planner", "--kind", "command",
        "--command", "git checkout -q userbranch; echo PLAN",
    )  # fmt: skip
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Plan", "--profile", "planner",
        "--plan-first", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    assert git(repo, "rev-parse", "userbranch").strip() == users  # the user's commit stays
    shown = seedbed.show(task_id)
    worktree = Path(shown["worktree"])
    assert git(worktree, "symbolic-ref", "HEAD").strip() == f"refs/heads/{shown['branch']}"
    assert git(repo, "rev-parse", shown["branch"]).strip() == git(repo, "rev-parse", "main").strip()
    assert not (worktree / "user.txt").exists()
    assert "branch 'userbranch'" in messages(seedbed, task_id)


def test_a_reviewer_switching_to_a_users_branch_does_not_reset_it(
    seedbed: SeedbedCli, repo: Path
) -> None:
    users = user_branch(repo)
    seedbed.ok(
        "profile", "add", "critic", "--kind", "command",
        "--command", "git checkout -q userbranch; echo x > review.txt; echo 'Looks ok?'",
    )  # fmt: skip
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--reviewer", "critic")
    task_id = run_agent(seedbed, "echo work > work.txt")
    assert git(repo, "rev-parse", "userbranch").strip() == users
    shown = seedbed.show(task_id)
    worktree = Path(shown["worktree"])
    assert git(worktree, "symbolic-ref", "HEAD").strip() == f"refs/heads/{shown['branch']}"
    assert "work.txt" in git(repo, "ls-tree", "-r", "--name-only", shown["branch"])
    assert not (worktree / "review.txt").exists() and not (worktree / "user.txt").exists()


def test_a_users_existing_branch_is_not_adopted_into_the_task(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    """The user's branch descends from the task's tip (the task has no commits yet), yet
    its commits are the user's: a task that took them would merge them on approve."""
    users = user_branch(repo)
    main = git(repo, "rev-parse", "main").strip()
    task_id = run_agent(seedbed, "git checkout -q userbranch && echo agent > agent.txt")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed"), shown
    assert git(repo, "rev-parse", shown["branch"]).strip() == main
    assert git(repo, "rev-parse", "userbranch").strip() == users
    assert shown["error"].startswith(
        f"the agent switched the worktree to branch 'userbranch' (at {users[:10]})"
    )
    # A new branch the agent makes off the user's branch holds the user's commit too.
    task_id = run_agent(
        seedbed,
        f"git checkout -q -b mine userbranch && echo a > a.txt && git add a.txt && {COMMIT} a",
        title="Again",
    )
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed"), shown
    assert git(repo, "rev-parse", shown["branch"]).strip() == main
    assert "branch 'mine'" in shown["error"]


# -- a nested repository ---------------------------------------------------------------


def test_nested_repository_is_refused_not_committed_as_a_gitlink(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task_id = run_agent(
        seedbed,
        f"mkdir lib && cd lib && git init -q && echo x > f.txt && git add f.txt && "
        f"{COMMIT} x && cd .. && echo top > top.txt",
    )
    shown = seedbed.show(task_id)
    tree = git(repo, "ls-tree", "-r", shown["branch"])
    assert "commit" not in tree.split()  # no gitlink
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed"), shown
    assert "lib/" in shown["error"] and "a git repository of its own" in shown["error"]
    assert (Path(shown["worktree"]) / "lib" / "f.txt").exists()


# -- the user's repository configuration -----------------------------------------------


def test_config_planted_by_the_agent_is_restored_before_the_commit(
    seedbed: SeedbedCli, project: str, repo: Path, tmp_path: Path
) -> None:
    config = repo / ".git" / "config"
    original = config.read_bytes()
    pwned = tmp_path / "pwned"
    task_id = run_agent(
        seedbed,
        f"git config filter.evil.clean 'touch {pwned}; cat' && "
        "echo '* filter=evil' > .gitattributes && echo work > work.txt && "
        "printf '#!/bin/sh\\ntouch /tmp/x\\n' > $(git rev-parse --git-common-dir)/hooks/pre-commit"
        " && ln -s /bin/true $(git rev-parse --git-common-dir)/hooks/post-merge",
    )
    assert config.read_bytes() == original
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert not os.path.lexists(repo / ".git" / "hooks" / "post-merge")
    assert not pwned.exists()  # the filter never ran, under Seedbed or after
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed"), shown
    assert "filter.evil.clean" in shown["error"]
    assert "hooks/pre-commit" in shown["error"] and "hooks/post-merge" in shown["error"]
    assert "work.txt" in git(repo, "ls-tree", "-r", "--name-only", shown["branch"])
    git(repo, "status")  # the user's next git command
    assert not pwned.exists()


def test_a_filter_planted_in_the_worktrees_own_config_never_runs(
    seedbed: SeedbedCli, project: str, repo: Path, tmp_path: Path
) -> None:
    """`extensions.worktreeConfig` then `git config --worktree`: the plant lives in the
    worktree's config.worktree, which git reads only while the extension is on."""
    pwned = tmp_path / "pwned"
    task_id = run_agent(
        seedbed,
        "git config extensions.worktreeConfig true && "
        f"git config --worktree filter.evil.clean 'touch {pwned}; cat' && "
        "echo '* filter=evil' > .gitattributes && echo work > work.txt",
    )
    assert not pwned.exists()
    shown = seedbed.show(task_id)
    assert "extensions.worktreeconfig" in shown["error"], shown["error"]
    assert "worktreeconfig" not in git(repo, "config", "--list").lower()
    assert "work.txt" in git(repo, "ls-tree", "-r", "--name-only", shown["branch"])
    assert not pwned.exists()


def test_what_the_user_changes_in_the_config_meanwhile_stays(
    seedbed: SeedbedCli, project: str, repo: Path, tmp_path: Path
) -> None:
    """Only settings that run programs are put back, each on its own: a remote the user
    adds while an agent works, and the agent's own `branch.*` keys, stay; the run goes on."""
    release = tmp_path / "release"
    seedbed.ok(
        "profile", "add", "waiter", "--kind", "command",
        "--command", "git config branch.mine.description 'the agent wrote this' && "
        f"echo w > w.txt && while [ ! -e {release} ]; do sleep 0.05; done",
    )  # fmt: skip
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Wait", "--profile", "waiter", "--start"
    ).out.strip()
    engine = seedbed.spawn("run", "--until-idle")
    try:
        deadline = time.monotonic() + 30
        while "the agent wrote this" not in (repo / ".git" / "config").read_text():
            assert time.monotonic() < deadline, "the agent never started"
            time.sleep(0.05)
        git(repo, "remote", "add", "origin", "https://example.com/user/repo.git")
        git(repo, "config", "user.signingkey", "ABCDEF")
    finally:
        release.touch()
        engine.communicate(timeout=60)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert git(repo, "remote", "get-url", "origin").strip() == "https://example.com/user/repo.git"
    assert git(repo, "config", "user.signingkey").strip() == "ABCDEF"
    assert git(repo, "config", "branch.mine.description").strip() == "the agent wrote this"


def test_a_config_that_no_longer_reads_as_one_is_put_back_whole(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    config = repo / ".git" / "config"
    original = config.read_bytes()
    before = shared_config.read_shared_config(repo)
    config.write_bytes(original + b'[filter "evil"\n\tclean = touch pwned\n[broken')
    assert shared_config.restore_shared_config(before) == ["config"]
    assert config.read_bytes() == original


def test_config_planted_before_the_engine_died_is_restored_by_recovery(
    seedbed: SeedbedCli, project: str, repo: Path, tmp_path: Path
) -> None:
    config = repo / ".git" / "config"
    original = config.read_bytes()
    pwned = tmp_path / "pwned"
    seedbed.ok(
        "profile", "add", "planter", "--kind", "command",
        "--command", f"git config filter.evil.clean 'touch {pwned}; cat' && "
        "echo '* filter=evil' > .gitattributes && echo planted > work.txt; sleep 600 & wait",
    )  # fmt: skip
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Plant", "--profile", "planter",
            "--start",
        ).out
    )  # fmt: skip
    engine = seedbed.spawn("run", start_new_session=True)
    store = Store.open(seedbed.data_dir)
    deadline = time.monotonic() + 30
    while (worktree := store.get_task(task_id).worktree) is None:
        assert time.monotonic() < deadline, "no worktree"
        time.sleep(0.05)
    wait_for_file(worktree / "work.txt")
    os.killpg(engine.pid, signal.SIGKILL)
    engine.communicate(timeout=30)
    assert b"evil" in config.read_bytes()  # planted, and the engine is gone
    # While the agent ran, a live diff may have run the filter, as the agent could itself
    # (issue 12's sandbox is where that changes); from here on nothing may.
    pwned.unlink(missing_ok=True)

    seedbed.ok("run", "--until-idle")  # recovery commits what the agent left
    assert config.read_bytes() == original
    assert not pwned.exists()
    assert "filter.evil.clean" in messages(seedbed, task_id)
    assert "work.txt" in git(worktree, "ls-files")


def test_a_run_started_beside_a_planting_agent_never_puts_the_plant_back(
    seedbed: SeedbedCli, project: str, repo: Path, tmp_path: Path
) -> None:
    """Runs side by side share the config as the first found it: B starts after A's agent
    planted a key and ends after A put it back; B must not restore the plant."""
    config = repo / ".git" / "config"
    original = config.read_bytes()
    release, release_a = tmp_path / "release", tmp_path / "release-a"
    seedbed.ok(
        "profile", "add", "planter", "--kind", "command",
        "--command", "git config alias.planted '!touch pwned' && echo a > a.txt && "
        f"while [ ! -e {release_a} ]; do sleep 0.05; done",
    )  # fmt: skip
    seedbed.ok(
        "profile", "add", "waiter", "--kind", "command",
        "--command", f"echo b > b.txt; while [ ! -e {release} ]; do sleep 0.05; done",
    )  # fmt: skip
    engine = seedbed.spawn("run")
    try:
        a = seedbed.ok(
            "task", "add", "--project", "demo", "--title", "A", "--profile", "planter", "--start"
        ).out.strip()
        deadline = time.monotonic() + 30
        while b"planted" not in config.read_bytes():
            assert time.monotonic() < deadline, "A never planted"
            time.sleep(0.02)
        b = seedbed.ok(
            "task", "add", "--project", "demo", "--title", "B", "--profile", "waiter", "--start"
        ).out.strip()
        store = Store.open(seedbed.data_dir)
        while not store.list_runs(int(b)) or store.list_runs(int(b))[-1].pid is None:
            assert time.monotonic() < deadline, "B's agent never started"
            time.sleep(0.02)
        assert seedbed.show(a)["state"] == "running"  # side by side
        release_a.touch()
        while seedbed.show(a)["state"] == "running":  # A ends first, putting it back
            assert time.monotonic() < deadline, "A never ended"
            time.sleep(0.05)
        assert config.read_bytes() == original
        release.touch()
        while seedbed.show(b)["state"] == "running":
            assert time.monotonic() < deadline, "B never ended"
            time.sleep(0.05)
    finally:
        release.touch()
        release_a.touch()
        engine.terminate()
        engine.communicate(timeout=30)
    assert config.read_bytes() == original  # not A's plant, put back by B
    assert "alias.planted" in seedbed.show(a)["error"]
    assert seedbed.show(b)["phase"] == "ready", seedbed.show(b)["error"]


# -- keys in commits -------------------------------------------------------------------


def test_a_known_key_in_the_change_is_never_committed(
    seedbed: SeedbedCli, project: str, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    task_id = run_agent(
        seedbed,
        f"echo 'token = \"{KEY}\"' > settings.py && echo fine >> README.md",
    )
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed"), shown
    assert shown["error"] == "the change contains the API key named OPENAI_API_KEY in settings.py"
    worktree = Path(shown["worktree"])
    assert KEY in (worktree / "settings.py").read_text()
    assert git(worktree, "diff", "--cached", "--name-only") == ""
    assert KEY.encode() not in all_objects(repo)
    assert "fine" in (worktree / "README.md").read_text()


def test_a_task_whose_change_cannot_be_committed_can_still_be_discarded(
    seedbed: SeedbedCli, project: str, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discard commits the work to the branch it keeps; a change that may not be
    committed (a key in it) is refused, saying how to throw it away: with the branch."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    task_id = run_agent(seedbed, f"echo 'token = \"{KEY}\"' > settings.py")
    worktree = Path(seedbed.show(task_id)["worktree"])

    kept = seedbed("task", "discard", str(task_id))
    assert kept.code == 2, kept
    assert kept.err.strip() == (
        "error: the change contains the API key named OPENAI_API_KEY in settings.py; or "
        "discard it with its branch deleted, to throw the work away"
    )
    assert seedbed.show(task_id)["state"] == "awaiting_review" and worktree.exists()

    seedbed.ok("task", "discard", str(task_id), "--delete-branch")
    shown = seedbed.show(task_id)
    assert shown["state"] == "discarded" and not worktree.exists()
    assert KEY.encode() not in all_objects(repo)


def test_a_key_the_base_already_had_does_not_stop_a_change_to_its_file(
    seedbed: SeedbedCli, project: str, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "settings.py").write_text(f'token = "{KEY}"\n')
    git(repo, "add", "settings.py")
    git(repo, "commit", "-qm", "the user's own key, committed long ago")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    task_id = run_agent(seedbed, "echo 'debug = True' >> settings.py")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown
    task_id = run_agent(seedbed, f"echo 'again = \"{KEY}\"' > other.py", title="Again")
    assert seedbed.show(task_id)["error"] == (
        "the change contains the API key named OPENAI_API_KEY in other.py"
    )


# --- one way to ask "is this commit in that one's history?" ----------------------------


def test_is_ancestor_is_written_once_and_answers_on_a_real_repository(tmp_path: Path) -> None:
    package = Path(__file__).parents[2] / "desktop" / "seedbed"
    askers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if '"--is-ancestor"' in path.read_text()
    )
    assert askers == ["vcs/git.py"], askers
    repo = make_repo(tmp_path / "repo")
    old = git(repo, "rev-parse", "HEAD").strip()
    (repo / "new.txt").write_text("new\n")
    git(repo, "add", "new.txt")
    git(repo, "commit", "-q", "-m", "new")
    assert is_ancestor(repo, old, "HEAD") and not is_ancestor(repo, "HEAD", old)
