"""The git history Seedbed leaves: commits as the repository's user, the agent named in a
trailer, one subject per commit, on every strategy.

Real repositories, real `command` agents run by the engine, and plain git to look.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SeedbedCli, git
from tests.core.test_resolve_conflict import two_conflicting_tasks
from tests.core.test_review import STRATEGIES, finish_task, head

USER = "Test Author <author@example.com>"  # the identity conftest's repo configures
SEEDBED = "Seedbed <seedbed@localhost>"
IDENT = "%an <%ae>|%cn <%ce>"


def agents(repo: Path, rev: str) -> list[str]:
    """The values of the Agent: trailers git finds on commit `rev`."""
    out = git(repo, "log", "-1", "--format=%(trailers:key=Agent,valueonly)", rev)
    return [line for line in out.splitlines() if line]


def profile_of(task: dict[str, object]) -> str:
    return str(task["profile"])


def notes(seedbed: SeedbedCli, task_id: int, run: int) -> list[str]:
    events = seedbed.log_events(task_id, "--run", str(run))
    return [e.get("message", "") for e in events if e.get("kind") == "status"]


def test_a_runs_commit_is_the_users_and_names_the_agent(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    tip = head(repo, task["branch"])

    assert git(repo, "log", "-1", f"--format={IDENT}", tip).strip() == f"{USER}|{USER}"
    assert agents(repo, tip) == [f"{profile_of(task)} (command)"]
    assert not any("no git identity" in note for note in notes(seedbed, task["id"], 1))


def test_without_an_identity_commits_are_seedbeds_and_the_log_says_so_once(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    task = finish_task(seedbed, "echo hi >> new.txt")
    seedbed.ok("task", "request-changes", str(task["id"]), "--message", "once more")
    seedbed.ok("run", "--until-idle")

    tip = head(repo, task["branch"])
    assert (
        git(repo, "log", "-2", f"--format={IDENT}", tip).splitlines()
        == [f"{SEEDBED}|{SEEDBED}"] * 2
    )
    said = f"no git identity configured in {repo.resolve()}: commits are authored as {SEEDBED}"
    for run in (1, 2):
        assert notes(seedbed, task["id"], run).count(said) == 1


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_puts_the_users_commits_naming_the_agent_on_the_base(
    seedbed: SeedbedCli, project: str, repo: Path, strategy: str
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    before = head(repo)

    seedbed.ok("task", "approve", str(task["id"]), "--strategy", strategy)

    agent = f"{profile_of(task)} (command)"
    tip = head(repo, "main")
    assert agents(repo, tip) == [agent]
    authors = git(repo, "log", f"--format={IDENT}", f"{before}..main").splitlines()
    assert authors and set(authors) == {f"{USER}|{USER}"}
    # The task's own commits (rebased onto the base, or the merge's second parent) too.
    for sha in git(repo, "rev-list", "--no-merges", f"{before}..main").split():
        assert agents(repo, sha) == [agent]


def test_a_squash_with_the_reviewers_message_names_the_agent_after_its_trailers(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    message = (
        "Greet the user\n\nWritten by hand.\n\nSigned-off-by: Test Author <author@example.com>"
    )

    seedbed.ok("task", "approve", str(task["id"]), "--message", message)

    body = git(repo, "log", "-1", "--format=%B", "main")
    assert body == f"{message}\nAgent: {profile_of(task)} (command)\n\n"


def test_a_rebased_two_run_task_leaves_no_two_subjects_alike(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "echo hi >> new.txt")
    seedbed.ok("task", "request-changes", str(task["id"]), "--message", "once more")
    seedbed.ok("run", "--until-idle")
    (Path(task["worktree"]) / "by-hand.txt").write_text("the reviewer's own touch\n")
    before = head(repo)

    seedbed.ok("task", "approve", str(task["id"]), "--strategy", "rebase")

    subjects = git(repo, "log", "--format=%s", "main").splitlines()
    assert [s for s, n in Counter(subjects).items() if n > 1] == []
    assert git(repo, "log", "--format=%s", f"{before}..main").splitlines() == [
        "Add a greeting (left in the worktree)",
        "Add a greeting (run 2: fix)",
        "Add a greeting",
    ]
    assert (repo / "new.txt").read_text() == "hi\nhi\n"


def test_the_merge_commit_of_a_resolved_conflict_is_the_users_and_names_the_agent(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    _first, second = two_conflicting_tasks(seedbed)
    seedbed("task", "approve", str(second))  # conflicts
    seedbed.ok("task", "resolve-conflict", str(second))
    seedbed.ok("run", "--until-idle")

    task = seedbed.show(second)
    tip = head(repo, task["branch"])
    assert len(git(repo, "rev-list", "--parents", "-n1", tip).split()) == 3  # a merge
    assert git(repo, "log", "-1", f"--format={IDENT}", tip).strip() == f"{USER}|{USER}"
    assert agents(repo, tip) == ["same-line (command)"]


def test_an_auto_merged_task_is_squashed_as_the_user_naming_the_agent(
    seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", "test -f new.txt")
    seedbed.ok("profile", "add", "writer", "--kind", "command", "--command", "echo hi > new.txt")
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Add a greeting", "--profile", "writer",
        "--auto-merge", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")

    assert seedbed.show(task_id)["state"] == "merged"
    assert git(repo, "log", "-1", f"--format={IDENT}", "main").strip() == f"{USER}|{USER}"
    assert git(repo, "log", "-1", "--format=%B", "main") == (
        f"Add a greeting\n\nSeedbed task {task_id}\n\nAgent: writer (command)\n\n"
    )
