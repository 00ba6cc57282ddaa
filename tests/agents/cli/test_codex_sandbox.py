"""When Codex's Linux sandbox cannot start its commands: a home under the temporary
directory with a bubblewrap on PATH (see seedbed/agents/cli/codex_sandbox.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.codex import CodexAdapter
from seedbed.agents.cli.codex_sandbox import codex_home, helper_problem, sandbox_problem
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, AgentProfile, RunKind

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
