"""`seedbed doctor`: what it finds of this machine, said line by line, and an exit status
that fails when the window or git cannot work here."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed.cli.doctor import wayland_problem, x11_problem
from tests.conftest import SeedbedCli


def doctor(**env_changes: str | None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env.update({k: v for k, v in env_changes.items() if v is not None})
    return subprocess.run(
        [sys.executable, "-m", "seedbed", "doctor"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def line_of(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(name))


@pytest.fixture
def listening_tcp() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections, as an X server's would (6000 + n)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_doctor_says_what_it_finds(seedbed: SeedbedCli) -> None:
    seedbed.ok(
        "profile", "add", "keyless", "--kind", "builtin", "--provider", "openai", "--model", "m"
    )
    seedbed.ok("profile", "add", "script", "--kind", "command", "--command", "true")
    shown = seedbed.ok("doctor", "--json").json()
    by_name = {check["name"]: check for check in shown}
    assert by_name["Qt"]["ok"] and "PySide6" in by_name["Qt"]["detail"]
    assert by_name["git"]["ok"] and by_name["git"]["detail"].startswith("git version")
    assert {"display", "keyring", "Claude Code", "Codex", "Aider"} <= set(by_name)
    assert by_name["profile script"] == {
        "name": "profile script",
        "ok": True,
        "detail": "can run",
        "essential": False,
    }
    keyless = by_name["profile keyless"]
    assert not keyless["ok"] and "no API key 'openai'" in keyless["detail"]


def test_without_a_display_doctor_fails_and_says_why() -> None:
    done = doctor()
    assert done.returncode == 1
    display = line_of(done.stdout, "display")
    assert " NO " in display and "no DISPLAY" in display


def test_a_display_whose_server_is_gone_is_no_display(listening_tcp: int) -> None:
    number = listening_tcp - 6000
    assert x11_problem(f"127.0.0.1:{number}") == ""
    assert x11_problem(f"127.0.0.1:{number}.0") == ""
    done = doctor(DISPLAY=f"127.0.0.1:{number}")
    assert done.returncode == 0, done.stdout
    assert line_of(done.stdout, "display").split()[1] == "ok"

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # a port nobody has
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    done = doctor(DISPLAY=f"127.0.0.1:{free - 6000}")
    assert done.returncode == 1
    assert "no X server at 127.0.0.1" in line_of(done.stdout, "display")
    assert x11_problem(":999999").startswith("no X server at /tmp/.X11-unix/X999999")
    assert x11_problem("nonsense") == "not a display name"


def test_a_wayland_display_is_looked_for_in_the_runtime_dir(tmp_path: Path) -> None:
    path = tmp_path / "wayland-1"
    assert wayland_problem(str(path)).startswith(f"no Wayland compositor at {path}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as compositor:
        compositor.bind(str(path))
        compositor.listen()
        done = doctor(WAYLAND_DISPLAY="wayland-1", XDG_RUNTIME_DIR=str(tmp_path))
    assert done.returncode == 0, done.stdout
    assert line_of(done.stdout, "display").split()[:2] == ["display", "ok"]


def test_qt_platform_offscreen_is_a_place_to_draw() -> None:
    done = doctor(QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0
    assert "offscreen (QT_QPA_PLATFORM)" in line_of(done.stdout, "display")
