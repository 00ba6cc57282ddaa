"""Desktop notifications from the engine process, when a task needs you and no window
watches (a window tells it itself, in its tray).

The rule of which change is worth telling is core's (`core/attention.notification_for`,
the window's too). Sending is thin: the session's org.freedesktop.Notifications over
D-Bus, through `notify-send` or else `gdbus`, a subprocess with a time limit and never a
shell. Without a session bus or either program, nothing is sent: one log line says so.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel, ConfigDict

from seedbed.core.attention import notification_for
from seedbed.domain.errors import UserError
from seedbed.domain.models import Task
from seedbed.store import Store

logger = logging.getLogger("seedbed.service")

APP_NAME = "Seedbed"
SEND_TIMEOUT_S = 5.0
EXPIRE_MS = -1  # the notification server's default
BUS_ENV = "DBUS_SESSION_BUS_ADDRESS"


class Notice(BaseModel):
    """One desktop notification."""

    model_config = ConfigDict(frozen=True)

    task_id: int
    title: str
    body: str


def notice_for(before: Task | None, after: Task) -> Notice | None:
    """The notification a task's change calls for (it has just come to need you), if any."""
    said = notification_for(before, after)
    if said is None:
        return None
    return Notice(task_id=after.id, title=said[0], body=said[1])


def send_command(
    notice: Notice, env: dict[str, str], which: Callable[[str], str | None] = shutil.which
) -> list[str] | None:
    """The argv that shows `notice` on the session of `env`; None when there is no
    session bus or no program to reach it with."""
    if not env.get(BUS_ENV):
        return None
    path = env.get("PATH")
    notify_send = which_on(which, "notify-send", path)
    if notify_send is not None:
        return [notify_send, f"--app-name={APP_NAME}", "--", notice.title, notice.body]
    gdbus = which_on(which, "gdbus", path)
    if gdbus is not None:
        return [
            gdbus,
            "call",
            "--session",
            "--dest=org.freedesktop.Notifications",
            "--object-path=/org/freedesktop/Notifications",
            "--method=org.freedesktop.Notifications.Notify",
            "--",  # what follows is arguments, the expiry's -1 included
            # app_name, replaces_id, app_icon, summary, body, actions, hints, expire;
            # each in GVariant's text format (gdbus parses them so)
            gvariant_string(APP_NAME),
            "0",
            gvariant_string(""),
            gvariant_string(notice.title),
            gvariant_string(notice.body),
            "[]",
            "{}",
            str(EXPIRE_MS),
        ]
    return None


def gvariant_string(text: str) -> str:
    """`text` as a GVariant text-format string, whatever it holds (quotes, newlines)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def which_on(which: Callable[..., str | None], name: str, path: str | None) -> str | None:
    return which(name, path=path) if path is not None else which(name)


def send(notice: Notice, env: dict[str, str] | None = None) -> bool:
    """Show `notice` on the desktop; False (logged) when it could not be."""
    env = dict(os.environ if env is None else env)
    argv = send_command(notice, env)
    if argv is None:
        logger.info(
            "no desktop notification (%s): %s",
            "no session bus" if not env.get(BUS_ENV) else "neither notify-send nor gdbus",
            notice.title,
        )
        return False
    try:
        done = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SEND_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.info("desktop notification not sent (%s): %s", exc, notice.title)
        return False
    if done.returncode != 0:
        logger.info(
            "desktop notification not sent (%s exited %d: %s): %s",
            os.path.basename(argv[0]),
            done.returncode,
            done.stderr.strip(),
            notice.title,
        )
        return False
    return True


class Notifier:
    """Tells the desktop when a task comes to need you while no window watches.

    `note(task_id)` may be called from any thread, as often as a task changes (the
    engine and the store watcher both tell each change): the task is read and compared
    with how it was last seen on one worker thread, one change after the other, so a
    change told twice notifies once. `watched()` says whether a window is connected."""

    def __init__(
        self,
        store: Store,
        watched: Callable[[], bool],
        deliver: Callable[[Notice], object] = send,
    ) -> None:
        self.store = store
        self.watched = watched
        self.deliver = deliver
        self._known: dict[int, Task] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seedbed-notify")
        self._closed = threading.Event()

    def start(self) -> None:
        """Learn how every task is now (a task already waiting is not news)."""
        self._worker.submit(self._prime)

    def note(self, task_id: int) -> None:
        if not self._closed.is_set():
            self._worker.submit(self._look, task_id)

    def close(self) -> None:
        self._closed.set()
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _prime(self) -> None:
        try:
            self._known = {task.id: task for task in self.store.list_tasks()}
        except sqlite3.Error as exc:
            logger.info("notifications: cannot read the tasks (%s)", exc)

    def _look(self, task_id: int) -> None:
        try:
            task = self.store.get_task(task_id)
        except (UserError, KeyError, sqlite3.Error):
            self._known.pop(task_id, None)  # deleted meanwhile, or unreadable now
            return
        notice = notice_for(self._known.get(task_id), task)
        self._known[task_id] = task
        if notice is not None and not self.watched() and not self._closed.is_set():
            self.deliver(notice)
