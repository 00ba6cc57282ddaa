"""The engine's ready window (service/ready_window.py): the next `seedbed` opens in a fork
of a process that has imported the window already, as the caller's own window."""

from __future__ import annotations

import argparse
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from seedbed.cli.parser import window_args, window_options
from seedbed.service import ready_window
from seedbed.service.ready_window import PLAIN_OPTIONS, READY_FLAG, ready_socket, window_data_dir
from tests.conftest import SeedbedCli
from tests.service.conftest import Engines

READY = {"SEEDBED_READY_WINDOW": "1"}
PAINTED = re.compile(r"^board-painted \S+ \S+ pid=(\d+) ppid=(\d+) sid=(\d+)$", re.M)


def window(
    data_dir: Path, *extra: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`seedbed --data-dir <relative> gui` from the data dir's parent, the board's first
    paint printed (SEEDBED_STARTUP_PROBE) and the window then closed."""
    return subprocess.run(
        [sys.executable, "-m", "seedbed", "--data-dir", data_dir.name, "gui", *extra],
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            **os.environ,
            **READY,
            "QT_QPA_PLATFORM": "offscreen",
            "SEEDBED_STARTUP_PROBE": "1",
            **(env or {}),
        },
        check=False,
    )


def painted_by(result: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    """The pid and parent pid of the process that painted the board."""
    assert result.returncode == 0, result.stderr[-3000:]
    found = re.search(
        r"^board-painted \S+ \S+ pid=(\d+) ppid=(\d+) sid=(\d+)$", result.stderr, re.M
    )
    assert found, result.stderr[-3000:]
    assert found[3] == found[1]  # the window leads a session of its own
    return int(found[1]), int(found[2])


def ready_pid(data_dir: Path, timeout: float = 30) -> int:
    """The pid of the data dir's ready window, once it listens."""
    path = ready_socket(data_dir)
    assert path is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if READY_FLAG.encode() in argv and os.fsencode(data_dir) in argv and path.exists():
                return int(entry.name)
        time.sleep(0.05)
    raise AssertionError("the engine kept no ready window")


@pytest.fixture
def board(seedbed: SeedbedCli, project: str, engines: Engines) -> Engines:
    """An engine that keeps a ready window, and a board with one card."""
    engines.start(env=READY)
    seedbed.ok("task", "add", "--project", project, "--title", "One card")
    return engines


def test_the_next_window_opens_in_the_ready_one(board: Engines, data_dir: Path) -> None:
    first = window(data_dir)
    _first_pid, first_parent = painted_by(first)
    ready = ready_pid(data_dir)  # the first window, closing, had the engine start it
    assert first_parent != ready  # the first one started as any process does

    second = window(data_dir)
    pid, parent = painted_by(second)
    # A fork of the ready process, yet the caller's window: its environment (the probe,
    # asked by the caller only), its directory (a relative --data-dir) and its streams.
    assert parent == ready
    assert pid != ready
    assert ready_pid(data_dir) == ready  # still there for the one after


def test_a_window_of_other_code_starts_as_before_and_the_ready_one_leaves(
    board: Engines, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    painted_by(window(data_dir))
    ready = ready_pid(data_dir)
    monkeypatch.setenv("SEEDBED_READY_WINDOW", "1")
    monkeypatch.setattr(ready_window, "code_key", lambda: "another version of seedbed")
    assert ready_window.open_in_ready_window(["--data-dir", str(data_dir)]) is None
    deadline = time.monotonic() + 10
    while Path(f"/proc/{ready}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready_socket(data_dir) is not None
    assert not ready_socket(data_dir).exists()  # type: ignore[union-attr]


def test_a_signal_to_the_caller_reaches_its_window(board: Engines, data_dir: Path) -> None:
    painted_by(window(data_dir))
    ready = ready_pid(data_dir)
    caller = subprocess.Popen(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir)],
        env={**os.environ, **READY, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    deadline = time.monotonic() + 30
    while not children and time.monotonic() < deadline:
        children = [
            int(entry.parent.name)
            for entry in Path("/proc").glob("[0-9]*/stat")
            if _parent_of(entry) == ready
        ]
        time.sleep(0.05)
    assert children, "no window was forked"
    caller.send_signal(signal.SIGTERM)
    # The window died of it, and so does its caller, as a window started cold would.
    assert caller.wait(30) == -signal.SIGTERM
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children)


def test_the_ready_window_leaves_with_its_engine(board: Engines, data_dir: Path) -> None:
    painted_by(window(data_dir))
    ready = ready_pid(data_dir)
    assert board.command("engine", "stop").returncode == 0
    assert gone_within(ready, 15)
    assert not (data_dir / "window.sock").exists()


def test_no_ready_window_when_turned_off(seedbed: SeedbedCli, project: str, engines: Engines,
                                         data_dir: Path) -> None:  # fmt: skip
    engines.start(env={"SEEDBED_READY_WINDOW": "0"})
    seedbed.ok("task", "add", "--project", project, "--title", "One card")
    painted_by(window(data_dir, env={"SEEDBED_READY_WINDOW": "0"}))
    time.sleep(1.5)
    assert not (data_dir / "window.sock").exists()


def _parent_of(stat: Path) -> int | None:
    try:
        text = stat.read_text()
    except OSError:
        return None
    return int(text[text.rindex(")") + 2 :].split()[1])


def _alive(pid: int) -> bool:
    """Running (a zombie, ended and not yet reaped, counts as gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2] != "Z"


@pytest.mark.parametrize(
    ("argv", "plain"),
    [
        ([], True),
        (["gui"], True),
        (["--data-dir", "D"], True),
        (["--data-dir=D", "gui", "--size", "900x600", "--select=3"], True),
        (["gui", "--screenshot", "x.png"], False),
        (["gui", "--probe"], False),
        (["--help"], False),
        (["task", "list"], False),
        (["gui", "--engine-socket", "/s"], False),
        (["gui", "gui"], False),
    ],
)
def test_only_a_plain_window_start_is_handed_over(
    argv: list[str], plain: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEEDBED_ENGINE_SOCKET", raising=False)
    found = window_data_dir(argv)
    assert (found is not None) == plain
    if found is not None and "D" in str(argv):
        assert found == (tmp_path / "D").resolve()


def test_an_engine_socket_elsewhere_is_never_handed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDBED_ENGINE_SOCKET", "/somewhere/engine.sock")
    assert window_data_dir(["gui"]) is None


def windows_of(ready: int) -> list[int]:
    return [
        int(entry.parent.name)
        for entry in Path("/proc").glob("[0-9]*/stat")
        if _parent_of(entry) == ready and _alive(int(entry.parent.name))
    ]


def _session_of(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rindex(")") + 2 :].split()[3])


def open_caller(data_dir: Path, ready: bool = True) -> subprocess.Popen[bytes]:
    """`seedbed` for the data dir, the window left open (no probe); with `ready`, one
    that may use a ready window."""
    return subprocess.Popen(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir)],
        env={**os.environ, **(READY if ready else {}), "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def gone_within(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def forked_window(ready: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = windows_of(ready)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("no window was forked")


def test_a_caller_killed_takes_its_window_along(board: Engines, data_dir: Path) -> None:
    painted_by(window(data_dir))
    ready = ready_pid(data_dir)
    caller = open_caller(data_dir)
    child = forked_window(ready)
    # The window is in a session of its own, not the engine's: a signal to the
    # engine's group, or its stop, never reaches it.
    assert _session_of(child) == child != _session_of(ready)
    caller.kill()  # SIGKILL: nothing is forwarded
    caller.wait(10)
    assert gone_within(child)
    assert _alive(ready)


def test_a_stalled_caller_neither_holds_the_next_nor_keeps_its_streams(
    board: Engines, data_dir: Path
) -> None:
    painted_by(window(data_dir))
    ready = ready_pid(data_dir)
    path = ready_socket(data_dir)
    assert path is not None
    read_end, write_end = os.pipe()
    stalled = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stalled.connect(str(path))
    # Its streams and half a request, then nothing more.
    socket.send_fds(stalled, [b'{"key": "'], [write_end, write_end, write_end])
    os.close(write_end)
    try:
        started = time.monotonic()
        _pid, parent = painted_by(window(data_dir))
        assert parent == ready  # served, after the stalled one's 0.5 s at most
        assert time.monotonic() - started < 20
        # The ready process let go of the stalled caller's streams: the pipe's only
        # writers were those, so its reader sees the end.
        readable, _, _ = select.select([read_end], [], [], 10)
        assert readable, "the ready process still holds the stalled caller's streams"
        assert os.read(read_end, 1) == b""
    finally:
        stalled.close()
        os.close(read_end)


def handed_over_would_paint(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as a caller whose window, if one were forked, paints and quits
    (so a test that expects none fails at once rather than waiting on an open window)."""
    monkeypatch.setenv("SEEDBED_READY_WINDOW", "1")
    monkeypatch.setenv("SEEDBED_STARTUP_PROBE", "1")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")


def test_a_caller_of_other_settings_starts_cold_and_the_ready_one_stays(
    board: Engines, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    painted_by(window(data_dir))
    ready = ready_pid(data_dir)
    handed_over_would_paint(monkeypatch)
    monkeypatch.setenv("PYTHONWARNINGS", "error")  # read by Python at its start only
    assert ready_window.open_in_ready_window(["--data-dir", str(data_dir)]) is None
    time.sleep(1.5)
    assert _alive(ready)
    assert windows_of(ready) == []


def test_a_module_changed_on_disk_sends_the_ready_one_away(
    board: Engines, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit under an editable install (or an upgrade in place) is never run stale."""
    painted_by(window(data_dir))
    ready = ready_pid(data_dir)
    module = Path(ready_window.__file__).with_name("topics.py")
    before = module.stat()
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    try:
        handed_over_would_paint(monkeypatch)
        assert ready_window.open_in_ready_window(["--data-dir", str(data_dir)]) is None
        assert gone_within(ready)
    finally:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.skipif(os.getuid() != 0, reason="playing another user needs root")
def test_a_socket_of_another_user_gets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # A data dir another user can write in (pytest's own temp dirs are closed to them).
    shared = Path(tempfile.mkdtemp(prefix="seedbed-shared-"))
    shared.chmod(0o777)
    heard = shared / "heard"
    server = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)\n"
        "print('listening', flush=True)\n"
        "c, _ = s.accept(); c.settimeout(3)\n"
        "try:\n    data = c.recv(100)\nexcept OSError:\n    data = b''\n"
        "open(sys.argv[2], 'wb').write(data)\n"
    )
    other = subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         "/usr/bin/python3", "-c", server, str(shared / "window.sock"), str(heard)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert other.stdout is not None and other.stdout.readline() == b"listening\n"
        monkeypatch.setenv("SEEDBED_READY_WINDOW", "1")
        monkeypatch.setenv("SEEDBED_SECRET_OF_MINE", "not for them")
        assert ready_window.open_in_ready_window(["--data-dir", str(shared)]) is None
        other.wait(10)
        assert heard.read_bytes() == b""  # neither the environment nor the terminal
    finally:
        other.kill()
        other.communicate(timeout=10)
        shutil.rmtree(shared, ignore_errors=True)


def test_the_caller_imports_nothing_but_the_standard_library() -> None:
    probe = (
        "import sys; import seedbed.service.ready_window\n"
        "ours = sorted(m for m in sys.modules if m.startswith('seedbed'))\n"
        "heavy = [m for m in ('pydantic', 'PySide6', 'websockets') if m in sys.modules]\n"
        "print(ours, heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['seedbed', 'seedbed.service', 'seedbed.service.ready_window'] []"


def test_the_plain_options_are_the_windows_own() -> None:
    parser = argparse.ArgumentParser()
    window_options(parser)
    options = {option for action in parser._actions for option in action.option_strings}
    assert options >= PLAIN_OPTIONS
    assert {"--screenshot", "--probe"} <= options - PLAIN_OPTIONS


@pytest.mark.parametrize(
    "argv",
    [[], ["gui"], ["--data-dir", "D", "gui", "--size", "900x600", "--select", "3"],
     ["gui", "--view=board"]],
)  # fmt: skip
def test_what_is_handed_over_the_window_parser_takes(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEEDBED_ENGINE_SOCKET", raising=False)
    assert window_data_dir(argv) is not None
    assert window_args(argv) is not None


def test_a_cold_window_runs_in_a_session_of_its_own(
    seedbed: SeedbedCli, project: str, engines: Engines, data_dir: Path
) -> None:
    """With no ready window, `seedbed` forks before importing anything: the window leads
    a session of its own, its starter stays in the terminal's and gives its status."""
    seedbed.ok("task", "add", "--project", project, "--title", "One card")
    caller = subprocess.Popen(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "SEEDBED_STARTUP_PROBE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = caller.communicate(timeout=60)
    result = subprocess.CompletedProcess(caller.args, caller.returncode, out, err)
    pid, parent = painted_by(result)  # its own session, and its status: 0
    assert parent == caller.pid != pid


def test_a_cold_windows_starter_killed_takes_it_along(
    seedbed: SeedbedCli, project: str, engines: Engines, data_dir: Path
) -> None:
    engines.start()
    caller = open_caller(data_dir, ready=False)
    child = forked_window(caller.pid)
    assert _session_of(child) == child != _session_of(caller.pid)
    caller.kill()
    caller.wait(10)
    assert gone_within(child)


def test_a_signal_to_a_cold_windows_starter_reaches_the_window(
    seedbed: SeedbedCli, project: str, engines: Engines, data_dir: Path
) -> None:
    engines.start()
    caller = open_caller(data_dir, ready=False)
    child = forked_window(caller.pid)
    time.sleep(1.0)  # the window's own handlers set up (a fresh Python's: SIGTERM kills)
    caller.send_signal(signal.SIGTERM)
    assert caller.wait(30) == -signal.SIGTERM
    assert not _alive(child)


def _ignoring(*signals: signal.Signals) -> Callable[[], None]:
    def before_exec() -> None:
        for sig in signals:
            signal.signal(sig, signal.SIG_IGN)

    return before_exec


@pytest.mark.parametrize("ready", [False, True], ids=["cold", "ready"])
def test_a_signal_the_starter_ignores_the_window_ignores(
    ready: bool, seedbed: SeedbedCli, project: str, engines: Engines, data_dir: Path
) -> None:
    """`nohup seedbed &`: the terminal's hang-up ends neither the starter nor its window,
    whichever way the window started."""
    engines.start(env={"SEEDBED_READY_WINDOW": "1" if ready else "0"})
    seedbed.ok("task", "add", "--project", project, "--title", "One card")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env["SEEDBED_READY_WINDOW"] = "1" if ready else "0"
    if ready:
        painted_by(window(data_dir))
        parent = ready_pid(data_dir)
    caller = subprocess.Popen(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_ignoring(signal.SIGHUP),
    )
    try:
        child = forked_window(parent if ready else caller.pid)
        time.sleep(1.5)  # its own start done
        caller.send_signal(signal.SIGHUP)
        os.kill(child, signal.SIGHUP)  # as a closing terminal's hang-up reaches a group
        time.sleep(1.0)
        assert caller.poll() is None
        assert _alive(child)
        caller.send_signal(signal.SIGTERM)
        assert caller.wait(30) == -signal.SIGTERM
    finally:
        caller.kill()
        caller.wait(10)


def test_a_cold_start_with_sigchld_ignored_still_gives_the_windows_status(
    seedbed: SeedbedCli, project: str, engines: Engines, data_dir: Path
) -> None:
    seedbed.ok("task", "add", "--project", project, "--title", "One card")
    result = subprocess.run(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "SEEDBED_STARTUP_PROBE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_ignoring(signal.SIGCHLD),
    )
    painted_by(result)  # status 0, not a traceback of a wait with nothing to wait for


def test_a_cold_window_can_be_one_process(
    seedbed: SeedbedCli, project: str, engines: Engines, data_dir: Path
) -> None:
    """SEEDBED_WINDOW_SESSION=0 (for a debugger or a profiler): no fork."""
    seedbed.ok("task", "add", "--project", project, "--title", "One card")
    caller = subprocess.Popen(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "SEEDBED_STARTUP_PROBE": "1",
             "SEEDBED_WINDOW_SESSION": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    _out, err = caller.communicate(timeout=60)
    found = PAINTED.search(err)
    assert caller.returncode == 0 and found, err[-2000:]
    assert int(found[1]) == caller.pid
