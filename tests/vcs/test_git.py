from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seedbed.domain.errors import OperationError, UserError
from seedbed.domain.models import DiffStat, FileChange
from seedbed.vcs import (
    GitError,
    attach_worktree,
    branch_exists,
    commit_all,
    copy_into_worktree,
    create_worktree,
    current_branch,
    delete_branch,
    diff_files,
    diff_stat,
    diff_text,
    dirty_files,
    find_checkout,
    merge_base,
    open_repository,
    remove_worktree,
    rev_parse,
    trailer_values,
    worktree_diff_files,
    worktree_diff_stat,
    worktree_diff_text,
    worktree_exists,
)
from seedbed.vcs.diff import _parse_changes
from seedbed.vcs.git import _glob_regex, _parse_worktree_list, merge_base_and_tip
from seedbed.vcs.runner import configured_identity, parse_ident, seedbed_identity_note


@pytest.fixture
def task(repo: Path, tmp_path: Path) -> Path:
    """A task worktree on branch `task`, branched from main."""
    path = tmp_path / "worktrees" / "demo" / "1-task"
    create_worktree(repo, path, "task", "main")
    return path


# Repositories and refs


def test_open_repository_returns_top_level_from_a_subdirectory(repo: Path) -> None:
    (repo / "sub" / "dir").mkdir(parents=True)
    assert open_repository(repo / "sub" / "dir") == repo.resolve()


def test_open_repository_refuses_a_plain_directory(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UserError, match="is not a git repository"):
        open_repository(plain)


def test_open_repository_refuses_an_empty_repository(tmp_path: Path, g) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    g.run(empty, "-c", "init.defaultBranch=main", "init", "-q")
    with pytest.raises(UserError, match="has no commits yet"):
        open_repository(empty)


def test_open_repository_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        open_repository(tmp_path / "nowhere")


def test_current_branch_and_detached_head(repo: Path, g) -> None:
    assert current_branch(repo) == "main"
    g.run(repo, "checkout", "-q", "--detach")
    assert current_branch(repo) is None


def test_branch_exists_and_rev_parse(repo: Path, g) -> None:
    assert branch_exists(repo, "main")
    assert not branch_exists(repo, "nope")
    assert rev_parse(repo, "main") == g.head(repo)
    assert rev_parse(repo, "HEAD~1") == g.head(repo, "HEAD~1")
    with pytest.raises(UserError, match="unknown revision"):
        rev_parse(repo, "nope")


def test_names_that_look_like_options_are_refused(repo: Path) -> None:
    with pytest.raises(UserError):
        rev_parse(repo, "--all")
    with pytest.raises(UserError):
        branch_exists(repo, "-D")


def test_git_failure_is_an_operation_error_with_gits_message(tmp_path: Path) -> None:
    with pytest.raises(OperationError, match="not a git repository"):
        current_branch(tmp_path)


def test_merge_base_is_the_fork_point(repo: Path, task: Path, g) -> None:
    fork = g.head(repo)
    g.commit_file(repo, "b.txt", "b\n")
    g.commit_file(task, "c.txt", "c\n")
    assert merge_base(repo, "main", "task") == fork


def test_merge_base_and_tip_is_what_merge_base_and_rev_parse_say(repo: Path, task: Path, g) -> None:
    """One git for both; with two merge bases (criss-cross merges), git merge-base's."""
    g.commit_file(repo, "b.txt", "b\n")
    g.commit_file(task, "c.txt", "c\n")
    g.run(repo, "merge", "-q", "--no-edit", "task")
    g.run(task, "merge", "-q", "--no-edit", "main~1")
    g.commit_file(repo, "d.txt", "d\n")
    g.commit_file(task, "e.txt", "e\n")
    assert len(g.run(repo, "merge-base", "--all", "main", "task").split()) == 2
    for base, tip in (("main", "task"), ("task", "main"), ("main", "refs/heads/task")):
        expected = (g.run(repo, "merge-base", base, tip).strip(), g.head(repo, tip))
        assert merge_base_and_tip(repo, base, tip) == expected
    g.run(repo, "tag", "-a", "v1", "-m", "a tag", "main~1")  # a tag names its commit
    merged = g.head(repo, "main~1")
    assert merge_base_and_tip(repo, "main", "v1") == (merged, merged)


