"""Approve and discard through the CLI, on real repositories with real agent runs.

Each test runs a `command` agent to the end (awaiting review), then approves or discards
it and looks at the user's repository with plain git.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import pytest

from seedbed.domain.models import Settings
from seedbed.store.settings import save_settings
from tests.conftest import Result, SeedbedCli, git

STRATEGIES = ["squash", "merge", "rebase"]
_profiles = itertools.count(1)


def finish_task(seedbed: SeedbedCli, command: str, title: str = "Add a greeting") -> dict[str, Any]:
    """A task of project "demo" whose agent ran `command`, now awaiting review."""
    profile = f"agent-{next(_profiles)}"
    seedbed.ok("profile", "add", profile, "--kind", "command", "--command", command)
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", title, "--profile", profile, "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    task = seedbed.show(task_id)
    assert (task["state"], task["phase"]) == ("awaiting_review", "ready"), task
    return task


def head(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "rev-parse", rev).strip()


def parents(repo: Path, rev: str) -> list[str]:
    return git(repo, "rev-list", "--parents", "-n1", rev).split()[1:]


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain=v1", "--untracked-files=all")


def has_merge_head(repo: Path) -> bool:
    return (repo / git(repo, "rev-parse", "--git-path", "MERGE_HEAD").strip()).exists()


def error_line(result: Result) -> str:
    """The single `error:` line a refused command prints, with no traceback."""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), result.err
    assert "Traceback" not in result.err
    return lines[0]


def commit_in(repo: Path, name: str, text: str, message: str = "the user's change") -> str:
    (repo / name).write_text(text)
    git(repo, "add", "--", name)
    git(repo, "commit", "-q", "-m", message)
    return head(repo)


# -- approve: the three strategies ------------------------------------------------------


def test_approve_squashes_by_default(seedbed: SeedbedCli, project: str, repo: Path) -> None:
    task = finish_task(seedbed, "echo hi > new.txt && echo more >> src/app.py")
    before = head(repo)

    result = seedbed.ok("task", "approve", str(task["id"]))

    assert "merged" in result.out
    after = seedbed.show(task["id"])
    assert (after["state"], after["phase"]) == ("merged", "")
    assert parents(repo, "main") == [before]  # one new commit, not a merge
    assert git(repo, "log", "-1", "--format=%s", "main").strip() == "Add a greeting"
    assert (repo / "new.txt").read_text() == "hi\n"
    assert (repo / "src/app.py").read_text() == "print('hi')\nmore\n"
    assert status(repo) == ""
    assert not Path(task["worktree"]).exists()
    assert task["worktree"] not in git(repo, "worktree", "list", "--porcelain")


def test_approve_with_merge_commit(seedbed: SeedbedCli, project: str, repo: Path) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    base = commit_in(repo, "other.txt", "meanwhile\n")
    tip = head(repo, task["branch"])

    seedbed.ok("task", "approve", str(task["id"]), "--strategy", "merge")

    assert parents(repo, "main") == [base, tip]
    assert head(repo) == head(repo, "main")
    assert (repo / "new.txt").read_text() == "hi\n"
    assert (repo / "other.txt").read_text() == "meanwhile\n"
    assert status(repo) == ""
    assert seedbed.show(task["id"])["state"] == "merged"


def test_approve_with_rebase_fast_forwards_base(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    base = commit_in(repo, "other.txt", "meanwhile\n")
    old_tip = head(repo, task["branch"])

    seedbed.ok("task", "approve", str(task["id"]), "--strategy", "rebase", "--keep-branch")

    new = head(repo, "main")
    assert new != old_tip  # the task's commit was replayed onto the new base …
    assert parents(repo, "main") == [base]  # … right on top of it, linearly
    assert git(repo, "rev-list", "--merges", f"{base}..main") == ""
    assert head(repo, task["branch"]) == new  # base fast-forwarded to the rebased branch
    assert "Seedbed task" in git(repo, "log", "-1", "--format=%B", "main")
    assert (repo / "new.txt").read_text() == "hi\n"
    assert (repo / "other.txt").read_text() == "meanwhile\n"
    assert status(repo) == ""
    assert seedbed.show(task["id"])["state"] == "merged"


@pytest.mark.parametrize("strategy", ["squash", "merge"])
def test_approve_message_is_the_commit_message(
    seedbed: SeedbedCli, project: str, repo: Path, strategy: str
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    message = "Greet the user\n\nWritten by a test, kept verbatim."

    seedbed.ok("task", "approve", str(task["id"]), "--strategy", strategy, "--message", message)

    # Verbatim, the agent named in a trailer after it.
    agent = f"Agent: {task['profile']} (command)"
    assert git(repo, "log", "-1", "--format=%B", "main").strip() == f"{message}\n\n{agent}"


def test_approve_commits_work_left_in_the_worktree(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    (Path(task["worktree"]) / "late.txt").write_text("written after the run\n")

    seedbed.ok("task", "approve", str(task["id"]))

    assert (repo / "late.txt").read_text() == "written after the run\n"
    assert status(repo) == ""


# -- approve: refusals that change nothing ----------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_dirty_base_checkout_is_refused(
    seedbed: SeedbedCli, project: str, repo: Path, strategy: str
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    (repo / "README.md").write_text("# my unsaved edit\n")
    before, branch_tip = head(repo), head(repo, task["branch"])

    result = seedbed("task", "approve", str(task["id"]), "--strategy", strategy)

    assert result.code == 1
    assert "README.md" in error_line(result)
    assert head(repo) == before
    assert head(repo, task["branch"]) == branch_tip
    assert (repo / "README.md").read_text() == "# my unsaved edit\n"
    assert not (repo / "new.txt").exists()
    assert status(repo) == " M README.md\n"
    after = seedbed.show(task["id"])
    assert (after["state"], after["phase"]) == ("awaiting_review", "ready")
    assert Path(after["worktree"]).is_dir()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_an_untracked_file_in_the_way_is_never_overwritten(
    seedbed: SeedbedCli, project: str, repo: Path, strategy: str
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    (repo / "new.txt").write_text("the user's own, untracked\n")
    before = head(repo)

    result = seedbed("task", "approve", str(task["id"]), "--strategy", strategy)

    assert result.code == 1
    assert result.err.startswith("error: ") and "new.txt" in result.err
    assert "Traceback" not in result.err
    assert head(repo) == before
    assert (repo / "new.txt").read_text() == "the user's own, untracked\n"
    assert status(repo) == "?? new.txt\n"
    assert seedbed.show(task["id"])["state"] == "awaiting_review"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_conflict_leaves_base_checkout_exactly_as_it_was(
    seedbed: SeedbedCli, project: str, repo: Path, strategy: str
) -> None:
    task = finish_task(seedbed, "printf '# the agent was here\\n' > README.md")
    commit_in(repo, "README.md", "# the user was here\n")
    (repo / "notes.txt").write_text("an untracked file of the user's\n")
    snapshot = (status(repo), head(repo), (repo / "README.md").read_text())
    branch_tip = head(repo, task["branch"])

    result = seedbed("task", "approve", str(task["id"]), "--strategy", strategy)

    assert result.code == 1
    assert "README.md" in error_line(result)
    assert (status(repo), head(repo), (repo / "README.md").read_text()) == snapshot
    assert not has_merge_head(repo)
    after = seedbed.show(task["id"])
    assert (after["state"], after["phase"]) == ("awaiting_review", "conflict")
    worktree = Path(after["worktree"])
    assert head(worktree) == branch_tip
    assert status(worktree) == ""  # no rebase or merge left half-done in the task either
    for leftover in ("rebase-merge", "rebase-apply", "MERGE_HEAD"):
        assert not (worktree / git(worktree, "rev-parse", "--git-path", leftover).strip()).exists()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_base_checked_out_nowhere_still_merges(
    seedbed: SeedbedCli, project: str, repo: Path, strategy: str
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    git(repo, "switch", "-q", "-c", "elsewhere")
    (repo / "README.md").write_text("# unsaved edit on another branch\n")
    main_before, checkout_head = head(repo, "main"), head(repo)

    seedbed.ok("task", "approve", str(task["id"]), "--strategy", strategy)

    assert head(repo, "main") != main_before
    assert git(repo, "merge-base", "--is-ancestor", main_before, "main") == ""
    assert git(repo, "show", "main:new.txt") == "hi\n"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "elsewhere"
    assert head(repo) == checkout_head
    assert not (repo / "new.txt").exists()
    assert (repo / "README.md").read_text() == "# unsaved edit on another branch\n"
    assert status(repo) == " M README.md\n"
    assert seedbed.show(task["id"])["state"] == "merged"


def test_approving_a_task_that_changed_nothing_is_refused(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "true")
    before = head(repo)

    result = seedbed("task", "approve", str(task["id"]))

    assert result.code == 2
    assert "changed nothing" in error_line(result)
    assert head(repo) == before
    assert seedbed.show(task["id"])["state"] == "awaiting_review"


def test_approving_a_planned_task_is_refused(seedbed: SeedbedCli, project: str, repo: Path) -> None:
    seedbed.ok("profile", "add", "w", "--kind", "command", "--command", "true")
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Not yet").out.strip()
    before = head(repo)

    result = seedbed("task", "approve", task_id)

    assert result.code == 2
    line = error_line(result)
    assert "Planned" in line and "Merged" in line
    assert head(repo) == before
    assert seedbed.show(task_id)["state"] == "planned"


def test_a_merged_task_cannot_be_approved_or_discarded_again(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    seedbed.ok("task", "approve", str(task["id"]))
    after = head(repo)

    for action in ("approve", "discard"):
        result = seedbed("task", action, str(task["id"]))
        assert result.code == 2, action
        error_line(result)
    assert head(repo) == after
    assert seedbed.show(task["id"])["state"] == "merged"


# -- discard ----------------------------------------------------------------------------


def test_discard_commits_uncommitted_work_and_keeps_the_branch(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    worktree = Path(task["worktree"])
    (worktree / "unsaved.txt").write_text("left in the worktree\n")
    (worktree / "new.txt").write_text("edited after the run\n")
    main_before = head(repo)

    result = seedbed.ok("task", "discard", str(task["id"]))

    assert task["branch"] in result.out
    assert seedbed.show(task["id"])["state"] == "discarded"
    assert not worktree.exists()
    assert str(worktree) not in git(repo, "worktree", "list", "--porcelain")
    assert git(repo, "show", f"{task['branch']}:unsaved.txt") == "left in the worktree\n"
    assert git(repo, "show", f"{task['branch']}:new.txt") == "edited after the run\n"
    assert head(repo) == main_before
    assert status(repo) == ""


def test_discard_delete_branch_deletes_it(seedbed: SeedbedCli, project: str, repo: Path) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")

    seedbed.ok("task", "discard", str(task["id"]), "--delete-branch")

    assert git(repo, "branch", "--list", task["branch"]) == ""
    assert not Path(task["worktree"]).exists()
    assert seedbed.show(task["id"])["state"] == "discarded"


def test_discard_a_planned_task(seedbed: SeedbedCli, project: str, repo: Path) -> None:
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Never run").out.strip()

    result = seedbed.ok("task", "discard", task_id)

    assert result.out == f"task {task_id} discarded\n"
    task = seedbed.show(task_id)
    assert (task["state"], task["phase"], task["branch"]) == ("discarded", "", None)
    assert git(repo, "branch", "--list", "seedbed/*") == ""
    planned = seedbed.ok("task", "list", "--state", "planned", "--json").json()
    assert planned == []


def test_discard_after_the_worktree_was_deleted_by_hand(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    shutil.rmtree(task["worktree"])

    seedbed.ok("task", "discard", str(task["id"]), "--delete-branch")

    assert git(repo, "branch", "--list", task["branch"]) == ""
    assert task["worktree"] not in git(repo, "worktree", "list", "--porcelain")
    assert seedbed.show(task["id"])["state"] == "discarded"


def test_a_branch_that_already_existed_is_never_taken_for_the_tasks(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    """The user's own branch happens to have the task's branch name: preparing refuses it,
    and nothing afterwards may show, merge or delete it as the task's work."""
    git(repo, "switch", "-q", "-c", "seedbed/1-add-a-greeting")
    users = commit_in(repo, "mine.txt", "the user's work\n", "the user's work")
    git(repo, "switch", "-q", "main")
    before = head(repo)
    seedbed.ok("profile", "add", "w", "--kind", "command", "--command", "echo hi > new.txt")
    seedbed.ok("task", "add", "--project", "demo", "--title", "Add a greeting", "--start")
    seedbed.ok("run", "--until-idle")
    task = seedbed.show(1)
    assert (task["state"], task["phase"]) == ("awaiting_review", "agent_failed")
    assert "already exists" in task["error"]
    assert task["diff"] == {"files": 0, "insertions": 0, "deletions": 0}

    assert seedbed("task", "diff", "1").code == 2
    assert seedbed("task", "approve", "1").code == 2
    assert head(repo, "main") == before
    result = seedbed.ok("task", "discard", "1", "--delete-branch")

    assert "deleted" not in result.out
    assert head(repo, "seedbed/1-add-a-greeting") == users
    assert head(repo, "main") == before
    assert seedbed.show(1)["state"] == "discarded"


