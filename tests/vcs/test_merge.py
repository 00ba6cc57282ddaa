from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.domain.errors import OperationError, UserError
from seedbed.domain.models import MergeStrategy
from seedbed.vcs import (
    DirtyCheckout,
    MergeConflict,
    create_worktree,
    current_branch,
    find_checkout,
    merge,
)

FOUR_LINES = "one\ntwo\nthree\nfour\n"
MESSAGE = 'Add the feature (task #1)\n\nWith "quotes" and $(touch pwned).\n'


@pytest.fixture
def task(repo: Path, tmp_path: Path, g) -> Path:
    """Branch `task` in its own worktree, two commits ahead; main has moved on meanwhile."""
    path = tmp_path / "worktrees" / "1-task"
    create_worktree(repo, path, "task", "main")
    g.commit_file(path, "feature.txt", "feature\n", "task 1")
    g.commit_file(path, "a.txt", FOUR_LINES, "task 2")
    g.commit_file(repo, "main.txt", "main moved on\n", "main moved on")
    return path


def place_base(where: str, repo: Path, tmp_path: Path, g) -> Path | None:
    """Leave main checked out in the main checkout, in a linked worktree, or nowhere."""
    if where == "main checkout":
        return repo
    g.run(repo, "checkout", "-q", "-b", "other")
    if where == "nowhere":
        return None
    linked = tmp_path / "base-worktree"
    g.run(repo, "worktree", "add", "-q", str(linked), "main")
    return linked


def tree_files(g, repo: Path, rev: str) -> set[str]:
    return set(g.run(repo, "ls-tree", "-r", "--name-only", rev).split())


