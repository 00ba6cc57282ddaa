"""The engine's ready window (service/ready_window.py): the next `seedbed` opens in a fork
of a process that has imported the window already, as the caller's own window."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seedbed.service import ready_window
from seedbed.service.ready_window import READY_FLAG, ready_socket, window_data_dir
from tests.conftest import SeedbedCli
from tests.service.conftest import Engines

READY = {"SEEDBED_READY_WINDOW": "1"}


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
    found = re.search(r"^board-painted \S+ \S+ pid=(\d+) ppid=(\d+)$", result.stderr, re.M)
    assert found, result.stderr[-3000:]
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
    ready = ready_pid(data_dir)  # the first window's connection had the engine start it
    assert first_parent != ready  # the first one started as any process does

    second = window(data_dir, env={"SEEDBED_MARK": "caller's"})
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
    assert caller.wait(30) != 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children)


def test_the_ready_window_leaves_with_its_engine(board: Engines, data_dir: Path) -> None:
    painted_by(window(data_dir))
    ready = ready_pid(data_dir)
    assert board.command("engine", "stop").returncode == 0
    deadline = time.monotonic() + 15
    while _alive(ready) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(ready)
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
