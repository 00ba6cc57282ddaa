"""An engine killed while a sandboxed agent runs: the next one takes back what the agent
committed in its private git pieces before it commits what is left (the worktree's index
may name objects only those pieces hold), and the repository stays whole; the socket dir
of its proxy is removed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from seedbed.sandbox.plan import PROXY_SOCKET
from seedbed.sandbox.proxy_dirs import LOCK, PREFIX
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


HOLDER = """
import sys, time
from pathlib import Path
from seedbed.sandbox.proxy_dirs import serving
with serving(Path(sys.argv[1])):
    print("serving", flush=True)
    time.sleep(120)
"""


def test_a_killed_engines_proxy_dir_is_removed_at_the_next_start_and_no_living_ones(
    seedbed: SeedbedCli, repo: Path
) -> None:
    """Its proxy's socket dir outlives an engine killed mid-run; the next engine's start
    removes it, but not one another living process serves (another data dir's engine),
    nor one without a lock (an older Seedbed's)."""
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    seedbed.ok("profile", "add", "boxed", "--kind", "command", "--command", "sleep 60",
               "--sandbox", "--network", "model")  # fmt: skip
    seedbed.ok("task", "add", "--project", "demo", "--title", "T", "--start")
    temporary = Path(tempfile.mkdtemp(prefix="sb-", dir="/tmp"))  # short: a socket's path
    env = {**os.environ, "TMPDIR": str(temporary)}
    living = temporary / f"{PREFIX}{'a' * 12}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(living)], stdout=subprocess.PIPE, text=True, env=env
    )
    older = temporary / f"{PREFIX}{'b' * 12}"
    older.mkdir()
    engine = seedbed.spawn("run", env=env)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "serving\n"
        deadline = time.monotonic() + 30
        while not (found := list(temporary.glob(f"{PREFIX}*/{PROXY_SOCKET}"))):
            assert time.monotonic() < deadline, "the run's proxy never served"
            time.sleep(0.1)
        [socket_dir] = [path.parent for path in found]
        long_ago = time.time() - 3600  # both past the grace a lock just made has
        for lock in (socket_dir / LOCK, living / LOCK):
            os.utime(lock, (long_ago, long_ago))
        os.kill(engine.pid, signal.SIGKILL)
        engine.communicate(timeout=10)
        assert socket_dir.is_dir()  # what a killed engine leaves

        again = seedbed.spawn("run", "--until-idle", env=env)
        _out, err = again.communicate(timeout=60)
        assert again.returncode == 0, err

        assert not socket_dir.exists()
        assert (living / LOCK).is_file() and older.is_dir()
    finally:
        for process in (engine, holder):
            process.kill()
            process.communicate(timeout=10)
        shutil.rmtree(temporary, ignore_errors=True)