def test_merge_base_and_tip_words_what_is_wrong(repo: Path, g) -> None:
    with pytest.raises(UserError, match="unknown revision 'nope'"):
        merge_base_and_tip(repo, "main", "nope")
    with pytest.raises(UserError, match="unknown revision 'nope'"):
        merge_base_and_tip(repo, "nope", "main")
    g.run(repo, "checkout", "-q", "--orphan", "alone")
    g.commit_file(repo, "z.txt", "z\n")
    with pytest.raises(OperationError, match="main and alone have no common ancestor"):
        merge_base_and_tip(repo, "main", "alone")
    with pytest.raises(UserError, match="not a valid revision"):
        merge_base_and_tip(repo, "main", "--output=x")


def test_delete_branch_forces_and_tolerates_a_missing_branch(repo: Path, g) -> None:
    g.run(repo, "checkout", "-q", "-b", "unmerged")
    g.commit_file(repo, "x.txt", "x\n")
    g.run(repo, "checkout", "-q", "main")
    delete_branch(repo, "unmerged")
    assert not branch_exists(repo, "unmerged")
    delete_branch(repo, "unmerged")


# Worktrees


def test_create_worktree(repo: Path, task: Path, g) -> None:
    assert (task / "a.txt").read_text() == "one\ntwo\nthree\n"
    assert current_branch(task) == "task"
    assert g.head(repo, "task") == g.head(repo, "main")
    assert worktree_exists(repo, task)
    assert find_checkout(repo, "task") == task.resolve()


def test_create_worktree_refuses_an_existing_branch(repo: Path, tmp_path: Path, g) -> None:
    g.run(repo, "branch", "taken", "HEAD~1")
    before = g.head(repo, "taken")
    target = tmp_path / "wt"
    with pytest.raises(UserError, match="already exists"):
        create_worktree(repo, target, "taken", "main")
    assert g.head(repo, "taken") == before
    assert not target.exists()


def test_create_worktree_refuses_a_missing_base(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="base 'nope' does not exist"):
        create_worktree(repo, tmp_path / "wt", "task", "nope")
    assert not branch_exists(repo, "task")


