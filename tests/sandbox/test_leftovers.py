"""What the sandbox keeps for a task (its agent CLIs' private home, its runs' git pieces)
goes once the task can no longer run: merged, discarded, or its project removed; git
pieces that still hold work not taken back are kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from seedbed.core.sandboxing import forget_task_sandbox, share_dir, task_home
from seedbed.sandbox.bwrap import sandbox_support
from seedbed.sandbox.gitshare import RECORD, make_share
from tests.conftest import SeedbedCli, git

pytestmark = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)


def boxed_task(seedbed: SeedbedCli, repo: Path, title: str = "T") -> int:
    """A task whose sandboxed command agent wrote a file, awaiting review."""
    if seedbed("profile", "show", "boxed").code != 0:
        seedbed.ok("profile", "add", "boxed", "--kind", "command", "--command",
                   "echo hi > hi.txt", "--sandbox", "--network", "none")  # fmt: skip
    added = seedbed.ok("task", "add", "--project", "demo", "--title", title, "--start")
    task_id = int(added.out.strip())
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    return task_id


def leave(seedbed: SeedbedCli, task_id: int) -> tuple[Path, Path]:
    """What a task's runs leave: its CLI's sessions in its private home (as Claude Code
    leaves them), and the git pieces of its run that a take-back cut short left (the
    record gone first, some objects still there; one folder made read-only by the
    agent). The home and the pieces."""
    home = task_home(seedbed.data_dir, task_id)
    sessions = home / ".claude" / "projects" / "p"
    sessions.mkdir(parents=True)
    (sessions / "s.jsonl").write_text('{"type": "user"}\n')
    [run] = seedbed.show(task_id)["runs"]
    share = share_dir(seedbed.data_dir, run["id"])
    assert not share.exists()  # its end took it back and removed it
    folder = share / "objects" / "ab"
    folder.mkdir(parents=True)
    (folder / "cdef").write_bytes(b"x")
    folder.chmod(0o500)
    return home, share


@pytest.fixture
def demo(seedbed: SeedbedCli, repo: Path) -> Path:
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    return repo


def test_a_discarded_tasks_home_and_leftover_pieces_are_removed(
    seedbed: SeedbedCli, demo: Path
) -> None:
    kept = boxed_task(seedbed, demo, "kept")
    other_home, _ = leave(seedbed, kept)
    task_id = boxed_task(seedbed, demo)
    home, share = leave(seedbed, task_id)

    seedbed.ok("task", "discard", str(task_id))

    assert not home.exists() and not share.exists()
    assert (other_home / ".claude" / "projects" / "p" / "s.jsonl").is_file()


def test_a_merged_tasks_home_is_removed(seedbed: SeedbedCli, demo: Path) -> None:
    task_id = boxed_task(seedbed, demo)
    home, share = leave(seedbed, task_id)

    seedbed.ok("task", "approve", str(task_id))

    assert seedbed.show(task_id)["state"] == "merged"
    assert git(demo, "show", "main:hi.txt") == "hi\n"
    assert not home.exists() and not share.exists()


def test_a_removed_projects_task_homes_are_removed(seedbed: SeedbedCli, demo: Path) -> None:
    task_id = boxed_task(seedbed, demo)
    seedbed.ok("task", "discard", str(task_id))
    home, share = leave(seedbed, task_id)  # as a Seedbed before this one left them
    planned = int(seedbed.ok("task", "add", "--project", "demo", "--title", "P").out.strip())
    planned_home = task_home(seedbed.data_dir, planned)
    (planned_home / ".codex").mkdir(parents=True)  # an earlier run's, requeued since

    seedbed.ok("project", "remove", "demo")

    assert not home.exists() and not share.exists() and not planned_home.exists()


def test_pieces_that_still_hold_work_not_taken_back_are_kept(
    seedbed: SeedbedCli, demo: Path
) -> None:
    """A run whose engine died and whose recovery could not take its pieces back (its
    worktree was gone): its record is there, its commits only in those pieces."""
    task_id = boxed_task(seedbed, demo)
    shown = seedbed.show(task_id)
    [run] = shown["runs"]
    share = share_dir(seedbed.data_dir, run["id"])
    make_share(share, Path(shown["worktree"]), demo, shown["branch"])
    assert (share / RECORD).is_file()

    seedbed.ok("task", "discard", str(task_id))

    assert json.loads((share / RECORD).read_text())["branch"] == shown["branch"]
    assert not task_home(seedbed.data_dir, task_id).exists()


def test_an_engines_start_removes_what_an_earlier_one_left(seedbed: SeedbedCli, demo: Path) -> None:
    """Homes of tasks that can no longer run and pieces taken back, left by an engine
    that died between a task's move and their removal (or by an older Seedbed); a task
    that may run again keeps its home, and pieces not taken back stay."""
    done = boxed_task(seedbed, demo, "done")
    seedbed.ok("task", "discard", str(done))
    home, share = leave(seedbed, done)
    waiting = boxed_task(seedbed, demo, "waiting")
    waiting_home, _ = leave(seedbed, waiting)
    shown = seedbed.show(waiting)
    unreturned = share_dir(seedbed.data_dir, shown["runs"][0]["id"])
    (unreturned / "objects" / "ab").chmod(0o700)  # what leave() made read-only
    shutil.rmtree(unreturned)
    make_share(unreturned, Path(shown["worktree"]), demo, shown["branch"])
    gone_task = task_home(seedbed.data_dir, 999)  # of a task whose project was removed
    gone_task.mkdir()

    seedbed.ok("run", "--until-idle")

    assert not home.exists() and not share.exists() and not gone_task.exists()
    assert waiting_home.is_dir() and (unreturned / RECORD).is_file()


def test_forgetting_a_task_leaves_what_is_not_a_folder_of_its_own(tmp_path: Path) -> None:
    """A link at the home's or a piece's place (never followed), and the pieces of runs
    not its own, stay."""
    data, victim = tmp_path / "data", tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep\n")
    task_home(data, 3).parent.mkdir(parents=True)
    task_home(data, 3).symlink_to(victim)
    share_dir(data, 5).symlink_to(victim)
    other = share_dir(data, 6)
    other.mkdir()

    forget_task_sandbox(data, 3, [5])

    assert (victim / "keep.txt").read_text() == "keep\n"
    assert other.is_dir()
