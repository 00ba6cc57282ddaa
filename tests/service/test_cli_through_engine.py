"""The command line with an engine running: its commands go through the engine (one
writer), print what they print without one, and say clearly when the engine is gone, of
another version, or reached through a forwarded socket."""

from __future__ import annotations

import os
import re
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from seedbed.api.endpoint import ENGINE_SOCKET_ENV, SOCKET_NAME
from seedbed.api.errors import ProtocolMismatch
from seedbed.api.protocol import PROTOCOL_VERSION
from seedbed.api.server import ApiServer
from seedbed.api.sync_client import SyncClient
from seedbed.core.merging import approve
from seedbed.core.verbs import verb_name
from seedbed.domain.errors import UserError
from tests.api.conftest import LoopThread, verbs
from tests.api.relay import forwarded
from tests.conftest import SeedbedCli, make_repo
from tests.service.conftest import Engines
from tests.service.test_engine_process import NEVER_IDLE, heard, wait_for

SLEEPER = "echo started; sleep 30"
WRITER = "echo hello > hello.txt"


def commands(cli: SeedbedCli, repo: Path) -> list[tuple[tuple[str, ...], Any]]:
    """The write commands of the issue, each with what it should be heard changing."""
    return [
        (("project", "add", str(repo), "--name", "demo", "--check", "true"), {"projects": True}),
        (
            (
                "profile",
                "add",
                "sleeper",
                "--kind",
                "command",
                "--command",
                SLEEPER,
                "--timeout",
                "60",
            ),
            {"profiles": True},
        ),
        (
            ("task", "add", "--project", "demo", "--title", "One", "--profile", "sleeper"),
            {"tasks": [1]},
        ),
        (
            ("task", "add", "--project", "demo", "--title", "Two", "--profile", "sleeper"),
            {"tasks": [2]},
        ),
        (("task", "move", "2", "--before", "1"), {"tasks": [1, 2]}),
        (("task", "start", "1"), {"tasks": [1]}),
    ]


def changed(payload: dict[str, Any]) -> dict[str, Any]:
    """A Changed as the engine sent it, without its empty parts."""
    return {
        key: sorted(value) if key == "tasks" else value for key, value in payload.items() if value
    }