def test_create_worktree_refuses_an_existing_path(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "wt"
    target.mkdir()
    with pytest.raises(UserError, match="already exists"):
        create_worktree(repo, target, "task", "main")
    assert not branch_exists(repo, "task")


def test_create_worktree_refuses_an_invalid_branch_name(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a valid branch name"):
        create_worktree(repo, tmp_path / "wt", "a..b", "main")


def test_attach_worktree_resumes_a_lost_worktree(repo: Path, task: Path, g) -> None:
    tip = g.commit_file(task, "work.txt", "done\n")
    shutil.rmtree(task)
    assert not worktree_exists(repo, task)
    attach_worktree(repo, task, "task")
    assert worktree_exists(repo, task)
    assert current_branch(task) == "task"
    assert g.head(task) == tip
    assert (task / "work.txt").read_text() == "done\n"


def test_attach_worktree_refuses_a_branch_checked_out_elsewhere(
    repo: Path, task: Path, tmp_path: Path
) -> None:
    with pytest.raises(UserError, match="already checked out"):
        attach_worktree(repo, tmp_path / "other", "task")
    with pytest.raises(UserError, match="does not exist"):
        attach_worktree(repo, tmp_path / "other", "nope")


def test_remove_worktree_forces_and_is_idempotent(repo: Path, task: Path, g) -> None:
    (task / "a.txt").write_text("dirty\n")
    (task / "untracked.txt").write_text("x\n")
    remove_worktree(repo, task)
    assert not task.exists()
    assert not worktree_exists(repo, task)
    assert branch_exists(repo, "task")
    remove_worktree(repo, task)
    assert "task" not in g.run(repo, "worktree", "list")


def test_remove_worktree_refuses_the_main_checkout(repo: Path) -> None:
    with pytest.raises(UserError, match="main checkout"):
        remove_worktree(repo, repo)
    assert (repo / "a.txt").exists()


def test_find_checkout(repo: Path, task: Path) -> None:
    assert find_checkout(repo, "main") == repo.resolve()
    assert find_checkout(repo, "task") == task.resolve()
    assert find_checkout(repo, "nope") is None


def test_worktree_list_parser() -> None:
    out = (
        "worktree /r\0HEAD abc\0branch refs/heads/main\0\0"
        "worktree /w t\nx\0HEAD def\0detached\0prunable gitdir file points nowhere\0\0"
    )
    assert _parse_worktree_list(out) == [
        {"worktree": "/r", "HEAD": "abc", "branch": "refs/heads/main"},
        {
            "worktree": "/w t\nx",
            "HEAD": "def",
            "detached": "",
            "prunable": "gitdir file points nowhere",
        },
    ]


def test_dirty_files_lists_modified_and_staged_but_not_untracked(repo: Path, g) -> None:
    assert dirty_files(repo) == []
    (repo / "untracked.txt").write_text("x\n")
    assert dirty_files(repo) == []
    (repo / "a.txt").write_text("changed\n")
    g.write(repo / "staged.txt", "s\n")
    g.run(repo, "add", "staged.txt")
    g.run(repo, "mv", "README.md", "READ ME ü.md")
    assert sorted(dirty_files(repo)) == ["READ ME ü.md", "a.txt", "staged.txt"]


# Copying files


def test_copy_into_worktree(repo: Path, task: Path, g) -> None:
    g.write(repo / ".env", "SECRET=1\n")
    g.write(repo / "config" / "app.local", "local\n")
    g.write(repo / "config" / "deep" / "db.local", "deep\n")
    g.write(repo / "nested" / "x" / "y.secret", "s\n")
    g.write(repo / "a.txt", "modified in main\n")
    copied = copy_into_worktree(repo, task, [".env", "config/*.local", "**/*.secret", "a.txt"])
    assert sorted(copied) == [".env", "config/app.local", "nested/x/y.secret"]
    assert (task / ".env").read_text() == "SECRET=1\n"
    assert (task / "nested" / "x" / "y.secret").read_text() == "s\n"
    assert not (task / "config" / "deep").exists()
    assert (task / "a.txt").read_text() == "one\ntwo\nthree\n"


def test_copy_into_worktree_never_reads_git_or_leaves_the_repo(repo: Path, task: Path) -> None:
    assert copy_into_worktree(repo, task, ["**/config", ".git/*", ".git/HEAD", "**/HEAD"]) == []
    assert not (task / ".git").is_dir()
    with pytest.raises(UserError):
        copy_into_worktree(repo, task, ["../*"])
    with pytest.raises(UserError):
        copy_into_worktree(repo, task, ["/etc/passwd"])


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.local", "a.local", True),
        ("*.local", "dir/a.local", False),
        ("**/*.local", "a.local", True),
        ("**/*.local", "d/e/a.local", True),
        ("config/**", "config/a/b", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[!x]y", "zy", True),
        ("[!x]y", "xy", False),
        ("a+b(c)", "a+b(c)", True),
    ],
)
def test_glob_regex(pattern: str, path: str, matches: bool) -> None:
    assert bool(_glob_regex(pattern).fullmatch(path)) is matches


# Commits


def test_commit_all_commits_everything_as_the_repositorys_user(task: Path, g) -> None:
    (task / "a.txt").write_text("changed\n")
    g.write(task / "new" / "file.txt", "new\n")
    (task / "README.md").unlink()
    sha = commit_all(task, "snapshot")
    assert sha == g.head(task)
    assert g.run(task, "status", "--porcelain") == ""
    show = g.run(task, "show", "--name-status", "--format=%an <%ae>|%cn <%ce>", sha)
    assert show.splitlines()[0] == "Test User <test@example.com>|Test User <test@example.com>"
    assert "D\tREADME.md" in show
    assert "A\tnew/file.txt" in show
    assert "M\ta.txt" in show


def test_commit_all_returns_none_when_nothing_changed(task: Path, g) -> None:
    before = g.head(task)
    assert commit_all(task, "nothing") is None
    assert g.head(task) == before


def test_commit_all_message_is_inert_and_exact(task: Path, tmp_path: Path, g) -> None:
    message = (
        "Fix \"quotes\" and 'apostrophes'\n\n"
        "$(touch pwned) `touch pwned` ; touch pwned && echo $HOME\n"
        "# not a comment\n"
        "ünïcødé ✓ 🚀 \\n -- --amend\n"
    )
    (task / "a.txt").write_text("changed\n")
    sha = commit_all(task, message)
    assert sha is not None
    assert g.message(task, sha) == message
    assert not list(tmp_path.rglob("pwned"))
    assert not (Path.cwd() / "pwned").exists()


def test_commit_all_ignores_hooks_and_signing_config(task: Path, repo: Path, g) -> None:
    hooks = repo / ".git" / "hooks"
    for hook in ("pre-commit", "prepare-commit-msg", "commit-msg"):
        g.write(hooks / hook, "#!/bin/sh\nexit 1\n").chmod(0o755)
    g.run(repo, "config", "commit.gpgsign", "true")
    g.run(repo, "config", "gpg.program", "false")
    (task / "a.txt").write_text("changed\n")
    assert commit_all(task, "snapshot") == g.head(task)
    assert g.run(task, "cat-file", "commit", "HEAD").count("gpgsig") == 0


def test_commit_all_works_without_any_git_identity(tmp_path: Path, g) -> None:
    anon = g.init(tmp_path / "anon", identity=False)
    assert "user." not in g.run(anon, "config", "--list")
    (anon / "a.txt").write_text("changed\n")
    sha = commit_all(anon, "snapshot")
    assert g.run(anon, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha).strip() == (
        "Seedbed <seedbed@localhost>|Seedbed <seedbed@localhost>"
    )
    assert configured_identity(anon) is None
    assert seedbed_identity_note(anon) == (
        f"no git identity configured in {anon}: commits are authored as Seedbed <seedbed@localhost>"
    )


def test_commit_all_takes_the_identity_from_the_global_config(tmp_path: Path, g) -> None:
    anon = g.init(tmp_path / "anon", identity=False)
    g.run(anon, "config", "--global", "user.name", "Global Person")
    g.run(anon, "config", "--global", "user.email", "global@example.com")
    (anon / "a.txt").write_text("changed\n")
    sha = commit_all(anon, "snapshot")
    assert g.run(anon, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha).strip() == (
        "Global Person <global@example.com>|Global Person <global@example.com>"
    )


def test_commit_all_takes_the_identity_the_environment_sets(
    task: Path, g, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIT_AUTHOR_* and GIT_COMMITTER_* win over the config, as they do for git itself."""
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Env Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@env.example")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Env Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@env.example")
    (task / "a.txt").write_text("changed\n")
    sha = commit_all(task, "snapshot")
    assert g.run(task, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha).strip() == (
        "Env Author <author@env.example>|Env Committer <committer@env.example>"
    )
    assert configured_identity(task) == ("Env Author", "author@env.example")


def test_a_name_without_an_email_is_no_identity(tmp_path: Path, g) -> None:
    """git would guess the email from the host name: nobody's address on a shared branch."""
    anon = g.init(tmp_path / "anon", identity=False)
    g.run(anon, "config", "user.name", "Half Configured")
    assert configured_identity(anon) is None
    (anon / "a.txt").write_text("changed\n")
    sha = commit_all(anon, "snapshot")
    assert g.run(anon, "log", "-1", "--format=%an <%ae>", sha).strip() == (
        "Seedbed <seedbed@localhost>"
    )


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("Ann Example <ann@example.com> 1700000000 +0100\n", ("Ann Example", "ann@example.com")),
        ("Zoë <z@x> 1 -0530", ("Zoë", "z@x")),
        ("", None),
        ("fatal: no email was given", None),
    ],
)
def test_parse_ident(line: str, parsed: tuple[str, str] | None) -> None:
    assert parse_ident(line) == parsed


