"""The run's private git pieces: made from a real worktree, refused from one whose .git
an earlier run pointed elsewhere, and taken back with only what is sound."""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import pytest

from seedbed.domain.errors import OperationError
from seedbed.sandbox.gitshare import clear_links, make_share
from seedbed.sandbox.homes import seed
from seedbed.sandbox.takeback import take_back
from seedbed.vcs.diff import worktree_diff_stat
from seedbed.vcs.git import create_worktree
from tests.conftest import git, make_repo


@pytest.fixture
def worktree(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path / "repo")
    path = tmp_path / "wt"
    create_worktree(repo, path, "seedbed/1-task", "main")
    return repo, path


def test_a_worktree_led_to_another_git_dir_gets_no_sandbox(
    worktree: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, path = worktree
    (path / ".git").write_text(f"gitdir: {repo / '.git'}\n")  # the main checkout's own
    with pytest.raises(OperationError, match="is no longer a git worktree of"):
        make_share(tmp_path / "share", path, repo, "seedbed/1-task")


def test_only_sound_objects_and_the_tasks_own_branch_come_back(
    worktree: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, path = worktree
    share = make_share(tmp_path / "share", path, repo, "seedbed/1-task")
    tip = share.branch_tip
    # A forged object: its name is not the hash of what it holds.
    forged = share.objects / "ab" / ("c" * 38)
    forged.parent.mkdir()
    forged.write_bytes(zlib.compress(b"blob 4\0evil"))
    # Objects that hash to their names: a blob, and one whose header is no git object's.
    for content in (b"blob 5\0hello", b"junk 4\0abcd"):
        name = hashlib.sha1(content).hexdigest()
        (share.objects / name[:2]).mkdir(exist_ok=True)
        (share.objects / name[:2] / name[2:]).write_bytes(zlib.compress(content))
    # Another task's branch moved in the private copy.
    (share.refs / "2-other").write_text(tip + "\n")

    notes = take_back(share)

    assert not (repo / ".git" / "objects" / "ab" / ("c" * 38)).exists()
    assert git(repo, "cat-file", "-p", hashlib.sha1(b"blob 5\0hello").hexdigest()) == "hello"
    junk = hashlib.sha1(b"junk 4\0abcd").hexdigest()
    assert not (repo / ".git" / "objects" / junk[:2] / junk[2:]).exists()
    assert any("did not match their name" in note for note in notes)
    assert any("2-other, which is not its branch: dropped" in note for note in notes)
    assert "seedbed/2-other" not in git(repo, "branch", "--list")
    assert not share.root.exists()


def test_symlinks_the_agent_leaves_are_never_followed(
    worktree: tuple[Path, Path], tmp_path: Path
) -> None:
    """A secret or an endless device behind a link: the engine, outside, must read
    neither (it would hang on /dev/zero, or name the secret in its notes)."""
    repo, path = worktree
    secret = tmp_path / "secret"
    secret.write_text("0123456789abcdef0123456789abcdef01234567\n")
    share = make_share(tmp_path / "share", path, repo, "seedbed/1-task")
    tip = share.branch_tip
    (share.refs / "1-task").unlink()
    (share.refs / "1-task").symlink_to(secret)
    (share.objects / "ab").mkdir()
    (share.objects / "ab" / ("d" * 38)).symlink_to("/dev/zero")
    (share.objects / "cd").symlink_to(tmp_path)
    (share.objects / "ef").mkdir()
    os.mkfifo(share.objects / "ef" / ("f" * 38))  # read, it would wait for a writer
    os.mkfifo(share.refs / "3-other")

    notes = take_back(share)

    assert git(repo, "rev-parse", "seedbed/1-task").strip() == tip  # not moved
    assert not any("0123456789" in note for note in notes)
    assert not (repo / ".git" / "objects" / "ab" / ("d" * 38)).exists()


def test_the_live_diff_never_reads_an_index_that_is_a_link_or_a_fifo(
    worktree: tuple[Path, Path],
) -> None:
    """An agent may leave its index a link to /dev/zero (the engine's copy of it would
    fill the disk) or a FIFO (it would wait for ever)."""
    _repo, path = worktree
    (path / "new.txt").write_text("new\n")
    index = Path(git(path, "rev-parse", "--path-format=absolute", "--git-path", "index").strip())
    for plant in ("link", "fifo"):
        index.unlink(missing_ok=True)
        if plant == "link":
            index.symlink_to("/dev/zero")
        else:
            os.mkfifo(index)
        assert worktree_diff_stat(path, "main").files == 1  # new.txt


def test_seeding_a_private_home_replaces_a_link_a_run_left(tmp_path: Path) -> None:
    user, private, victim = tmp_path / "user", tmp_path / "private", tmp_path / "victim"
    user.mkdir()
    private.mkdir()
    (user / "auth.json").write_text('{"token": "mine"}')
    victim.write_text("someone else's file\n")
    (private / "auth.json").symlink_to(victim)

    seed(user, private, ("auth.json", "absent.json"))

    assert victim.read_text() == "someone else's file\n"
    copied = private / "auth.json"
    assert not copied.is_symlink() and copied.read_text() == '{"token": "mine"}'
    assert copied.stat().st_mode & 0o777 == 0o600
    assert not (private / "absent.json").exists()


def test_what_an_agent_planted_in_its_git_dir_for_our_git_is_removed(
    worktree: tuple[Path, Path], tmp_path: Path
) -> None:
    """Links and FIFOs in the worktree's own git dir (the agent may write it) are removed
    before the engine's git runs there; a HEAD made a link is the branch's again."""
    repo, path = worktree
    own = Path(git(path, "rev-parse", "--absolute-git-dir").strip())
    outside = tmp_path / "bashrc"
    outside.write_text("mine\n")
    (own / "logs" / "HEAD").unlink()
    (own / "logs" / "HEAD").symlink_to(outside)
    (own / "ORIG_HEAD").unlink(missing_ok=True)
    os.mkfifo(own / "ORIG_HEAD")
    (own / "HEAD").unlink()
    (own / "HEAD").symlink_to(repo / ".git" / "refs" / "heads" / "main")
    (own / "deep").mkdir()
    (own / "deep" / "link").symlink_to(tmp_path)

    [note] = clear_links(own, "seedbed/1-task")

    assert note.endswith("HEAD, ORIG_HEAD, deep/link, logs/HEAD")
    assert (own / "HEAD").read_text() == "ref: refs/heads/seedbed/1-task\n"
    assert not (own / "ORIG_HEAD").exists() and not (own / "logs" / "HEAD").exists()
    (path / "new.txt").write_text("x\n")
    git(path, "add", "new.txt")
    git(path, "commit", "-q", "-m", "after")
    assert outside.read_text() == "mine\n"
    assert clear_links(own, "seedbed/1-task") == []


def test_another_tasks_branch_moved_meanwhile_is_not_the_agents_doing(
    worktree: tuple[Path, Path], tmp_path: Path
) -> None:
    """Other tasks' branches move outside while the run goes on (their own runs, their
    merges): what the agent moved is what differs from the copy it was given."""
    repo, path = worktree
    git(repo, "branch", "seedbed/3-other", "main")
    share = make_share(tmp_path / "share", path, repo, "seedbed/1-task")
    git(repo, "commit", "-q", "--allow-empty", "-m", "elsewhere")  # on main
    git(repo, "branch", "-f", "seedbed/3-other", "main")  # its engine moved it

    notes = take_back(share)

    assert not any("3-other" in note for note in notes), notes
