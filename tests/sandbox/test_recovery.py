"""An engine killed while a sandboxed agent runs: the next one takes back what the agent
committed in its private git pieces before it commits what is left (the worktree's index
may name objects only those pieces hold), and the repository stays whole."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from tests.conftest import SeedbedCli, git

pytestmark = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)


def test_a_killed_engines_sandboxed_commits_are_taken_back_by_recovery(
    seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    work = "echo inside > inside.txt && git add inside.txt && git commit -qm inside && sleep 60"
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", work,
        "--sandbox", "--network", "none",
    )  # fmt: skip
    task_id = int(
        seedbed.ok("task", "add", "--project", "demo", "--title", "T", "--start").out.strip()
    )
    engine = seedbed.spawn("run")
    branch = ""
    deadline = time.monotonic() + 30
    while True:  # until the agent's commit is in its private ref
        assert time.monotonic() < deadline, "the agent never committed"
        branch = seedbed.show(task_id).get("branch") or ""
        shares = list((seedbed.data_dir / "sandbox").glob("run-*/objects/??/*"))
        if branch and len(shares) >= 3:  # its blob, tree and commit
            break
        time.sleep(0.1)
    base = git(repo, "rev-parse", "main").strip()
    os.kill(engine.pid, signal.SIGKILL)
    engine.communicate(timeout=10)

    seedbed.ok("run", "--until-idle")  # its start-up recovery

    task = seedbed.show(task_id)
    assert task["phase"] == "interrupted", task
    assert "inside" in git(repo, "log", "--format=%s", f"{base}..{branch}").splitlines()
    assert git(repo, "show", f"{branch}:inside.txt") == "inside\n"
    assert git(repo, "fsck", "--no-progress", "--connectivity-only").strip() == ""
    assert not list((seedbed.data_dir / "sandbox").glob("run-*"))
