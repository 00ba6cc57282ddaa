"""The engine's ready window: the process, and the engine's side of it (Linux).

See ready_window.py for the whole and for the caller. The ready process
(`seedbed --seedbed-ready-window DATA_DIR ENGINE_PID`, the engine's child) imports what a
window needs (`preload`), creates no QApplication and no thread, and answers each caller
on `<data dir>/window.sock` (bound 0600; a caller of another uid refused) with a fork:
- the fork tells the caller its pid and waits for "go" (a caller that gave up meanwhile
  closes instead, and the fork leaves without a word: never two windows, never a
  message in a terminal whose caller started a window of its own);
- it then takes the caller's streams, directory, umask, priority and environment, starts
  a session of its own (not the engine's: the engine's stop or a signal to its group
  never reaches the window), and runs the command line (`run`);
- a thread of it watches the connection: the caller gone (killed, even by SIGKILL), the
  window goes too, as a window killed with its terminal would;
- its status is told to the caller before it exits.
The ready process leaves when the engine has gone (it looks every second), when its socket
is no longer its own, on SIGTERM (the engine's stop; the socket is removed), or when a
caller of other code comes, or any of its own modules changed on disk since it imported
them (an upgrade, an edit under an editable install): the engine starts a fresh one when
the next window closes.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from seedbed.api.socket_path import bind_unix, unlink_if_ours
from seedbed.domain.errors import Busy
from seedbed.paths import program_command
from seedbed.service.ready_window import (
    FORWARDED,
    MESSAGE_MAX,
    READY_FLAG,
    code_key,
    enabled,
    interpreter_env,
    peer_uid,
    read_message,
    ready_socket,
    send_message,
)

REQUEST_TIMEOUT_S = 0.5  # for a caller's whole request: one slow caller never holds the rest
GO_TIMEOUT_S = 5.0  # for the caller's "go", in the fork
BIND_TRIES_S = 5.0  # a quick engine restart: the old ready process may hold the socket
LOOK_S = 1.0  # between two looks at whether it is still wanted

Run = Callable[[list[str]], int]
Outcome = Literal["forked", "refused", "leave"]


def serve(data_dir: Path, engine_pid: int, preload: Callable[[], None], run: Run) -> int:
    """The ready process: import what a window needs (`preload`), then answer each
    caller with a fork running `run(argv)` as the window."""
    path = ready_socket(data_dir)
    if path is None or os.getppid() != engine_pid:
        return 0  # no socket can be made for it, or the engine went already
    ours = interpreter_env(dict(os.environ))
    preload()
    modules = _module_stamps()
    # A stop (SIGTERM, the engine's) leaves through the `finally` below, socket removed.
    signal.signal(signal.SIGTERM, _leave)
    listener = _bind(path, data_dir, engine_pid)
    if listener is None:
        return 1  # a failure the engine counts: it gives up after a few
    inode = os.stat(path).st_ino
    listener.settimeout(LOOK_S)
    try:
        while _still_wanted(engine_pid, path, inode):
            _reap()
            try:
                conn, _addr = listener.accept()
            except TimeoutError:
                continue
            with conn:
                if _answer(conn, listener, run, ours, modules) == "leave":
                    return 0
    finally:
        listener.close()
        unlink_if_ours(path, inode)
    return 0


def _bind(path: Path, data_dir: Path, engine_pid: int) -> socket.socket | None:
    deadline = time.monotonic() + BIND_TRIES_S
    while True:
        try:
            listener = bind_unix(path, data_dir)  # 0600; refuses while another one serves
        except Busy:
            if time.monotonic() > deadline or os.getppid() != engine_pid:
                return None
            time.sleep(0.1)
            continue
        listener.listen(8)
        return listener


def _leave(_sig: int, _frame: object) -> None:
    raise SystemExit(0)


def _still_wanted(engine_pid: int, path: Path, inode: int) -> bool:
    if os.getppid() != engine_pid:
        return False  # the engine went (even by kill -9)
    try:
        return os.lstat(path).st_ino == inode
    except FileNotFoundError:
        return False


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _module_stamps() -> dict[str, int]:
    """The modification time of every module of seedbed imported (the preload's)."""
    stamps = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (name == "seedbed" or name.startswith("seedbed.")) and file:
            with contextlib.suppress(OSError):
                stamps[file] = os.stat(file).st_mtime_ns
    return stamps


def _changed(stamps: dict[str, int]) -> bool:
    for file, stamp in stamps.items():
        try:
            if os.stat(file).st_mtime_ns != stamp:
                return True
        except OSError:
            return True
    return False


def _read_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]] | None:
    """The caller's request and its three streams, within REQUEST_TIMEOUT_S in all; None
    for anything else (the streams received are closed then)."""
    deadline = time.monotonic() + REQUEST_TIMEOUT_S
    fds: list[int] = []
    try:
        conn.settimeout(REQUEST_TIMEOUT_S)
        data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3, socket.MSG_CMSG_CLOEXEC)
        while b"\n" not in data and 0 < len(data) < MESSAGE_MAX:
            if time.monotonic() > deadline:
                raise TimeoutError("a request too slow")
            conn.settimeout(max(0.001, deadline - time.monotonic()))
            more = conn.recv(1 << 16)
            if not more:
                break
            data += more
        request = _parsed(data.partition(b"\n")[0])
        if request is None or len(fds) != 3:
            raise ValueError("not a request")
    except (OSError, ValueError):
        for fd in fds:
            os.close(fd)
        return None
    return request, list(fds)