def test_agent_state_beside_the_worktree_goes_with_it(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")
    worktree = Path(task["worktree"])
    state = worktree.parent / f".{worktree.name}.aider"
    state.mkdir()
    (state / "chat.md").write_text("history")
    other = worktree.parent / ".someone-else.aider"
    other.mkdir()
    seedbed.ok("task", "approve", str(task["id"]))
    assert not worktree.exists() and not state.exists()
    assert other.exists()


# -- the branch after a merge -----------------------------------------------------------


@pytest.mark.parametrize("flag", [[], ["--delete-branch"]])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_approve_deletes_the_branch_once_merged_by_default(
    seedbed: SeedbedCli, project: str, repo: Path, strategy: str, flag: list[str]
) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")

    result = seedbed.ok("task", "approve", str(task["id"]), "--strategy", strategy, *flag)

    assert "branch deleted" in result.out
    assert git(repo, "branch", "--list", task["branch"]) == ""
    assert git(repo, "show", "main:new.txt") == "hi\n"
    after = seedbed.show(task["id"])
    assert (after["state"], after["branch"]) == ("merged", None)
    assert not Path(task["worktree"]).exists()


def test_approve_keep_branch_keeps_it(seedbed: SeedbedCli, project: str, repo: Path) -> None:
    task = finish_task(seedbed, "echo hi > new.txt")

    result = seedbed.ok("task", "approve", str(task["id"]), "--keep-branch")

    assert f"branch kept: {task['branch']}" in result.out
    assert task["branch"] in git(repo, "branch", "--list", task["branch"])
    assert seedbed.show(task["id"])["branch"] == task["branch"]
    assert git(repo, "show", "main:new.txt") == "hi\n"


def test_approve_keeps_the_branch_when_the_settings_say_so(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    save_settings(seedbed.data_dir, Settings(delete_branch_after_merge=False))
    kept, deleted = finish_task(seedbed, "echo hi > a1.txt"), finish_task(seedbed, "echo 2 > b.txt")

    seedbed.ok("task", "approve", str(kept["id"]))
    seedbed.ok("task", "approve", str(deleted["id"]), "--delete-branch")

    assert seedbed.show(kept["id"])["branch"] == kept["branch"]
    assert kept["branch"] in git(repo, "branch", "--list", kept["branch"])
    assert git(repo, "branch", "--list", deleted["branch"]) == ""


def test_keep_branch_and_delete_branch_do_not_go_together(
    seedbed: SeedbedCli, project: str
) -> None:
    result = seedbed("task", "approve", "1", "--keep-branch", "--delete-branch")
    assert result.code == 2
    assert "not allowed with argument" in result.err


def test_a_refused_approve_never_deletes_the_branch(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    task = finish_task(seedbed, "printf '# the agent was here\\n' > README.md")
    commit_in(repo, "README.md", "# the user was here\n")

    result = seedbed("task", "approve", str(task["id"]), "--delete-branch")

    assert result.code == 1
    assert task["branch"] in git(repo, "branch", "--list", task["branch"])
    assert seedbed.show(task["id"])["phase"] == "conflict"