def test_writes_go_through_the_engine_and_print_what_they_print_without_one(
    seedbed: SeedbedCli,
    engines: Engines,
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Without an engine: what each command prints.
    alone = SeedbedCli(tmp_path / "alone", capsys)
    expected = [
        alone.ok(*args).out for args, _ in commands(alone, make_repo(tmp_path / "alone-repo"))
    ]
    assert not (tmp_path / "alone" / SOCKET_NAME).exists()

    engines.start(env=NEVER_IDLE)
    with SyncClient.connect(data_dir, client_name="window") as window:
        window.subscribe(["changes"])
        for (args, what), printed in zip(
            commands(seedbed, make_repo(tmp_path / "repo")), expected, strict=True
        ):
            assert seedbed.ok(*args).out == printed
            # Only a verb done by the engine publishes what it changed.
            assert changed(heard(window, "changes", 5)) == what, args
        wait_for(lambda: seedbed.show(1)["runs"], 10, "the engine to start task 1")
        stopped = seedbed.ok("task", "stop", "1").out
        assert changed(heard(window, "changes", 5)) == {"tasks": [1]}
    assert stopped == "task 1: awaiting_review interrupted\n"


def test_the_cli_and_a_window_approve_the_same_task_at_once(
    seedbed: SeedbedCli, engines: Engines, data_dir: Path, project: str
) -> None:
    seedbed.ok("profile", "add", "writer", "--kind", "command", "--command", WRITER)
    engines.start(env=NEVER_IDLE)
    seedbed.ok(
        "task", "add", "--project", project, "--title", "Merge me", "--profile", "writer", "--start"
    )
    wait_for(lambda: seedbed.show(1)["phase"] == "ready", 20, "task 1 to be ready")

    window_said: list[str] = []

    def window_approves() -> None:
        with SyncClient.connect(data_dir, client_name="window") as window:
            name = verb_name(approve)
            try:
                window.call(name, {"task_id": 1})
                window_said.append("merged")
            except UserError as exc:
                window_said.append(str(exc))

    thread = threading.Thread(target=window_approves)
    command = engines.spawn("task", "approve", "1")
    thread.start()
    out, err = command.communicate(timeout=60)
    thread.join(60)
    cli_won = command.returncode == 0
    window_won = window_said == ["merged"]
    assert cli_won != window_won, (out, err, window_said)
    loser = window_said[0] if cli_won else err.removeprefix("error: ")
    # Whether the other approve still held the task's lock or had merged it already.
    assert re.fullmatch(r"task 1 (is being merged already|cannot go from \w+ to \w+)\n?", loser)
    assert command.returncode in (0, 2)
    assert seedbed.show(1)["state"] == "merged"


def test_a_client_of_another_protocol_is_told_which_side_to_restart(
    engines: Engines, data_dir: Path
) -> None:
    engines.start(env=NEVER_IDLE)
    with pytest.raises(ProtocolMismatch, match=r"is older than the engine .*restart this window"):
        SyncClient.connect(data_dir, client_name="window", protocol=PROTOCOL_VERSION - 1)
    with pytest.raises(ProtocolMismatch, match=r"is newer than the engine .*restart the engine"):
        SyncClient.connect(data_dir, client_name="window", protocol=PROTOCOL_VERSION + 1)


def test_the_command_line_against_an_engine_of_a_newer_protocol(
    seedbed: SeedbedCli, tmp_path: Path
) -> None:
    loop = LoopThread()
    server = ApiServer(verbs(), tmp_path / "newer", protocol=PROTOCOL_VERSION + 1)
    (tmp_path / "newer").mkdir()
    try:
        endpoint = loop.run(server.serve_unix())
        result = seedbed(
            "--engine-socket", str(endpoint.path), "task", "add", "--project", "x", "--title", "t"
        )
    finally:
        loop.run(server.close())
        loop.stop()
    assert result.code == 2
    assert result.err == (
        f"error: this command (protocol {PROTOCOL_VERSION}) is older than the engine "
        f"(protocol {PROTOCOL_VERSION + 1}) of {seedbed.data_dir}: "
        "restart this command with the newer Seedbed\n"
    )


def test_an_engine_killed_during_a_command_is_said_in_one_sentence(
    seedbed: SeedbedCli, engines: Engines, data_dir: Path, project: str
) -> None:
    seedbed.ok("profile", "add", "sleeper", "--kind", "command", "--command", SLEEPER)
    engine = engines.start(env=NEVER_IDLE)
    seedbed.ok(
        "task",
        "add",
        "--project",
        project,
        "--title",
        "Followed",
        "--profile",
        "sleeper",
        "--start",
    )
    wait_for(lambda: seedbed.show(1)["runs"], 10, "the engine to start task 1")
    follow = engines.spawn("task", "log", "1", "--follow")
    assert follow.stdout is not None
    assert follow.stdout.readline() != ""  # it reads the run's log through the engine
    os.kill(engine["pid"], signal.SIGKILL)
    _, err = follow.communicate(timeout=30)
    assert follow.returncode == 2
    assert err.startswith(f"error: the engine of {data_dir} stopped (connection closed): ")
    assert err.count("\n") == 1  # one sentence, no traceback
    assert engines.wait_gone()
    # Its socket stays behind; nobody answers on it: the commands work here again.
    assert (data_dir / SOCKET_NAME).exists()
    assert seedbed.ok("task", "list").out.startswith("   1  running")


def test_a_forwarded_socket_reaches_the_engine_of_another_data_dir(
    seedbed: SeedbedCli,
    engines: Engines,
    data_dir: Path,
    project: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`ssh -N -L /tmp/seedbed.sock:<remote data dir>/engine.sock host`, with a relay
    standing in for ssh; this side's own data dir stays empty."""
    engine = engines.start(env=NEVER_IDLE)
    here = SeedbedCli(tmp_path / "here", seedbed.capsys)
    with forwarded(data_dir / SOCKET_NAME, tmp_path / "seedbed.sock") as relay:
        status = here.ok("--engine-socket", str(relay), "engine", "status").out
        assert status.startswith(f"engine running for {data_dir}\n  pid        {engine['pid']}\n")
        stop = here("--engine-socket", str(relay), "engine", "stop")
        assert stop.code == 2 and "is started and stopped on its own machine" in stop.err
        added = here.ok(
            "--engine-socket", str(relay), "task", "add", "--project", project, "--title", "Remote"
        )
        monkeypatch.setenv(ENGINE_SOCKET_ENV, str(relay))
        listed = here.ok("task", "list").out
        monkeypatch.delenv(ENGINE_SOCKET_ENV)
    assert added.out == "1\n"
    assert "Remote" in listed
    assert seedbed.ok("task", "list").out == listed
    assert list((tmp_path / "here").iterdir()) == []  # no store of its own is opened
    # The forwarding has ended: an error, never this side's own data.
    gone = here("--engine-socket", str(relay), "task", "list")
    assert gone.code == 2
    assert gone.err == (
        f"error: no engine answers at {relay} (--engine-socket or {ENGINE_SOCKET_ENV}): "
        "is its forwarding (ssh -L) running?\n"
    )
    assert list((tmp_path / "here").iterdir()) == []  # no store of its own is opened


def test_restoring_a_backup_is_refused_while_an_engine_runs(
    engines: Engines, data_dir: Path
) -> None:
    engines.start(env=NEVER_IDLE)
    result = engines.command("doctor", "--restore-backup")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert result.stderr.endswith(": stop it before restoring a backup\n")
