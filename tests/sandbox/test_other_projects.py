"""Every project Seedbed knows is hidden from every sandbox: an agent of one project,
and its setup and checks, cannot read another project's main checkout (its own worktree,
branch and commits work as before)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed.domain.models import SandboxNetwork
from seedbed.sandbox.bwrap import bwrap_argv, find_bwrap, sandbox_support
from seedbed.sandbox.policy import run_plan
from seedbed.vcs.git import create_worktree
from tests.conftest import SeedbedCli, git, make_repo

pytestmark = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)

SOURCES = Path(__file__).resolve().parents[2]


@pytest.fixture
def other_repo() -> Iterator[Path]:
    """A project's checkout outside /tmp and the test's home (both hidden anyway): only
    its being a project hides it."""
    scratch = Path(tempfile.mkdtemp(prefix=".other-project-", dir=SOURCES))
    try:
        yield make_repo(scratch / "other", {"secret.txt": "THE OTHER PROJECT'S SECRET\n"})
    finally:
        shutil.rmtree(scratch)


def test_an_agent_of_one_project_cannot_read_another_projects_checkout(
    seedbed: SeedbedCli, repo: Path, other_repo: Path
) -> None:
    secret = other_repo / "secret.txt"
    seen = f"cat {secret} > seen.txt 2>/dev/null || echo hidden > seen.txt"
    not_seen = f"test ! -e {secret}"
    seedbed.ok("project", "add", str(other_repo), "--name", "other")
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", not_seen)
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", seen,
        "--sandbox", "--network", "none",
    )  # fmt: skip
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Peek", "--profile", "boxed", "--start"
        ).out.strip()
    )
    seedbed.ok("run", "--until-idle")

    task = seedbed.show(task_id)
    assert git(repo, "show", f"{task['branch']}:seen.txt") == "hidden\n"
    assert (task["phase"], task["checks"]["status"]) == ("ready", "passed"), task


def test_a_project_holding_the_runs_own_places_hides_them_and_the_run_still_works(
    tmp_path: Path, repo: Path
) -> None:
    """A project (a folder of checkouts) that holds this run's checkout and data dir: its
    empty directory comes first, the places inside it after, the binds back on top."""
    data_dir = tmp_path / "data"
    worktree = data_dir / "worktrees" / "one"
    create_worktree(repo, worktree, "task/one", "main")
    (tmp_path / "beside.txt").write_text("another checkout's file\n")
    plan = run_plan(worktree, data_dir, repo, SandboxNetwork.NONE, others=[tmp_path])
    assert plan.hidden.index(tmp_path) < plan.hidden.index(data_dir)
    script = (
        f"cat README.md && ! cat {tmp_path / 'beside.txt'} 2>/dev/null"
        f" && ! cat {repo / 'README.md'} 2>/dev/null && git log --format=%s -1"
    )
    bwrap = find_bwrap()
    assert bwrap is not None
    done = subprocess.run(
        bwrap_argv(bwrap, plan, ["sh", "-c", script]), capture_output=True, text=True, timeout=30
    )
    assert (done.returncode, done.stdout) == (0, "# demo\ninitial commit\n"), done.stderr