def _parsed(line: bytes) -> dict[str, Any] | None:
    import json

    try:
        found = json.loads(line)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _answer(
    conn: socket.socket,
    listener: socket.socket,
    run: Run,
    ours: dict[str, str],
    modules: dict[str, int],
) -> Outcome:
    try:
        if peer_uid(conn) != os.getuid():
            return "refused"
    except OSError:
        return "refused"
    received = _read_request(conn)
    if received is None:
        return "refused"
    request, fds = received
    stale = request.get("key") != code_key() or _changed(modules)
    if stale or request.get("interpreter") != ours:
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            send_message(conn, {"refused": "other code" if stale else "other settings"})
        # Of other code, this process is of no more use; of other settings, only to them.
        return "leave" if stale else "refused"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        listener.close()
        os._exit(_be_the_window(conn, request, fds, run))
    for fd in fds:
        os.close(fd)
    return "forked"


def _be_the_window(conn: socket.socket, request: dict[str, Any], fds: list[int], run: Run) -> int:
    """In the fork: become the caller's window, run it, tell the caller its status."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    ignored = {int(sig) for sig in request.get("ignored", ())}
    for sig in (*FORWARDED, signal.SIGTERM):
        default = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        signal.signal(sig, signal.SIG_IGN if sig in ignored else default)
    try:
        os.setsid()  # out of the engine's session and process group
        send_message(conn, {"pid": os.getpid()})
        conn.settimeout(GO_TIMEOUT_S)
        go = read_message(conn.makefile("rb"))
    except OSError:
        go = None
    if not go or not go.get("go"):
        return 0  # the caller gave up and started a window of its own: leave quietly
    conn.settimeout(None)
    code = 1
    died_of = 0
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)  # dup2 makes them inheritable, as a process's own are
            os.close(fd)
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        with contextlib.suppress(OSError):  # only ever raised: lowering it is not allowed
            os.setpriority(os.PRIO_PROCESS, 0, int(request["nice"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        sys.argv = ["seedbed", *request["argv"]]
        _buffer_as_a_fresh_process()
        threading.Thread(target=_go_with_the_caller, args=(conn,), daemon=True).start()
        code = run(list(request["argv"]))
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            code = exc.code or 0
        else:
            sys.stderr.write(f"{exc.code}\n")
            code = 1
    except KeyboardInterrupt:  # a fresh Python dies of SIGINT then: so does the caller
        code, died_of = 128 + signal.SIGINT, signal.SIGINT
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        # os._exit skips what the interpreter runs at its exit: run it, as it would.
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            send_message(conn, {"signal": int(died_of)} if died_of else {"exit": code})
    return code


def _buffer_as_a_fresh_process() -> None:
    """Standard streams as Python would have made them for the caller's: line-buffered
    to a terminal (the ready process's went to the engine's log)."""
    for stream, by_line in ((sys.stdout, os.isatty(1)), (sys.stderr, True)):
        if isinstance(stream, io.TextIOWrapper):
            with contextlib.suppress(OSError, ValueError):
                stream.reconfigure(line_buffering=by_line)


def _go_with_the_caller(conn: socket.socket) -> None:
    """The caller's end closed before the window told its status: it was killed (or its
    terminal closed), so the window goes too."""
    with contextlib.suppress(OSError):
        conn.recv(1)
    os.kill(os.getpid(), signal.SIGKILL)


# -- the engine's side ------------------------------------------------------------------


def start(data_dir: Path, log: Path) -> subprocess.Popen[bytes] | None:
    """Start the ready window of `data_dir` (its output appended to the engine's `log`);
    None where there is to be none."""
    if not enabled() or ready_socket(data_dir) is None:
        return None
    head, env = program_command()
    with open(log, "ab") as out:
        return subprocess.Popen(
            [*head, READY_FLAG, str(data_dir), str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
        )


def serve_main(argv: list[str], preload: Callable[[], None], run: Run) -> int:
    """`seedbed --seedbed-ready-window DATA_DIR ENGINE_PID`."""
    if len(argv) != 2 or not argv[1].isdigit():
        sys.stderr.write(f"usage: seedbed {READY_FLAG} DATA_DIR ENGINE_PID\n")
        return 2
    return serve(Path(argv[0]), int(argv[1]), preload, run)
