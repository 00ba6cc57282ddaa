"""Creating a task's workspace the way Seedbed does, against a bare `git worktree add`."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from harness import Figures, benchmark, log, make_repo, median, temp_dir

REPO_FILES = 5_000


def _seedbed_worktree(repo: Path, path: Path, branch: str) -> float:
    from seedbed.vcs import create_worktree

    start = time.perf_counter()
    create_worktree(repo, path, branch, "main")
    return time.perf_counter() - start


def _git_worktree(repo: Path, path: Path, branch: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["git", "worktree", "add", "-b", branch, str(path), "main"],
        cwd=repo,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


@benchmark("workspace_vs_git_worktree", order=10)
def workspace_vs_git_worktree(quick: bool) -> Figures:
    reps = 3 if quick else 10
    with temp_dir("workspace") as tmp:
        start = time.perf_counter()
        repo = make_repo(tmp / "repo", REPO_FILES)
        log(f"generated a {REPO_FILES}-file repository in {time.perf_counter() - start:.1f}s")
        import seedbed.vcs  # noqa: F401  (imported before timing starts)

        ways = {"seedbed": _seedbed_worktree, "git": _git_worktree}
        times: dict[str, list[float]] = {name: [] for name in ways}
        # One untimed warm-up each (page cache, imports), then interleaved repetitions,
        # alternating which goes first so neither always runs on a warmer cache. Worktrees
        # are kept, as Seedbed keeps its tasks' worktrees: on this VM's disk, deleting 5,000
        # files between repetitions made later checkouts slower and far noisier.
        for rep in range(-1, reps):
            order = list(ways) if rep % 2 == 0 else list(reversed(ways))
            for name in order:
                tag = f"{name}-{rep + 1}"
                path = tmp / "worktrees" / tag
                seconds = ways[name](repo, path, f"perf/{tag}")
                if rep >= 0:
                    times[name].append(seconds)
        workspace_ms = median(times["seedbed"]) * 1000
        git_ms = median(times["git"]) * 1000
        paired = median([s / g for s, g in zip(times["seedbed"], times["git"], strict=True)])
        log(f"median of paired ratios (a noise check): {paired:.3f}")
        log(
            "workspace ms: "
            + ", ".join(f"{t * 1000:.1f}" for t in times["seedbed"])
            + " | git worktree ms: "
            + ", ".join(f"{t * 1000:.1f}" for t in times["git"])
        )
    return {
        "workspace_vs_git_worktree": round(workspace_ms / git_ms, 3),
        "workspace_ms": round(workspace_ms, 1),
        "git_worktree_ms": round(git_ms, 1),
    }
