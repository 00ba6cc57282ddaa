"""A window kept ready by the engine: `seedbed` opens in a fork of it (Linux). The caller.

Most of a window's start is Python importing Qt, pydantic and the window's own modules
(~0.35 s of ~0.5), the same work every time. So the engine keeps a process that has done
that work and waits (service/ready_server.py; started when a window closes, for the next
one). `seedbed` (or `seedbed gui`) for that data dir hands it its command line, working
directory, environment, umask and standard streams over `<data dir>/window.sock` (0600;
each side checks the other's uid); the ready process forks, and the fork becomes the
window in a session of its own: it takes all of that before Qt starts, and runs the
command line as a fresh process would. The caller waits for it, forwards the signals a
terminal sends (Ctrl+C, Ctrl+\\, SIGTERM, hang-up), exits with its status (dying of the
forwarded signal when the window did), and, if it is killed itself, takes the window with
it (the window watches their connection).

What is not a plain window start (another command, --help, --screenshot, --probe, an
engine socket of another machine) never comes here; nor does anything when the ready
process is missing, slow to answer (1.5 s), of other code, of another interpreter setting
(locale, PYTHON* variables), or SEEDBED_READY_WINDOW=0. Then the window starts as before.

This module is the caller's side: standard library only (a test holds it so), since it
runs before anything else of `seedbed` is imported, which is what it saves.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import struct
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

READY_ENV = "SEEDBED_READY_WINDOW"  # "0": no ready window
OWN_SESSION_ENV = "SEEDBED_WINDOW_SESSION"  # "0": a cold window is not forked
READY_FLAG = "--seedbed-ready-window"  # argv[1] of the ready process
SOCKET_NAME = "window.sock"
SUN_PATH_MAX = 107  # bytes, without the NUL (Linux)
CONNECT_TIMEOUT_S = 1.0
ANSWER_TIMEOUT_S = 1.5  # for the fork's pid (a slow caller ahead holds it 0.5 s at most)
MESSAGE_MAX = 4 << 20  # a message's bytes (a request's environment is most of it)
# What a terminal sends the foreground job, forwarded to the window.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
# A window's deaths its starting process dies of too (not the crashes: no core of ours).
QUIET_DEATHS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL, signal.SIGPIPE)
# The options a plain window start may carry: cli/parser.py's `window_options` but the
# ones that change what starts (--screenshot, --probe) or where (--engine-socket); a test
# holds the two together.
PLAIN_OPTIONS = frozenset({"--size", "--select", "--view"})
# What Python reads once, at its own start: a caller whose values differ would get a
# window of the ready process's settings, so it starts cold instead.
INTERPRETER_ENV = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSAFEPATH",
    "PYTHONWARNINGS",
    "PYTHONDEVMODE",
    "PYTHONASYNCIODEBUG",
    "PYTHONUTF8",
    "PYTHONIOENCODING",
    "PYTHONOPTIMIZE",
    "PYTHONMALLOC",
    "PYTHONHASHSEED",
)


def enabled() -> bool:
    """Whether a ready window is kept and used here (Linux, not turned off)."""
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


def interpreter_env(env: dict[str, str]) -> dict[str, str]:
    return {name: env.get(name, "") for name in INTERPRETER_ENV}


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[2])


def read_message(reader: io.BufferedReader) -> dict[str, Any] | None:
    """One JSON object of a line; None at the end or for anything else."""
    line = reader.readline(MESSAGE_MAX)
    if not line.endswith(b"\n"):
        return None
    try:
        found = json.loads(line)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def send_message(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def current_umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


# -- the caller: `seedbed` --------------------------------------------------------------


def window_data_dir(argv: Sequence[str]) -> Path | None:
    """The data dir of a plain window start (`[--data-dir D] [gui [--size …] …]`); None
    for anything else. Only a guess of the caller's: the fork parses the command line
    itself, in the caller's directory and environment, so a wrong guess can only miss
    the ready window, never open another data dir."""
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
        if peer_uid(conn) != os.getuid():
            conn.close()  # not ours: it gets neither our environment nor our terminal
            return None
        env = dict(os.environ)
        request = {
            "key": code_key(),
            "interpreter": interpreter_env(env),
            "argv": list(argv),
            "cwd": os.getcwd(),
            "env": env,
            "umask": current_umask(),
            "nice": os.getpriority(os.PRIO_PROCESS, 0),
            "ignored": ignored_signals(),
        }
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        conn.settimeout(ANSWER_TIMEOUT_S)
        reader = conn.makefile("rb")
        first = read_message(reader)
        if first is None or "pid" not in first:
            conn.close()
            return None  # refused (other code or settings), or gone
        pid = int(first["pid"])
    except (OSError, ValueError):
        conn.close()
        return None  # the fork, not told to go, leaves without a word
    forwarded, restore = _forward_signals(pid)
    try:
        send_message(conn, {"go": True})  # from here on the fork is the window
    except OSError:
        restore()  # the window starts cold, with this process's own handlers
        conn.close()
        return None
    try:
        return _follow(conn, reader, forwarded)
    finally:
        restore()


def ignored_signals() -> list[int]:
    """Of FORWARDED, those this process ignores (`nohup`, a script's `seedbed &`): the
    window ignores them too, and they are not forwarded."""
    return [int(sig) for sig in FORWARDED if signal.getsignal(sig) == signal.SIG_IGN]


def _forward_signals(pid: int) -> tuple[list[int], Callable[[], None]]:
    """Forward FORWARDED (but the ignored) to `pid`. The list holds the last one
    forwarded; the function puts the handlers back as they were."""
    last: list[int] = []

    def forward(sig: int, _frame: object) -> None:
        last[:] = [sig]
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    ignored = ignored_signals()
    before = {sig: signal.getsignal(sig) for sig in FORWARDED if sig not in ignored}
    for sig in before:
        signal.signal(sig, forward)

    def restore() -> None:
        for sig, handler in before.items():
            signal.signal(sig, handler)

    return last, restore


def _die_of(sig: int) -> int:
    """Die of `sig` as the window did (a shell then sees what it would have seen of a
    window started alone); where that does not end this process, 128 + sig."""
    if sig in QUIET_DEATHS:
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    return 128 + sig  # a crash: said, without a core dump of this process


def _follow(conn: socket.socket, reader: io.BufferedReader, forwarded: list[int]) -> int:
    """Wait for the window's status. A window that ends without one was killed: by the
    signal forwarded last, which this process then dies of too (as a shell would see
    it), or by something else (status 1)."""
    conn.settimeout(None)
    try:
        while True:
            try:
                message = read_message(reader)
            except InterruptedError:
                continue
            if message is not None and "exit" in message:
                return int(message["exit"])
            if message is not None and "signal" in message:  # Ctrl+C's KeyboardInterrupt
                return _die_of(int(message["signal"]))
            if message is None:
                break
    finally:
        conn.close()
    if forwarded:
        return _die_of(forwarded[0])
    return 1  # killed by something else, or crashed: the ready process alone knows


# -- a cold start: the window in a session of its own -----------------------------------


def window_in_own_session(argv: Sequence[str]) -> int | None:
    """For a plain window start with no ready window: fork before anything is imported.
    The fork returns None and goes on as the window, in a session of its own; this
    process, left in the terminal's session, waits for it as the ready window's caller
    does (signals forwarded, its status, its death by a signal) and returns its status.

    Why: Linux shares the CPU between sessions first (autogroup). A window in the
    session of the terminal it was started from shares its slice with whatever else runs
    there (a build, a test suite): measured with two busy loops in it, the window's
    longest stall under load was 35 to 90 ms against 20 to 40 in a session of its own
    (tests/perf, gui_max_stall_loaded_ms). The fork also takes the window with it when
    killed outright (the window watches a pipe from it), as the ready window's caller
    does. Nowhere but Linux, and not for what is not a plain window start."""
    if not sys.platform.startswith("linux") or window_data_dir(argv) is None:
        return None
    if os.environ.get(OWN_SESSION_ENV) == "0":
        return None  # one process, the window (a debugger's or profiler's wish)
    # An inherited "ignore SIGCHLD" would leave nothing to wait for (a fresh Python
    # keeps it too: its subprocesses would fail the same way).
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    reader, writer = os.pipe()  # not inherited by what either side starts (PEP 446)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(writer)
        os.setsid()
        threading.Thread(target=_go_with_the_parent, args=(reader,), daemon=True).start()
        return None  # ignored signals stay ignored: the fork keeps the dispositions
    os.close(reader)
    _forwarded, restore = _forward_signals(pid)
    try:
        _pid, status = os.waitpid(pid, 0)
    finally:
        os.close(writer)
        restore()
    if os.WIFSIGNALED(status):
        return _die_of(os.WTERMSIG(status))
    return os.waitstatus_to_exitcode(status)


def _go_with_the_parent(reader: int) -> None:
    """The starting process's end of the pipe closed while the window runs: it was
    killed, so the window goes too."""
    with contextlib.suppress(OSError):
        os.read(reader, 1)
    os.kill(os.getpid(), signal.SIGKILL)
