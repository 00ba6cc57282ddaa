"""The command line never hangs on an engine: a call unanswered within its limit fails
naming the engine's log and `seedbed engine stop`; something that accepts the connection
and says nothing is a hung engine, not an absent one; an approve (a waiting verb) waits
past the limit, says it still waits, and Ctrl+C says what the engine goes on doing."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from seedbed.api.endpoint import SOCKET_NAME
from seedbed.api.functions import function_verb
from seedbed.api.registry import Registry
from seedbed.api.server import ApiServer
from seedbed.cli import gateway
from seedbed.core import merging, reads
from seedbed.domain.errors import UserError
from tests.api.conftest import LoopThread
from tests.conftest import SeedbedCli

TIMEOUT_ENV = gateway.CALL_TIMEOUT_ENV


@contextlib.contextmanager
def silent_socket(path: Path) -> Iterator[Path]:
    """A socket that accepts every connection and never says a word (a hung engine, or
    a forwarding to one)."""
    loop = LoopThread()
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    server = loop.run(asyncio.start_unix_server(swallow, str(path)))
    try:
        yield path
    finally:
        loop.run(_close(server, held))  # on its loop: asyncio's objects are not thread-safe
        loop.stop()


async def _close(server: asyncio.Server, held: list[asyncio.StreamWriter]) -> None:
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


@contextlib.contextmanager
def stand_in_engine(
    data_dir: Path, name: str, fn: Callable[..., Any], **add: Any
) -> Iterator[None]:
    """An engine's API server on the data dir's socket answering the verb `name` (its
    params as the real verb's) with `fn`: an engine whose verb does what the test wants."""
    function = {"reads.list_tasks": reads.list_tasks, "merging.approve": merging.approve}[name]
    registry = Registry()
    registry.add(name, function_verb(name, function).params, None, fn, **add)
    data_dir.mkdir(parents=True, exist_ok=True)
    loop = LoopThread()
    server = ApiServer(registry, data_dir)
    loop.run(server.serve_unix())
    try:
        yield
    finally:
        loop.run(server.close())
        loop.stop()


def test_an_endpoint_that_accepts_and_never_answers_fails_within_the_limit(
    seedbed: SeedbedCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "1")
    with silent_socket(tmp_path / "seedbed.sock") as socket:
        started = time.monotonic()
        result = seedbed("--engine-socket", str(socket), "task", "list")
        seconds = time.monotonic() - started
    assert result.code == 1
    assert result.err.startswith(
        f"error: the engine at {socket} accepted the connection but did not answer: it may be "
        "hung, or its forwarding (ssh -L) stalled; its log is engine.log in its data dir on "
        "its machine, and `seedbed engine stop` there stops it"
    )
    assert seconds < 5


def test_a_silent_socket_in_the_data_dir_is_a_hung_engine_not_none(
    seedbed: SeedbedCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Taken for "no engine", the command would run here, beside the engine's writes."""
    monkeypatch.setenv(TIMEOUT_ENV, "1")
    seedbed.data_dir.mkdir(parents=True, exist_ok=True)
    with silent_socket(seedbed.data_dir / SOCKET_NAME):
        result = seedbed("task", "list")
    assert result.code == 1
    log = seedbed.data_dir / "engine.log"
    assert result.err == (
        f"error: the engine of {seedbed.data_dir} accepted the connection but did not answer: "
        f"it may be hung; its log: {log}; `seedbed engine stop` stops it "
        f"({TIMEOUT_ENV} sets a longer wait); if that cannot reach it either, `kill -9` the "
        f"pid in {seedbed.data_dir / 'engine.lock'}\n"
    )


def test_a_verb_the_engine_never_answers_fails_naming_its_log(
    seedbed: SeedbedCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    release = threading.Event()
    with stand_in_engine(seedbed.data_dir, "reads.list_tasks", lambda _p: release.wait(30)):
        try:
            started = time.monotonic()
            result = seedbed("task", "list")
            seconds = time.monotonic() - started
        finally:
            release.set()
    assert result.code == 1
    assert result.err == (
        f"error: the engine of {seedbed.data_dir} has not answered reads.list_tasks within "
        f"0.5 s: it may be hung; its log: {seedbed.data_dir / 'engine.log'}; "
        f"`seedbed engine stop` stops it ({TIMEOUT_ENV} sets a longer wait)\n"
    )
    assert seconds < 5


def test_an_approve_waits_past_the_limit_and_says_it_still_waits(
    seedbed: SeedbedCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "0.3")
    monkeypatch.setattr(gateway, "WAIT_NOTE_S", 0.25)

    def queued_then_refused(_params: Any) -> None:
        time.sleep(1.2)
        raise UserError("task 1 is not awaiting review")

    with stand_in_engine(seedbed.data_dir, "merging.approve", queued_then_refused, waits=True):
        result = seedbed("task", "approve", "1", "--delete-branch")
    lines = result.err.splitlines()
    assert result.code == 2
    assert lines[-1] == "error: task 1 is not awaiting review"  # its answer, past 0.3 s
    waiting = lines[:-1]
    assert len(waiting) >= 2
    assert waiting[0] == (
        f"still waiting for the engine of {seedbed.data_dir}: merging.approve waits its turn "
        "or its checks (0 s so far; Ctrl+C stops waiting here, not merging.approve in the "
        "engine)"
    )


def test_ctrl_c_during_an_approve_says_the_engine_goes_on_with_it(
    seedbed: SeedbedCli,
) -> None:
    asked = threading.Event()
    release = threading.Event()

    def held(_params: Any) -> None:
        asked.set()
        release.wait(30)
        raise UserError("released by the test")

    with stand_in_engine(seedbed.data_dir, "merging.approve", held, waits=True):
        try:
            command = seedbed.spawn("task", "approve", "1", "--delete-branch")
            assert asked.wait(30), "the approve never reached the engine"
            command.send_signal(signal.SIGINT)
            _out, err = command.communicate(timeout=30)
            still_asked = not release.is_set()
        finally:
            release.set()
    assert command.returncode == 130
    assert err == (
        f"interrupted: this command no longer waits, but the engine of {seedbed.data_dir} "
        "goes on with merging.approve (a call once asked is the engine's to finish); "
        "`seedbed task list` and `seedbed task show ID` show how it ends\n"
    )
    assert still_asked  # the engine's approve was still going when the command ended