def test_trailer_values_reads_the_branch_commits_only(task: Path, repo: Path, g) -> None:
    g.run(repo, "commit", "-q", "--allow-empty", "-m", "on main\n\nAgent: not this one")
    for n, body in enumerate(["Agent: one (command)", "Agent: two (codex, gpt-5)\nX-Other: no"]):
        (task / "a.txt").write_text(f"change {n}\n")
        commit_all(task, f"run {n}\n\nSome text.\n\n{body}\n")
    (task / "a.txt").write_text("again\n")
    commit_all(task, "run 3\n\nAgent: one (command)\n")
    (task / "a.txt").write_text("no trailer\n")
    commit_all(task, "Agent: a subject is not a trailer\n")

    assert trailer_values(repo, "main", "task", "Agent") == ["one (command)", "two (codex, gpt-5)"]


# Diffs


@pytest.fixture
def diverged(repo: Path, task: Path, g) -> Path:
    """task renames a.txt (and edits it), changes a binary file, adds a unicode-named file;
    main moves on with a commit of its own that the review diff must not show."""
    g.write(repo / "data.bin", b"\x00\x01\x02binary")
    g.write(repo / "long.txt", "".join(f"line {i}\n" for i in range(20)))
    g.run(repo, "add", "data.bin", "long.txt")
    g.run(repo, "commit", "-q", "-m", "more")
    g.run(task, "merge", "-q", "--ff-only", "main")
    g.run(task, "mv", "long.txt", "renamed.txt")
    with (task / "renamed.txt").open("a") as f:
        f.write("appended\n")
    g.write(task / "data.bin", b"\x00\x03changed")
    g.write(task / "ünï cødé.txt", "hi\nthere\n")
    g.run(task, "add", "-A")
    g.run(task, "commit", "-q", "-m", "task work")
    g.commit_file(repo, "main-only.txt", "main\n")
    return task


