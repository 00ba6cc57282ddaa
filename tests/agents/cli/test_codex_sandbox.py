"""When Codex's Linux sandbox cannot start its commands: a home under the temporary
directory with a bubblewrap on PATH (see seedbed/agents/cli/codex_sandbox.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.codex import CodexAdapter
from seedbed.agents.cli.codex_sandbox import codex_home, helper_problem, sandbox_problem
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, AgentProfile, RunKind, SandboxNetwork
from seedbed.sandbox.plan import SandboxPlan

BWRAP = "/usr/bin/bwrap"


def test_codex_home_is_codex_home_else_under_home() -> None:
    assert codex_home({"HOME": "/home/u", "CODEX_HOME": "/srv/codex"}) == Path("/srv/codex")
    assert codex_home({"HOME": "/home/u", "CODEX_HOME": ""}) == Path("/home/u/.codex")
    assert codex_home({}) is None


@pytest.mark.parametrize(
    "env",
    [
        {"HOME": "/tmp/h"},
        {"HOME": "/home/u", "CODEX_HOME": "/tmp/codex"},
        {"HOME": "/var/scratch/h", "TMPDIR": "/var/scratch"},
        {"HOME": "/home/u", "TMPDIR": ""},  # every path starts with the empty one
    ],
)
def test_a_home_under_the_temporary_directory_with_bubblewrap_is_a_problem(
    env: dict[str, str],
) -> None:
    problem = helper_problem(env, BWRAP)
    assert problem.startswith("Codex cannot start its sandboxed commands here: its home ")
    assert f"bubblewrap at {BWRAP}" in problem
    assert "Set CODEX_HOME to a directory outside" in problem


@pytest.mark.parametrize(
    ("env", "bwrap"),
    [
        ({"HOME": "/home/u"}, BWRAP),  # a user's machine
        ({"HOME": "/tmp/h"}, None),  # Codex uses the bubblewrap it brings
        ({"HOME": "/tmp/h", "TMPDIR": "/tmp/h/tmp"}, BWRAP),  # the home is not under it
        ({"HOME": "/tmpfoo/h"}, BWRAP),  # a sibling of /tmp, not under it
        ({}, BWRAP),
    ],
)
def test_no_problem(env: dict[str, str], bwrap: str | None) -> None:
    assert helper_problem(env, bwrap) == ""


def fake_bwrap(directory: Path) -> Path:
    directory.mkdir(exist_ok=True)
    program = directory / "bwrap"
    program.write_text("#!/bin/sh\nexit 1\n")
    program.chmod(0o755)
    return program


def test_bubblewrap_is_looked_for_on_the_path_codex_gets(tmp_path: Path) -> None:
    program = fake_bwrap(tmp_path / "bin")
    env = {"HOME": "/tmp/h", "PATH": f"{tmp_path / 'empty'}:{program.parent}"}
    assert f"bubblewrap at {program} needs" in sandbox_problem(env)
    assert sandbox_problem({**env, "PATH": str(tmp_path / "empty")}) == ""
    assert sandbox_problem({"HOME": "/tmp/h"}) == ""  # no PATH: nothing found


def run_request(kind: RunKind) -> RunRequest:
    return RunRequest(
        task_id=1, run_id=1, run_number=1, kind=kind, title="t", prompt="p",
        worktree=Path("/work/trees/1-t"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "kind", "refused"),
    [
        ("", RunKind.IMPLEMENT, True),
        ("workspace-write", RunKind.IMPLEMENT, True),
        ("read-only", RunKind.IMPLEMENT, True),
        ("danger-full-access", RunKind.PLAN, True),  # a planner reads, in the sandbox
        ("danger-full-access", RunKind.IMPLEMENT, False),
        ("bypass", RunKind.IMPLEMENT, False),
    ],
)
def test_prepare_refuses_only_a_sandboxed_run(
    tmp_path: Path, mode: str, kind: RunKind, refused: bool
) -> None:
    program = fake_bwrap(tmp_path / "bin")
    env = {"HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path), "PATH": str(program.parent)}
    profile = AgentProfile(name="c", kind=AgentKind.CODEX, permission_mode=mode)

    def prepare() -> object:
        return CodexAdapter().prepare(profile, run_request(kind), "/bin/codex", env, "")

    if refused:
        with pytest.raises(UserError, match="under the temporary directory"):
            prepare()
    else:
        prepare()


# In Seedbed's sandbox (docs/decisions.md): Codex's own sandbox is off, but for read-only.


def boxed(
    kind: RunKind = RunKind.IMPLEMENT, network: SandboxNetwork = SandboxNetwork.MODEL
) -> RunRequest:
    worktree = Path("/work/trees/1-t")
    plan = SandboxPlan(cwd=worktree, env={"TMPDIR": "/tmp"}, network=network)
    return run_request(kind).model_copy(update={"sandbox": plan})


@pytest.mark.parametrize(
    ("mode", "kind", "flags"),
    [
        ("", RunKind.IMPLEMENT, ["--sandbox", "danger-full-access"]),
        ("workspace-write", RunKind.IMPLEMENT, ["--sandbox", "danger-full-access"]),
        ("danger-full-access", RunKind.IMPLEMENT, ["--sandbox", "danger-full-access"]),
        ("bypass", RunKind.IMPLEMENT, ["--dangerously-bypass-approvals-and-sandbox"]),
        ("read-only", RunKind.IMPLEMENT, ["--sandbox", "danger-full-access"]),
        ("danger-full-access", RunKind.REVIEW, ["--sandbox", "danger-full-access"]),
    ],
)
def test_in_seedbeds_sandbox_codex_s_own_is_off(mode: str, kind: RunKind, flags: list[str]) -> None:
    """Ours does what Codex's would, read-only included (its worktree read-only)."""
    profile = AgentProfile(name="c", kind=AgentKind.CODEX, permission_mode=mode)
    env = {"HOME": "/home/u", "PATH": "/usr/bin:/bin"}
    adapter = CodexAdapter()
    argv = adapter.prepare(profile, boxed(kind), "/bin/codex", env, "").argv
    assert argv[6 : 6 + len(flags)] == flags
    reads_only = mode == "read-only" or kind is RunKind.REVIEW
    assert adapter.sandbox_read_only(profile, boxed(kind)) is reads_only


