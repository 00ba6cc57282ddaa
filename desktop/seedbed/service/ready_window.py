"""A window kept ready by the engine: `seedbed` opens in a fork of it (Linux).

Most of a window's start is Python importing Qt, pydantic and the window's own modules
(~0.35 s of ~0.5), the same work every time. Once a window has connected, the engine keeps
a process that has done that work and waits (`python -m seedbed --seedbed-ready-window
DATA_DIR`, the engine's child). `seedbed` (or `seedbed gui`) for that data dir then hands
it its command line, working directory, environment and standard streams over
`<data dir>/window.sock` (0600; the peer's uid checked); the ready process forks, and
the fork becomes the window: it takes the caller's environment and directory before Qt
starts, and runs the command line as a fresh process would. The caller waits for it,
forwards Ctrl+C, SIGTERM and hang-up to it, and exits with its status.

What is not a plain window start (another command, --help, --screenshot, --probe, an
engine socket of another machine) never comes here; nor does anything when the ready
process is missing, busy, of other code (an upgrade: it is told to leave), or
SEEDBED_READY_WINDOW=0 (no spare process: ~100 MB while the engine lives). Then the
window starts as before. The ready process leaves with its engine.

The caller's side imports the standard library only: it runs before anything else of
`seedbed`, which is what it saves.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

READY_ENV = "SEEDBED_READY_WINDOW"  # "0": no ready window
READY_FLAG = "--seedbed-ready-window"  # argv[1] of the ready process
SOCKET_NAME = "window.sock"
SUN_PATH_MAX = 107  # bytes, without the NUL (Linux)
CONNECT_TIMEOUT_S = 2.0
REQUEST_MAX = 4 << 20  # a request's bytes (its environment is most of it)
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# Options of the window's own command line that a plain start may carry.
PLAIN_OPTIONS = {"--size", "--select", "--view"}


def enabled() -> bool:
    return sys.platform.startswith("linux") and os.environ.get(READY_ENV, "1") != "0"


def ready_socket(data_dir: Path) -> Path | None:
    """Where the ready window of `data_dir` listens; None when the path is too long for
    a socket's address (that data dir then has none)."""
    path = data_dir / SOCKET_NAME
    return path if len(os.fsencode(path)) + len(".new") <= SUN_PATH_MAX else None


def code_key() -> str:
    """What the caller's code and the ready process's must share: the interpreter, the
    package's place and version."""
    import seedbed

    return f"{sys.executable}|{Path(seedbed.__file__).parent}|{seedbed.__version__}"


# -- the caller: `seedbed` --------------------------------------------------------------


def window_data_dir(argv: Sequence[str]) -> Path | None:
    """The data dir of a plain window start (`[--data-dir D] [gui [--size …] …]`); None
    for anything else. Mirrors cli/parser.py's `window_args` closely enough: what this
    does not know goes the usual way."""
    explicit: str | None = None
    words = list(argv)
    command_seen = False
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--data-dir" and i + 1 < len(words):
            explicit, i = words[i + 1], i + 2
            continue
        if word.startswith("--data-dir="):
            explicit, i = word.partition("=")[2], i + 1
            continue
        if word == "gui" and not command_seen:
            command_seen, i = True, i + 1
            continue
        name = word.partition("=")[0]
        if command_seen and name in PLAIN_OPTIONS:
            i += 1 if "=" in word else 2
            continue
        return None  # --screenshot, --probe, --engine-socket, --help, another command …
    if os.environ.get("SEEDBED_ENGINE_SOCKET"):
        return None
    if explicit is not None:
        chosen = explicit
    elif os.environ.get("SEEDBED_DATA_DIR", "").strip():
        chosen = os.environ["SEEDBED_DATA_DIR"]
    else:  # platformdirs' user data dir on Linux, without importing it
        base = os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share"
        chosen = os.path.join(base, "seedbed")
    if not chosen.strip():
        return None  # the command line says what is wrong with it
    return Path(chosen).expanduser().resolve()


