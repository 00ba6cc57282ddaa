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

from seedbed.core.doctor import qt_reason, wayland_problem, x11_problem
from tests.conftest import SeedbedCli, git, make_repo


def doctor(data_dir: Path, **env_changes: str) -> subprocess.CompletedProcess[str]:
    """`seedbed doctor` in a process of its own, with no display unless given one."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_SESSION_TYPE")
    }
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "doctor"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
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


@pytest.fixture
def x_server() -> Iterator[str]:
    """A real X server (Xvfb, Debian package xvfb) on a free display; its DISPLAY."""
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "800x600x24"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as announced:
            number = announced.readline().strip()  # written once it accepts clients
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(30)


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


def test_doctor_names_each_projects_git_identity(
    seedbed: SeedbedCli, repo: Path, tmp_path: Path
) -> None:
    anon = make_repo(tmp_path / "anon")
    git(anon, "config", "--unset", "user.name")
    git(anon, "config", "--unset", "user.email")
    seedbed.ok("project", "add", str(repo), "--name", "mine")
    seedbed.ok("project", "add", str(anon), "--name", "anon")

    by_name = {check["name"]: check for check in seedbed.ok("doctor", "--json").json()}

    assert by_name["project mine"] == {
        "name": "project mine",
        "ok": True,
        "detail": "commits as Test Author <author@example.com>",
        "essential": False,
    }
    assert by_name["project anon"] == {
        "name": "project anon",
        "ok": False,
        "detail": f"no git identity configured in {anon.resolve()}: commits are authored as "
        "Seedbed <seedbed@localhost>",
        "essential": False,
    }


def test_without_a_display_doctor_fails_and_says_why(tmp_path: Path) -> None:
    done = doctor(tmp_path / "data")
    assert done.returncode == 1
    display = line_of(done.stdout, "display")
    assert " NO " in display and "no DISPLAY" in display
    assert "Qt platform" not in done.stdout  # not tried without a display


def test_with_a_real_x_server_qt_starts_on_it(tmp_path: Path, x_server: str) -> None:
    done = doctor(tmp_path / "data", DISPLAY=x_server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert line_of(done.stdout, "display").split()[1:] == ["ok", "xcb", f"(DISPLAY={x_server})"]
    assert line_of(done.stdout, "Qt platform").split()[2:] == ["ok", "xcb", "starts"]


def test_a_display_whose_server_is_gone_is_no_display(tmp_path: Path, x_server: str) -> None:
    gone = f":{int(x_server[1:]) + 500}"  # a number no server has here
    done = doctor(tmp_path / "data", DISPLAY=gone)
    assert done.returncode == 1
    assert f"no X server at /tmp/.X11-unix/X{gone[1:]}" in line_of(done.stdout, "display")
    # Another display that does answer is enough, as Qt would use it.
    done = doctor(tmp_path / "data", DISPLAY=x_server, WAYLAND_DISPLAY="wayland-gone")
    assert done.returncode == 0, done.stdout


def test_a_platform_plugin_qt_cannot_load_fails_with_qts_reason(tmp_path: Path) -> None:
    done = doctor(tmp_path / "data", QT_QPA_PLATFORM="nosuchplugin")
    assert done.returncode == 1
    platform = line_of(done.stdout, "Qt platform")
    assert " NO " in platform and 'Could not find the Qt platform plugin "nosuchplugin"' in platform


def test_a_data_dir_that_cannot_be_used_is_reported_not_raised(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    # Named both ways: the Qt probe, a process of its own, must not trip over it either.
    done = doctor(not_a_dir, QT_QPA_PLATFORM="offscreen", SEEDBED_DATA_DIR=str(not_a_dir))
    assert done.returncode == 1
    assert line_of(done.stdout, "data dir").split()[2] == "NO"
    assert line_of(done.stdout, "git").split()[1] == "ok"  # the other checks still ran
    assert line_of(done.stdout, "Qt platform").split()[2:] == ["ok", "offscreen", "starts"]


def test_the_probes_of_a_display_server(listening_tcp: int, tmp_path: Path) -> None:
    number = listening_tcp - 6000
    assert x11_problem(f"127.0.0.1:{number}") == ""
    assert x11_problem(f"127.0.0.1:{number}.0") == ""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # a port nobody has
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert x11_problem(f"127.0.0.1:{free - 6000}").startswith("no X server at 127.0.0.1")
    assert x11_problem(":999999").startswith("no X server at /tmp/.X11-unix/X999999")
    assert x11_problem("nonsense") == "not a display name"
    path = tmp_path / "wayland-1"
    assert wayland_problem(str(path)).startswith(f"no Wayland compositor at {path}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as compositor:
        compositor.bind(str(path))
        compositor.listen()
        assert wayland_problem(str(path)) == ""


def test_qts_own_words_are_kept() -> None:
    stderr = (
        "qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt "
        "xcb platform plugin.\n"
        'qt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" even though it '
        "was found.\nThis application failed to start because no Qt platform plugin could "
        "be initialized.\n"
    )
    reason = qt_reason(stderr)
    assert reason.startswith("From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed")
    assert 'Could not load the Qt platform plugin "xcb"' in reason
    assert qt_reason("Aborted\n") == "Aborted"


def test_qt_platform_offscreen_is_a_place_to_draw(tmp_path: Path) -> None:
    done = doctor(tmp_path / "data", QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stdout
    assert "offscreen (QT_QPA_PLATFORM)" in line_of(done.stdout, "display")
    assert line_of(done.stdout, "Qt platform").split()[2:] == ["ok", "offscreen", "starts"]
