"""Finding the engine of a data dir, starting one detached, asking one to stop.

A detached engine is `python -m seedbed --data-dir D engine serve` in a session of its
own (no terminal's Ctrl+C or hang-up reaches it), stdin from /dev/null, its output
appended to `<data dir>/engine.log`. It is ready once its socket answers `hello`.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections import deque
from concurrent.futures import Future
from pathlib import Path

from seedbed.api.endpoint import (
    TcpEndpoint,
    UnixEndpoint,
    forwarded_endpoint,
    no_forwarded_engine,
    read_endpoint,
)
from seedbed.api.errors import EngineStopped, EngineUnavailable
from seedbed.api.protocol import Hello
from seedbed.api.sync_client import SyncClient
from seedbed.domain.errors import OperationError
from seedbed.paths import program_command
from seedbed.service.topics import STATUS, STOP, STOP_RUNS, EngineStatus, RunsStopped
from seedbed.store.lock import engine_running

LOG_NAME = "engine.log"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 60.0
LOG_LINES = 5  # of the log, quoted when an engine did not start
_POLL_S = 0.02


def log_path(data_dir: Path) -> Path:
    return data_dir / LOG_NAME


def answering(data_dir: Path, client_name: str = "command") -> Hello | None:
    """The `hello` of the engine serving `data_dir`; None when none answers. Raises
    ProtocolMismatch for an engine of another protocol."""
    try:
        with SyncClient.connect(data_dir, client_name=client_name) as client:
            return client.hello()
    except EngineUnavailable:
        return None


def status(
    data_dir: Path, endpoint: UnixEndpoint | TcpEndpoint | None = None
) -> EngineStatus | None:
    """What the engine of `data_dir` (or at `endpoint`) says of itself; None when none
    answers."""
    try:
        with SyncClient.connect(data_dir, endpoint=endpoint) as client:
            return EngineStatus.model_validate(client.call(STATUS))
    except EngineUnavailable:
        return None


def start_detached(data_dir: Path, paused: bool = False) -> subprocess.Popen[bytes]:
    """Start an engine for `data_dir` in the background; it may not answer yet. A
    `paused` one starts no queued task (`engine serve --paused`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    head, env = program_command()
    argv = [*head, "--data-dir", str(data_dir), "engine", "serve"]
    if paused:
        argv.append("--paused")
    with log_path(data_dir).open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    # Reaped when it ends, so a long-lived starter (the window) keeps no zombie of it.
    threading.Thread(target=process.wait, name="seedbed-engine-reaper", daemon=True).start()
    return process


def wait_answering(
    data_dir: Path, process: subprocess.Popen[bytes], timeout: float = START_TIMEOUT_S
) -> Hello:
    """Wait until the engine of `data_dir` answers `hello`. Raises OperationError, with
    the log's last lines, when `process` ended first or nothing answered in time."""
    deadline = time.monotonic() + timeout
    while True:
        hello = answering(data_dir)
        if hello is not None:
            return hello
        code = process.poll()
        # Another engine (a start racing this one) holds the lock: it is the one to wait for.
        if code is not None and not engine_running(data_dir):
            raise OperationError(
                f"the engine did not start (it exited with status {code}); "
                f"the end of {log_path(data_dir)}:\n{log_tail(data_dir)}"
            )
        if time.monotonic() >= deadline:
            raise OperationError(
                f"the engine did not answer within {timeout:g} s; "
                f"the end of {log_path(data_dir)}:\n{log_tail(data_dir)}"
            )
        time.sleep(_POLL_S)


def ensure_engine(data_dir: Path) -> UnixEndpoint | TcpEndpoint:
    """Where the engine of `data_dir` listens, starting it detached if none answers."""
    find_engine(data_dir)
    return read_endpoint(data_dir)


def find_engine(data_dir: Path, paused: bool = False) -> bool:
    """Make sure an engine of `data_dir` answers, starting one detached when none does (a
    `paused` one starts no queued task); whether this call started it. Raises what
    `wait_answering` raises."""
    if answering(data_dir) is not None:
        return False
    wait_answering(data_dir, start_detached(data_dir, paused=paused))
    return True


def find_engine_soon(
    data_dir: Path, paused: bool = False, engine_socket: str | Path | None = None
) -> Future[bool]:
    """`find_engine` on a thread of its own: an engine that has to be started starts
    while the caller goes on (the window loads Qt meanwhile). With a forwarded socket
    (`engine_socket`, else SEEDBED_ENGINE_SOCKET) the engine is another machine's:
    nothing is looked for nor started here."""
    found: Future[bool] = Future()
    if forwarded_endpoint(engine_socket) is not None:
        found.set_result(False)
        return found

    def find() -> None:
        try:
            found.set_result(find_engine(data_dir, paused))
        except BaseException as exc:  # handed to whoever waits for the engine
            found.set_exception(exc)

    threading.Thread(target=find, name="seedbed-find-engine", daemon=True).start()
    return found


def stop(data_dir: Path, timeout: float = STOP_TIMEOUT_S) -> int | None:
    """Ask the engine of `data_dir` to stop and wait until it has: its runs stop with
    their work committed. Its pid; None when none ran. Raises OperationError when it has
    not ended within `timeout` s."""
    try:
        client = SyncClient.connect(data_dir)
    except EngineUnavailable:
        return None
    with client:
        pid = client.hello().pid
        # It may close before its answer comes: it is stopping all the same.
        with contextlib.suppress(EngineStopped):
            client.call(STOP)
    deadline = time.monotonic() + timeout
    # Gone once its lock is free: the kernel frees it when the process ends.
    while engine_running(data_dir):
        if time.monotonic() >= deadline:
            raise OperationError(
                f"the engine (pid {pid}) has not stopped after {timeout:g} s: its runs may "
                f"still be committing their work (see {log_path(data_dir)}); "
                f"`kill {pid}` asks again, `kill -9 {pid}` ends it at once"
            )
        time.sleep(_POLL_S * 5)
    return pid


def forwarded_answering(data_dir: Path, socket: Path) -> Hello:
    """The `hello` of the engine at the forwarded `socket` (nothing is ever started for
    it). Raises EngineUnavailable, in the words of a forwarded socket, when none answers."""
    endpoint = UnixEndpoint(path=socket)
    try:
        with SyncClient.connect(data_dir, endpoint=endpoint, client_name="window") as client:
            return client.hello()
    except EngineUnavailable:
        raise EngineUnavailable(no_forwarded_engine(endpoint)) from None


def stop_runs(data_dir: Path, socket: Path | None = None) -> RunsStopped | None:
    """Ask the engine of `data_dir` (or at the forwarded `socket`) to stop every run (see
    `engine.stop_runs`); it answers at once, the runs then end with their work committed.
    None when no engine answers (nothing of it runs)."""
    endpoint = UnixEndpoint(path=socket) if socket is not None else None
    try:
        with SyncClient.connect(data_dir, endpoint=endpoint, client_name="window") as client:
            return RunsStopped.model_validate(client.call(STOP_RUNS))
    except (EngineUnavailable, EngineStopped):
        return None


def log_tail(data_dir: Path, lines: int = LOG_LINES) -> str:
    try:
        with log_path(data_dir).open(encoding="utf-8", errors="replace") as log:
            last = deque(log, maxlen=lines)
    except FileNotFoundError:
        return "  (no log)"
    return "".join(f"  {line}" for line in last).rstrip("\n") or "  (the log is empty)"
