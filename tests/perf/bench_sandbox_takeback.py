"""sandbox_takeback_ms: what taking back a sandboxed run's git work costs at its end.

A repository of 5,000 files (1,000 with --quick); in each round an agent's shell script
makes 10 commits in a real bubblewrap sandbox (each changes two files and adds one), as
an agent that commits as it goes does, then `take_back` runs as at the run's end: its
objects checked, packed through `git index-pack --strict`, its branch moved. The figure
is the median of `take_back` alone over the rounds (target: well under a second), and
`sandbox_takeback_max_ms` the slowest: the first round, whose `git add -A` in a fresh
worktree writes every file's blob again into the private objects (git cannot freshen the
read-only ones), so that there are thousands of objects to look at and remove.
"""

from __future__ import annotations

import os
import subprocess
import time

from harness import Figures, benchmark, log, make_repo, median, temp_dir

from seedbed.domain.models import SandboxNetwork
from seedbed.sandbox.bwrap import bwrap_argv, sandbox_environment, sandbox_support
from seedbed.sandbox.gitshare import make_share
from seedbed.sandbox.policy import run_plan
from seedbed.sandbox.takeback import take_back
from seedbed.vcs.git import create_worktree

BRANCH = "seedbed/1-perf"
COMMITS = 10
# Ten commits, each of two changed files and a new one, as an agent that commits as it
# goes makes them; $1 tells the rounds apart.
SCRIPT = """
for n in $(seq 1 {commits}); do
    echo "round $1 change $n" >> src/pkg000/module_00000.py
    echo "round $1 change $n" >> src/pkg001/module_00100.py
    echo "round $1 change $n" > "new_$1_$n.txt"
    git add -A && git commit -qm "round $1 change $n"
done
"""


@benchmark("sandbox_takeback_ms", order=76)
def sandbox_takeback_ms(quick: bool) -> Figures:
    support = sandbox_support()
    if support.bwrap is None or not support.works:
        raise RuntimeError(support.problem)
    files, rounds = (1000, 3) if quick else (5000, 7)
    times: list[float] = []
    with temp_dir("sandbox-takeback") as tmp:
        repo = make_repo(tmp / "repo", files)
        worktree = tmp / "data" / "worktrees" / "one"
        create_worktree(repo, worktree, BRANCH, "main")
        identity = {"GIT_AUTHOR_NAME": "Perf", "GIT_AUTHOR_EMAIL": "perf@example.com"}
        for round_ in range(rounds):
            share = make_share(tmp / "data" / "sandbox" / "run-1", worktree, repo, BRANCH)
            plan = run_plan(worktree, tmp / "data", repo, SandboxNetwork.NONE, share)
            script = SCRIPT.format(commits=COMMITS)
            subprocess.run(
                bwrap_argv(support.bwrap, plan, ["sh", "-ec", script, "sh", str(round_)]),
                env=sandbox_environment({**os.environ, **identity}, plan),
                check=True,
                capture_output=True,
                timeout=120,
            )
            start = time.perf_counter()
            notes = take_back(share)
            times.append(time.perf_counter() - start)
            if notes:
                raise RuntimeError(f"take-back said {notes}")
    took, slowest = median(times) * 1000, max(times) * 1000
    log(f"take_back of {COMMITS} commits, {files} files: {took:.1f} ms (at most {slowest:.1f})")
    return {"sandbox_takeback_ms": round(took, 1), "sandbox_takeback_max_ms": round(slowest, 1)}
