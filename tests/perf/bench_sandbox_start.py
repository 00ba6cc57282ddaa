"""What the sandbox costs a process at its start: `true` in a real bubblewrap sandbox
(the plan of a real run: home, data dir and main checkout hidden, the git pieces bound)
against the same `true` started bare, each through ManagedProcess as a run starts it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from statistics import median

from harness import Figures, benchmark, log, make_repo, temp_dir

from seedbed.agents.process import ManagedProcess, ProcessSpec
from seedbed.domain.models import SandboxNetwork
from seedbed.sandbox.bwrap import sandbox_support
from seedbed.sandbox.plan import SandboxPlan
from seedbed.sandbox.policy import run_plan
from seedbed.vcs.git import create_worktree


async def _start_to_end(spec: ProcessSpec) -> float:
    """Seconds from asking for the process to its end (its output read)."""
    start = time.perf_counter()
    process = await ManagedProcess.start(spec)
    async for _batch in process.batches():
        pass
    if process.exit_code != 0:
        raise RuntimeError(f"{spec.argv} exited {process.exit_code}")
    return time.perf_counter() - start


def _spec(worktree: Path, sandbox: SandboxPlan | None) -> ProcessSpec:
    return ProcessSpec(argv=["true"], cwd=worktree, env={"PATH": "/usr/bin:/bin"}, sandbox=sandbox)


@benchmark("sandbox_start_overhead_ms", order=75)
def sandbox_start_overhead_ms(quick: bool) -> Figures:
    """Median over 20 (quick) or 100 interleaved starts of each: bare, sandboxed with
    network `model` (the default for new profiles: the relay, a Python, starts first and
    runs `true` as its child) and with network `none`."""
    support = sandbox_support()
    if not support.works:
        raise RuntimeError(support.problem)
    reps = 20 if quick else 100
    with temp_dir("sandbox-start") as tmp:
        repo = make_repo(tmp / "repo", 50)
        worktree = tmp / "data" / "worktrees" / "one"
        create_worktree(repo, worktree, "perf/one", "main")
        proxy_dir = tmp / "proxy"  # the relay reaches the proxy only for a connection
        proxy_dir.mkdir()
        plans: dict[str, SandboxPlan | None] = {
            "bare": None,
            "model": run_plan(
                worktree, tmp / "data", repo, SandboxNetwork.MODEL, proxy_dir=proxy_dir
            ),
            "none": run_plan(worktree, tmp / "data", repo, SandboxNetwork.NONE),
        }
        times: dict[str, list[float]] = {name: [] for name in plans}

        async def measure() -> None:
            for rep in range(-2, reps):  # two untimed warm-ups each
                for name, sandbox in plans.items():
                    took = await _start_to_end(_spec(worktree, sandbox))
                    if rep >= 0:
                        times[name].append(took)

        asyncio.run(measure())
    bare, model, none = (median(times[name]) * 1000 for name in ("bare", "model", "none"))
    log(
        f"true: bare {bare:.1f} ms, sandboxed (network model) {model:.1f} ms, "
        f"(network none) {none:.1f} ms ({support.version})"
    )
    return {
        "sandbox_start_overhead_ms": round(model - bare, 1),
        "sandbox_start_overhead_none_ms": round(none - bare, 1),
        "sandbox_start_bare_ms": round(bare, 1),
        "sandbox_start_sandboxed_ms": round(model, 1),
        "sandbox_start_sandboxed_none_ms": round(none, 1),
    }