@pytest.mark.parametrize("where", ["main checkout", "linked worktree", "nowhere"])
@pytest.mark.parametrize("strategy", list(MergeStrategy))
def test_merge(strategy: MergeStrategy, where: str, repo: Path, task: Path, tmp_path: Path, g):
    checkout = place_base(where, repo, tmp_path, g)
    old, tip = g.head(repo, "main"), g.head(repo, "task")
    untouched = g.snapshot(repo) if checkout is None else None

    new = merge(repo, "main", "task", strategy, MESSAGE, task)

    assert g.head(repo, "refs/heads/main") == new
    assert tree_files(g, repo, new) == {"README.md", "a.txt", "feature.txt", "main.txt"}
    assert g.run(repo, "show", f"{new}:a.txt") == FOUR_LINES
    ident = g.run(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", new).strip()
    if strategy is MergeStrategy.SQUASH:
        assert g.parents(repo, new) == [old]
        assert g.message(repo, new) == MESSAGE
        assert ident == "Test User <test@example.com>|Test User <test@example.com>"
    elif strategy is MergeStrategy.MERGE:
        assert g.parents(repo, new) == [old, tip]
        assert g.message(repo, new) == MESSAGE
        assert ident == "Test User <test@example.com>|Test User <test@example.com>"
    else:
        assert ident == "Setup <setup@example.com>|Test User <test@example.com>"
        assert g.run(repo, "rev-list", "--count", f"{old}..{new}").strip() == "2"
        assert g.run(repo, "rev-list", "--merges", f"{old}..{new}") == ""
        assert g.head(repo, "refs/heads/task") == new
        assert current_branch(task) == "task"
        assert g.run(task, "status", "--porcelain") == ""
    if checkout is None:
        assert g.snapshot(repo) == untouched
        assert current_branch(repo) == "other"
        assert not (repo / "feature.txt").exists()
    else:
        assert g.head(checkout) == new
        assert current_branch(checkout) == "main"
        assert (checkout / "feature.txt").read_text() == "feature\n"
        assert (checkout / "a.txt").read_text() == FOUR_LINES
        assert g.run(checkout, "status", "--porcelain", "--untracked-files=all") == ""
    assert not list(tmp_path.rglob("pwned"))


@pytest.mark.parametrize("strategy", list(MergeStrategy))
def test_merge_without_any_git_identity_commits_as_seedbed(
    strategy: MergeStrategy, tmp_path: Path, g
) -> None:
    repo = g.init(tmp_path / "anon", identity=False)
    assert "user." not in g.run(repo, "config", "--list")
    task = tmp_path / "wt"
    create_worktree(repo, task, "task", "main")
    g.commit_file(task, "feature.txt", "feature\n")
    g.commit_file(repo, "main.txt", "main\n")

    new = merge(repo, "main", "task", strategy, "merge it", task)

    fmt = "%an <%ae>|%cn <%ce>"
    ident = g.run(repo, "log", "-1", f"--format={fmt}", new).strip()
    if strategy is MergeStrategy.REBASE:  # rebase keeps the author, the committer is ours
        assert ident == "Setup <setup@example.com>|Seedbed <seedbed@localhost>"
    else:
        assert ident == "Seedbed <seedbed@localhost>|Seedbed <seedbed@localhost>"
    assert (repo / "feature.txt").exists()


@pytest.mark.parametrize("strategy", list(MergeStrategy))
def test_merge_commits_as_the_identity_the_environment_sets(
    strategy: MergeStrategy, repo: Path, task: Path, g, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As git resolves it: GIT_AUTHOR_* / GIT_COMMITTER_* before the repository's config."""
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Env Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@env.example")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Env Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@env.example")

    new = merge(repo, "main", "task", strategy, MESSAGE, task)

    ident = g.run(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", new).strip()
    author = (
        "Setup <setup@example.com>"
        if strategy is MergeStrategy.REBASE
        else ("Env Author <author@env.example>")
    )
    assert ident == f"{author}|Env Committer <committer@env.example>"


@pytest.mark.parametrize("strategy", list(MergeStrategy))
def test_merge_ignores_signing_and_hooks(strategy: MergeStrategy, repo: Path, task: Path, g):
    g.run(repo, "config", "commit.gpgsign", "true")
    g.run(repo, "config", "gpg.program", "false")
    g.run(repo, "config", "merge.verifySignatures", "true")
    for hook in ("pre-rebase", "pre-commit", "commit-msg"):
        g.write(repo / ".git" / "hooks" / hook, "#!/bin/sh\nexit 1\n").chmod(0o755)
    new = merge(repo, "main", "task", strategy, MESSAGE, task)
    assert g.head(repo) == new
    assert "gpgsig" not in g.run(repo, "cat-file", "commit", new)


@pytest.mark.parametrize("change", ["modified", "staged"])
@pytest.mark.parametrize("strategy", list(MergeStrategy))
def test_dirty_base_checkout_is_refused_and_nothing_changes(
    strategy: MergeStrategy, change: str, repo: Path, task: Path, g
) -> None:
    (repo / "a.txt").write_text("local edit\n")
    if change == "staged":
        g.run(repo, "add", "a.txt")
    before, task_before = g.snapshot(repo), g.snapshot(task)

    with pytest.raises(DirtyCheckout, match="commit or stash") as caught:
        merge(repo, "main", "task", strategy, MESSAGE, task)

    assert caught.value.files == ["a.txt"]
    assert g.snapshot(repo) == before
    assert g.snapshot(task) == task_before


def test_untracked_files_do_not_block_a_merge_unless_they_would_be_overwritten(
    repo: Path, task: Path, g
) -> None:
    (repo / "notes.txt").write_text("mine\n")
    merge(repo, "main", "task", MergeStrategy.SQUASH, MESSAGE, task)
    assert (repo / "notes.txt").read_text() == "mine\n"

    g.commit_file(task, "later.txt", "from task\n")
    (repo / "later.txt").write_text("my own untracked file\n")
    old = g.head(repo)
    with pytest.raises(OperationError, match="untracked"):
        merge(repo, "main", "task", MergeStrategy.SQUASH, MESSAGE, task)
    assert (repo / "later.txt").read_text() == "my own untracked file\n"
    assert g.head(repo, "refs/heads/main") == old


@pytest.mark.parametrize("strategy", list(MergeStrategy))
def test_conflict_leaves_everything_byte_identical(
    strategy: MergeStrategy, repo: Path, task: Path, g
) -> None:
    g.commit_file(repo, "a.txt", "one\ntwo\nthree\nFOUR from main\n", "main edits a")
    (repo / "untracked.txt").write_text("keep me\n")
    before, task_before = g.snapshot(repo), g.snapshot(task)
    refs = g.run(repo, "for-each-ref")

    with pytest.raises(MergeConflict, match=r"a\.txt") as caught:
        merge(repo, "main", "task", strategy, MESSAGE, task)

    assert caught.value.files == ["a.txt"]
    assert g.snapshot(repo) == before
    assert before["merge_head"] is False
    assert g.snapshot(task) == task_before
    assert g.run(repo, "for-each-ref") == refs


def test_rebase_conflict_aborts_cleanly_in_the_task_worktree(repo: Path, tmp_path: Path, g):
    """Each commit is replayed, so a rebase can stop where the whole merge would not."""
    task = tmp_path / "wt"
    create_worktree(repo, task, "task", "main")
    g.commit_file(task, "a.txt", "one\nTWO from task\nthree\n", "try")
    g.commit_file(task, "a.txt", "one\ntwo\nthree\n", "undo")
    g.commit_file(task, "feature.txt", "feature\n", "feature")
    g.commit_file(repo, "a.txt", "one\nTWO from main\nthree\n", "main edits a")
    tip = g.head(task)
    before, task_before = g.snapshot(repo), g.snapshot(task)

    with pytest.raises(MergeConflict) as caught:
        merge(repo, "main", "task", MergeStrategy.REBASE, MESSAGE, task)

    assert caught.value.files == ["a.txt"]
    assert current_branch(task) == "task"
    assert g.head(task) == tip
    assert g.snapshot(task) == task_before
    assert not Path(
        g.run(task, "rev-parse", "--path-format=absolute", "--git-path", "rebase-merge").strip()
    ).exists()
    assert g.snapshot(repo) == before
    # The same branch squashes fine: only the rebase replays the conflicting commit.
    new = merge(repo, "main", "task", MergeStrategy.SQUASH, MESSAGE, task)
    assert (repo / "feature.txt").exists()
    assert g.head(repo) == new


@pytest.mark.parametrize("strategy", list(MergeStrategy))
def test_nothing_to_merge_leaves_base_alone(strategy: MergeStrategy, repo: Path, tmp_path, g):
    task = tmp_path / "wt"
    create_worktree(repo, task, "task", "main")
    old = g.head(repo)
    assert merge(repo, "main", "task", strategy, MESSAGE, task) == old
    assert g.head(repo) == old


def test_squash_of_changes_already_in_base_makes_no_commit(repo: Path, task: Path, g) -> None:
    g.run(repo, "merge", "-q", "--no-edit", "task")
    old = g.head(repo)
    g.commit_file(task, "a.txt", "one\ntwo\nthree\n", "revert")
    g.commit_file(task, "a.txt", FOUR_LINES, "redo")
    assert merge(repo, "main", "task", MergeStrategy.SQUASH, MESSAGE, task) == old


def test_merge_refuses_bad_requests(repo: Path, task: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        merge(repo, "main", "nope", MergeStrategy.SQUASH, MESSAGE, task)
    with pytest.raises(UserError, match="itself"):
        merge(repo, "main", "main", MergeStrategy.SQUASH, MESSAGE, task)
    with pytest.raises(UserError, match="worktree"):
        merge(repo, "main", "task", MergeStrategy.REBASE, MESSAGE, None)
    assert find_checkout(repo, "main") == repo.resolve()