def test_diff_text_shows_renames_and_binaries_since_the_merge_base(repo: Path, diverged: Path):
    text = diff_text(repo, "main", "task")
    assert "rename from long.txt\nrename to renamed.txt\n" in text
    assert "+appended\n" in text
    assert "Binary files a/data.bin and b/data.bin differ" in text
    assert "+++ b/ünï cødé.txt" in text
    assert "main-only" not in text
    assert "\x1b[" not in text


def test_diff_files_and_stat(repo: Path, diverged: Path) -> None:
    changes = sorted(diff_files(repo, "main", "task"), key=lambda c: c.path)
    assert changes == [
        FileChange(path="data.bin", status="M", binary=True),
        FileChange(path="renamed.txt", old_path="long.txt", status="R", insertions=1),
        FileChange(path="ünï cødé.txt", status="A", insertions=2),
    ]
    assert diff_stat(repo, "main", "task") == DiffStat(files=3, insertions=3, deletions=0)


def test_diff_ignores_external_diff_and_color_config(repo: Path, diverged: Path, g) -> None:
    g.run(repo, "config", "diff.external", "false")
    g.run(repo, "config", "color.ui", "always")
    g.run(repo, "config", "diff.noprefix", "true")
    g.write(repo / ".gitattributes", "*.bin diff=hex\n")
    g.run(repo, "config", "diff.hex.textconv", "false")
    text = diff_text(repo, "main", "task")
    assert "Binary files a/data.bin and b/data.bin differ" in text
    assert "\x1b[" not in text
    assert len(diff_files(repo, "main", "task")) == 3


def test_parse_changes_pairs_raw_and_numstat_records() -> None:
    out = (
        ":100644 100644 aaa bbb M\0a b.txt\0"
        ":100644 100644 ccc ddd R090\0old\0new\0"
        ":000000 100644 000 eee A\0bin\0"
        "3\t1\ta b.txt\0"
        "2\t0\t\0old\0new\0"
        "-\t-\tbin\0"
    )
    assert _parse_changes(out) == [
        FileChange(path="a b.txt", status="M", insertions=3, deletions=1),
        FileChange(path="new", old_path="old", status="R", insertions=2),
        FileChange(path="bin", status="A", binary=True),
    ]
    assert _parse_changes("") == []


