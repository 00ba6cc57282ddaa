"""Which runs are sandboxed and in what sandbox (sandbox/ makes it; this decides it).

A run is sandboxed when the profile that runs its agent says so, with the profile's
network mode. The project's setup and check commands of a task run in a sandbox when its
own agent's profile is sandboxed, with the project's network setting (`check_network`:
checks often need none), so a task left alone never runs anything with the user's full
rights. The paths and hosts a sandbox adds are the profile's and the project's.
"""

from __future__ import annotations

from pathlib import Path

from seedbed.domain.models import AgentProfile, Project, Task
from seedbed.sandbox.gitshare import GitShare, make_share
from seedbed.sandbox.plan import SandboxPlan
from seedbed.sandbox.policy import run_plan
from seedbed.store import Store

SANDBOX_KINDS_NOTE = "the sandbox covers command and built-in agents so far"


def sandboxed(profile: AgentProfile | None) -> bool:
    return profile is not None and profile.sandbox


def share_dir(data_dir: Path, run_id: int) -> Path:
    """Where a run's private git pieces live while it runs (under the hidden data dir)."""
    return data_dir / "sandbox" / f"run-{run_id}"


def agent_sandbox(
    data_dir: Path, project: Project, task: Task, profile: AgentProfile, run_id: int
) -> tuple[SandboxPlan, GitShare]:
    """The sandbox of a run's agent, which may commit on the task's branch (its git
    pieces made now: `take_back` them when it ends). On a git thread."""
    assert task.worktree is not None and task.branch is not None
    share = make_share(share_dir(data_dir, run_id), task.worktree, task.branch)
    paths = [*profile.sandbox_paths, *project.sandbox_paths]
    plan = run_plan(task.worktree, data_dir, project.path, profile.network, share, paths)
    return plan, share


def command_sandbox(
    store: Store, project: Project, task: Task, worktree: Path
) -> SandboxPlan | None:
    """The sandbox of the project's setup or check command run for `task` in `worktree`
    (its own, or a merge check's); None when its agent is not sandboxed."""
    profile = store.get_profile(task.profile_id) if task.profile_id else None
    if not sandboxed(profile):
        return None
    assert profile is not None
    data_dir = store.path.parent
    paths = [*profile.sandbox_paths, *project.sandbox_paths]
    return run_plan(worktree, data_dir, project.path, project.check_network, None, paths)


def describe(plan: SandboxPlan) -> str:
    """One line for the run's log: what the sandbox lets it see and reach."""
    writable = [str(bind.target) for bind in plan.binds if bind.writable]
    return (
        f"sandbox: network {plan.network.value}; writable: {', '.join(writable)}; hidden: "
        + ", ".join(str(path) for path in plan.hidden)
    )