def test_in_seedbeds_sandbox_a_home_under_tmp_is_no_problem(tmp_path: Path) -> None:
    """Outside ours, a read-only Codex with its home under /tmp cannot start its own
    sandbox's helper (refused, saying why); inside ours, its own sandbox is off."""
    program = fake_bwrap(tmp_path / "bin")
    profile = AgentProfile(name="c", kind=AgentKind.CODEX, permission_mode="read-only")
    env = {"HOME": "/tmp/h", "TMPDIR": "/tmp", "PATH": str(program.parent)}
    adapter = CodexAdapter()
    with pytest.raises(UserError, match="under the temporary directory /tmp"):
        adapter.prepare(profile, run_request(RunKind.IMPLEMENT), "/bin/codex", env, "")
    adapter.prepare(profile, boxed(), "/bin/codex", env, "")


def test_its_home_is_its_own_writable_directory_in_a_sandbox() -> None:
    adapter = CodexAdapter()
    env = {"HOME": "/home/u"}
    assert adapter.sandbox_dirs(env) == [Path("/home/u/.codex")]
    assert adapter.sandbox_env(env) == {"CODEX_HOME": "/home/u/.codex"}
    given = {**env, "CODEX_HOME": "/srv/codex"}
    assert adapter.sandbox_dirs(given) == [Path("/srv/codex")]
    assert adapter.sandbox_env(given) == {"CODEX_HOME": "/srv/codex"}
    assert (adapter.sandbox_dirs({}), adapter.sandbox_env({})) == ([], {})


@pytest.mark.parametrize(
    ("network", "off"),
    [(SandboxNetwork.MODEL, True), (SandboxNetwork.NONE, True), (SandboxNetwork.FULL, False)],
)
def test_its_usage_metrics_are_off_where_they_could_not_get_out(
    network: SandboxNetwork, off: bool
) -> None:
    profile = AgentProfile(name="c", kind=AgentKind.CODEX)
    env = {"HOME": "/home/u"}
    argv = CodexAdapter().prepare(profile, boxed(network=network), "/bin/codex", env, "").argv
    assert ("analytics.enabled=false" in argv) is off
    assert argv[argv.index("--cd") - 2 : argv.index("--cd")] == (
        ["-c", "analytics.enabled=false"] if off else ["--sandbox", "danger-full-access"]
    )
    unboxed = CodexAdapter().prepare(profile, run_request(RunKind.IMPLEMENT), "/bin/codex", env, "")
    assert "analytics.enabled=false" not in unboxed.argv