def test_worktree_diff_includes_untracked_and_keeps_the_index(repo: Path, task: Path, g) -> None:
    g.commit_file(task, ".gitignore", "*.log\n")
    g.commit_file(task, "committed.txt", "c\n")
    (task / "a.txt").write_text("one\nTWO\nthree\n")
    g.write(task / "staged.txt", "staged\n")
    g.run(task, "add", "staged.txt")
    g.write(task / "untracked dir" / "new.txt", "u1\nu2\n")
    g.write(task / "debug.log", "ignored\n")
    index = Path(g.run(task, "rev-parse", "--path-format=absolute", "--git-path", "index").strip())
    status_before = g.run(task, "status", "--porcelain=v1", "--untracked-files=all")
    index_before = index.read_bytes()  # after status, which may refresh the index itself

    changes = {c.path: c for c in worktree_diff_files(task, "main")}
    assert set(changes) == {
        ".gitignore",
        "committed.txt",
        "a.txt",
        "staged.txt",
        "untracked dir/new.txt",
    }
    assert changes["a.txt"] == FileChange(path="a.txt", status="M", insertions=1, deletions=1)
    assert changes["untracked dir/new.txt"].status == "A"
    text = worktree_diff_text(task, "main")
    assert "+u2\n" in text
    assert "+TWO\n" in text
    assert "debug.log" not in text
    assert worktree_diff_stat(task, "main") == DiffStat(files=5, insertions=6, deletions=1)

    assert index.read_bytes() == index_before
    assert g.run(task, "status", "--porcelain=v1", "--untracked-files=all") == status_before
    assert '?? "untracked dir/new.txt"' in status_before


def test_git_error_keeps_status_and_output(repo: Path) -> None:
    from seedbed.vcs.runner import run_git as _git

    with pytest.raises(GitError) as caught:
        _git(repo, "rev-parse", "--verify", "-q", "nope")
    assert caught.value.status == 1
    assert _git(repo, "rev-parse", "--verify", "-q", "nope", check=False) == ""


def test_worktrees_created_and_removed_at_once_do_not_race(repo: Path, tmp_path: Path, g) -> None:
    """The engine makes several workspaces of one repository in parallel threads."""
    from concurrent.futures import ThreadPoolExecutor

    targets = [tmp_path / "many" / f"wt{n}" for n in range(40)]

    def make(n: int) -> None:
        create_worktree(repo, targets[n], f"task-{n}", "main")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(make, range(40)))
    for n, target in enumerate(targets):
        assert current_branch(target) == f"task-{n}"
        assert (target / "a.txt").read_text() == "one\ntwo\nthree\n"
        assert g.run(target, "status", "--porcelain") == ""

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda t: remove_worktree(repo, t), targets[:20]))
    assert [worktree_exists(repo, t) for t in targets] == [False] * 20 + [True] * 20


def test_reading_the_worktree_list_while_worktrees_are_made(repo: Path, tmp_path: Path, g) -> None:
    """`git worktree list` fails on another add's half-written entry unless it waits."""
    from concurrent.futures import ThreadPoolExecutor

    targets = [tmp_path / "more" / f"wt{n}" for n in range(30)]

    def work(n: int) -> None:
        create_worktree(repo, targets[n], f"more-{n}", "main")
        for _ in range(3):
            worktree_exists(repo, targets[(n + 1) % len(targets)])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(len(targets))))
    assert all(worktree_exists(repo, t) for t in targets)


def test_a_copied_file_beyond_a_link_the_agent_made_does_not_stop_the_commit(
    task: Path, tmp_path: Path, g
) -> None:
    """The agent made the copied file's folder a link: git refuses an exclusion beyond a
    link ("is beyond a symbolic link"), and every later commit failed."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "local.env").write_text("SECRET=1\n")
    (task / "conf").symlink_to(elsewhere)
    (task / "work.txt").write_text("done\n")

    sha = commit_all(task, "snapshot", exclude=["conf/local.env", "top.env"])

    assert sha is not None
    names = g.run(task, "show", "--name-only", "--format=", sha).split()
    assert sorted(names) == ["conf", "work.txt"]  # the link itself, not what it leads to
