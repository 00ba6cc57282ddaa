"""Desktop notifications from the engine: which changes notify and how they read (pure),
the sending (a real private D-Bus session with a notification server on it), and an
engine process with no window telling a finished task."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seedbed.api.sync_client import SyncClient
from seedbed.domain.models import Phase, Task, TaskState
from seedbed.service import launch
from seedbed.service.notify import Notice, notice_for, send, send_command
from seedbed.service.topics import TASKS
from tests.conftest import SeedbedCli
from tests.notification_server import NotificationServer, notification_server
from tests.service.conftest import Engines
from tests.service.test_engine_process import NEVER_IDLE, wait_for


def task(state: TaskState, phase: Phase, error: str = "") -> Task:
    return Task(id=7, project_id=1, title="Fix  the\nparser", state=state, phase=phase, error=error)


RUNNING = task(TaskState.RUNNING, Phase.IMPLEMENTING)


def test_a_task_reaching_review_or_failing_notifies() -> None:
    ready = notice_for(RUNNING, task(TaskState.AWAITING_REVIEW, Phase.READY))
    assert ready == Notice(task_id=7, title="#7 is ready for review", body="Fix the parser")
    failed = notice_for(RUNNING, task(TaskState.AWAITING_REVIEW, Phase.AGENT_FAILED, "exit 1"))
    assert failed == Notice(
        task_id=7, title="#7 needs you: agent failed", body="Fix the parser\nexit 1"
    )


def test_other_changes_do_not_notify() -> None:
    waiting = task(TaskState.AWAITING_REVIEW, Phase.READY)
    assert notice_for(waiting, waiting) is None  # told twice: once
    assert notice_for(RUNNING, RUNNING) is None
    assert notice_for(RUNNING, task(TaskState.AWAITING_REVIEW, Phase.MERGING)) is None
    assert notice_for(waiting, task(TaskState.MERGED, Phase.NONE)) is None
    assert notice_for(task(TaskState.PLANNED, Phase.DRAFT), waiting) is None


NOTICE = Notice(task_id=3, title="#3 is ready for review", body='Say "hi"\n\\ and more')


def test_the_command_prefers_notify_send_then_gdbus_and_needs_a_bus() -> None:
    bus = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/x", "PATH": "/bin"}
    both = {"notify-send": "/bin/notify-send", "gdbus": "/bin/gdbus"}

    def which(found: dict[str, str]) -> Callable[..., str | None]:
        return lambda name, path=None: found.get(name)

    assert send_command(NOTICE, bus, which(both)) == [
        "/bin/notify-send",
        "--app-name=Seedbed",
        "--",
        NOTICE.title,
        NOTICE.body,
    ]
    gdbus = send_command(NOTICE, bus, which({"gdbus": "/bin/gdbus"}))
    assert gdbus is not None and gdbus[0] == "/bin/gdbus"
    assert "--method=org.freedesktop.Notifications.Notify" in gdbus
    assert send_command(NOTICE, bus, which({})) is None
    assert send_command(NOTICE, {"PATH": "/bin"}, which(both)) is None


def test_without_a_bus_nothing_is_sent(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="seedbed.service")
    assert send(NOTICE, {"PATH": os.environ["PATH"]}) is False
    assert "no session bus" in caplog.text


@pytest.fixture
def notifications(tmp_path: Path) -> Iterator[NotificationServer]:
    if not shutil.which("dbus-daemon") or not shutil.which("gdbus"):
        pytest.fail("dbus-daemon and gdbus are needed (Debian: dbus, libglib2.0-bin)")
    with notification_server(tmp_path / "bus") as server:
        yield server


def test_gdbus_reaches_a_real_notification_server(notifications: NotificationServer) -> None:
    env = {**os.environ, **notifications.env()}
    assert send_command(NOTICE, env) is not None
    assert send(NOTICE, env) is True
    assert notifications.wait(1, 10) == [("Seedbed", NOTICE.title, NOTICE.body)]


def test_a_fake_notify_send_on_path_gets_the_words(tmp_path: Path) -> None:
    """notify-send, when installed, is preferred: a real script at its place records
    the argv it is given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv"
    script = bin_dir / "notify-send"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n', encoding="utf-8")
    script.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "DBUS_SESSION_BUS_ADDRESS": "unix:x"}
    assert send(NOTICE, env) is True
    assert record.read_text(encoding="utf-8") == (
        f"--app-name=Seedbed\n--\n{NOTICE.title}\n{NOTICE.body}\n"
    )


def test_an_engine_with_no_window_tells_the_desktop(
    engines: Engines,
    seedbed: SeedbedCli,
    project: str,
    data_dir: Path,
    notifications: NotificationServer,
) -> None:
    seedbed.ok("profile", "add", "quick", "--kind", "command", "--command", "echo hi > hi.txt")
    engines.start(env={**NEVER_IDLE, **notifications.env()})
    watched = seedbed.ok(
        "task", "add", "--project", project, "--title", "Watched", "--profile", "quick"
    ).out.strip()
    with SyncClient.connect(data_dir, client_name="window") as window:
        window.subscribe([TASKS])
        seedbed.ok("task", "start", watched)
        wait_for(lambda: seedbed.show(watched)["state"] == "awaiting_review", 30, "done")
        time.sleep(1.0)  # what the engine would have sent has had time to come
    assert notifications.notified == []  # a window watched: it tells the user itself
    alone = seedbed.ok(
        "task", "add", "--project", project, "--title", "Alone", "--profile", "quick", "--start"
    ).out.strip()
    told = notifications.wait(1, 30)
    assert told == [("Seedbed", f"#{alone} is ready for review", "Alone")]
    assert launch.stop(data_dir) is not None