def open_in_ready_window(argv: Sequence[str]) -> int | None:
    """Run the window command `argv` in the data dir's ready window and return its exit
    status; None when there is none to use (then start the window as usual)."""
    if not enabled():
        return None
    data_dir = window_data_dir(argv)
    path = ready_socket(data_dir) if data_dir is not None else None
    if path is None:
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(CONNECT_TIMEOUT_S)
        conn.connect(os.fspath(path))
        request = {
            "key": code_key(),
            "argv": list(argv),
            "cwd": os.getcwd(),
            "env": dict(os.environ),
        }
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        reader = conn.makefile("rb")
        first = _message(reader)
    except OSError:
        conn.close()
        return None
    if first is None or "pid" not in first:
        conn.close()
        return None  # refused (other code), or gone
    return _follow(conn, reader, int(first["pid"]))


def _message(reader: Any) -> dict[str, Any] | None:
    line = reader.readline(REQUEST_MAX)
    if not line:
        return None
    try:
        found = json.loads(line)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _follow(conn: socket.socket, reader: Any, pid: int) -> int:
    """Wait for the window `pid`, forwarding the signals a terminal sends; its status."""

    def forward(sig: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    conn.settimeout(None)
    try:
        while True:
            try:
                message = _message(reader)
            except InterruptedError:
                continue
            if message is None:
                return 1  # the window ended without a word: killed
            if "exit" in message:
                return int(message["exit"])
    finally:
        conn.close()


# -- the ready process ------------------------------------------------------------------


Run = Callable[[list[str]], int]


def serve(data_dir: Path, preload: Callable[[], None], run: Run) -> int:
    """The ready process: import what a window needs (`preload`), then answer each
    caller with a fork running `run(argv)` as the window. Leaves when its parent (the
    engine) has gone, when its socket is no longer its own, or when asked by a caller of
    other code."""
    from seedbed.api.socket_path import bind_unix, unlink_if_ours

    path = ready_socket(data_dir)
    if path is None:
        return 0
    parent = os.getppid()
    preload()
    if os.getppid() != parent:
        return 0  # the engine went meanwhile
    # A stop (SIGTERM, the engine's) leaves through the `finally` below, socket removed.
    signal.signal(signal.SIGTERM, _leave)
    listener = bind_unix(path, data_dir)  # 0600; refuses while another one serves
    inode = os.stat(path).st_ino
    listener.listen(8)
    listener.settimeout(1.0)
    try:
        while _still_wanted(parent, path, inode):
            _reap()
            try:
                conn, _addr = listener.accept()
            except TimeoutError:
                continue
            with conn:
                if _answer(conn, listener, run) == "leave":
                    return 0
    finally:
        listener.close()
        unlink_if_ours(path, inode)
    return 0


def _leave(_sig: int, _frame: object) -> None:
    raise SystemExit(0)


def _still_wanted(parent: int, path: Path, inode: int) -> bool:
    if os.getppid() != parent:
        return False  # the engine went (even by kill -9)
    try:
        return os.lstat(path).st_ino == inode
    except FileNotFoundError:
        return False


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[2])


def _read_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]] | None:
    conn.settimeout(CONNECT_TIMEOUT_S)
    data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
    while b"\n" not in data and len(data) < REQUEST_MAX:
        more = conn.recv(1 << 16)
        if not more:
            break
        data += more
    try:
        request = json.loads(data.partition(b"\n")[0])
    except ValueError:
        request = None
    if not isinstance(request, dict) or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return None
    return request, list(fds)


def _answer(conn: socket.socket, listener: socket.socket, run: Run) -> str:
    try:
        if _peer_uid(conn) != os.getuid():
            return "refused"
        received = _read_request(conn)
    except OSError:
        return "refused"
    if received is None:
        return "refused"
    request, fds = received
    if request.get("key") != code_key():
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"refused": "other code"}).encode() + b"\n")
        return "leave"  # a caller of newer code: this process is of no more use
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
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for sig in FORWARDED:
            default = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
            signal.signal(sig, default)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        sys.argv = ["seedbed", *request["argv"]]
        conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        code = run(list(request["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        import atexit

        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
    return code


# -- the engine's side ------------------------------------------------------------------


def start(data_dir: Path, log: Path) -> Any:
    """Start the ready window of `data_dir` (a subprocess.Popen), its output appended to
    the engine's `log`; None where there is to be none."""
    import subprocess

    from seedbed.paths import program_command

    if not enabled() or ready_socket(data_dir) is None:
        return None
    head, env = program_command()
    with open(log, "ab") as out:
        return subprocess.Popen(
            [*head, READY_FLAG, str(data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
        )
