"""A running sandboxed agent's card follows its work when it stages it: the worktree's
index then names blobs that only its private objects hold, and the engine's live diff,
outside, must still measure the files."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from seedbed.vcs.diff import worktree_diff_stat
from seedbed.vcs.git import create_worktree
from tests.conftest import SeedbedCli, git

needs_sandbox = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)


def card(seedbed: SeedbedCli, task_id: int) -> dict[str, Any]:
    """The task's row as `task list` has it: the size the engine measured last."""
    return next(t for t in seedbed.ok("task", "list", "--json").json() if t["id"] == task_id)


@needs_sandbox
def test_the_live_diff_counts_what_a_sandboxed_agent_staged(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    work = "printf 'one\\ntwo\\n' > staged.txt && git add staged.txt && sleep 60"
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", work,
        "--sandbox", "--network", "none",
    )  # fmt: skip
    task_id = int(
        seedbed.ok("task", "add", "--project", project, "--title", "T", "--start").out.strip()
    )
    engine = seedbed.spawn("run")
    try:
        deadline = time.monotonic() + 40  # the engine measures every 10 s
        while True:
            task = card(seedbed, task_id)
            if task["diff_files"]:
                break
            assert time.monotonic() < deadline, f"the live diff never counted it: {task}"
            time.sleep(0.2)
        assert task["phase"] == "implementing", task  # still running
        assert (task["diff_files"], task["diff_insertions"]) == (1, 2)
        seedbed.ok("task", "stop", str(task_id))
    finally:
        engine.kill()
        engine.communicate(timeout=10)


def test_a_staged_file_whose_blob_the_repository_lacks_is_measured_from_the_file(
    repo: Path, tmp_path: Path
) -> None:
    """As the agent's index has it: the entry matches the file, its blob is elsewhere."""
    worktree = tmp_path / "wt"
    create_worktree(repo, worktree, "seedbed/1-task", "main")
    staged = worktree / "staged.txt"
    staged.write_text("one\ntwo\n")
    past = time.time() - 60  # older than the index: git trusts the entry, hashes nothing
    os.utime(staged, (past, past))
    git(worktree, "update-index", "--add", "--info-only", "staged.txt")
    (worktree / "later.txt").write_text("later\n")
    blob = git(worktree, "rev-parse", ":staged.txt").strip()
    found = subprocess.run(["git", "-C", str(worktree), "cat-file", "-e", blob], check=False)
    assert found.returncode != 0  # not in the repository

    stat = worktree_diff_stat(worktree, "main")

    assert (stat.files, stat.insertions) == (2, 3)
    assert "staged.txt" in git(worktree, "ls-files", "--stage")  # its index untouched
