"""What needs the human: the "Needs you" queue and tray notifications."""

from __future__ import annotations

import functools
from collections.abc import Set

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSystemTrayIcon

from seedbed.core import reads
from seedbed.core.attention import needs_you_order, notification_for
from seedbed.domain.models import Task
from seedbed.ui.common.context import AppContext


class Attention(QObject):
    """Keeps the Needs-you queue (all projects) and notifies when a task reaches review.
    Its first `refresh()` reads every task: the window asks it once the board is shown.
    After that only the changed tasks are read, in one call per burst of changes, and
    the queue is worked out from every task known (each change is told on "tasks"; when
    the engine comes back after being lost, the window reads everything again).

    Signals:
        count_changed(int): how many tasks await review.
        notified(int, str, str): a notification went out (task id, title, body).
        task_requested(int): the user clicked a notification: open that task.
        failed(str): the queue could not be read (the store is busy or gone).
    """

    count_changed = Signal(int)
    notified = Signal(int, str, str)
    task_requested = Signal(int)
    failed = Signal(str)

    def __init__(self, context: AppContext, icon: QIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.queue: list[Task] = []
        self._known: dict[int, Task] = {}
        self._primed = False
        self._reading = False
        self._more = False
        self._waiting: set[int] | None = set()
        self._last_notified = 0
        # Made even without a tray host (the window then alerts on the taskbar and in
        # its status bar instead); shown only where a tray exists.
        self.tray = QSystemTrayIcon(icon, self)
        self.tray.setToolTip("Seedbed")
        self.tray.messageClicked.connect(self._on_tray_message_clicked)
        self.tray.activated.connect(self._on_tray_activated)
        self.tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        if self.tray_available:
            self.tray.show()
        context.bridge.tasks_changed.connect(self._on_bridge_tasks_changed)

    def refresh(self, task_ids: list[int] | None = None) -> None:
        """Read the changed tasks (every task when None, and the first time).

        One read at a time, in order: the engine's workers could otherwise answer an
        older read after a newer one (a stale count, a repeated notification). Changes
        named while a read runs are read right after it, in one read.
        """
        if not self._primed:
            task_ids = None
        if self._reading:
            if task_ids is None or self._waiting is None:
                self._waiting = None  # a full read covers any named tasks
            else:
                self._waiting.update(task_ids)
            self._more = True
            return
        self._reading = True
        asked = None if task_ids is None else frozenset(task_ids)
        self.context.host.call(
            reads.list_tasks,
            task_ids=None if asked is None else sorted(asked),
            on_done=functools.partial(self._on_tasks_loaded, asked),
            on_error=self._on_tasks_failed,
            owner=self,
        )

    def _read_next(self) -> None:
        self._reading = False
        if self._more:
            waiting, self._waiting, self._more = self._waiting, set(), False
            self.refresh(None if waiting is None else sorted(waiting))

    @Slot(object)
    def _on_bridge_tasks_changed(self, task_ids: list[int]) -> None:
        self.refresh(task_ids)

    def _on_tasks_loaded(self, asked: frozenset[int] | None, tasks: list[Task]) -> None:
        """`tasks`: the ones named in `asked` that still exist (every task when None)."""
        gone: Set[int]
        if asked is None:
            gone = self._known.keys() - {task.id for task in tasks}
        else:
            gone = asked - {task.id for task in tasks}
        self._apply(tasks, gone)
        self._read_next()

    def _apply(self, changed: list[Task], gone: Set[int]) -> None:
        if self._primed:
            for task in changed:
                note = notification_for(self._known.get(task.id), task)
                if note is not None:
                    self.notify(task.id, *note)
        for task_id in gone:
            self._known.pop(task_id, None)
        self._known.update((t.id, t) for t in changed)
        self._primed = True
        self.queue = needs_you_order(list(self._known.values()))
        count = len(self.queue)
        self.tray.setToolTip(f"Seedbed: {count} need{'s' if count == 1 else ''} you")
        self.count_changed.emit(count)

    def _on_tasks_failed(self, error: BaseException) -> None:
        self.failed.emit(f"cannot read what needs you: {error}")
        self._read_next()

    def notify(self, task_id: int, title: str, body: str) -> None:
        self._last_notified = task_id
        if self.tray_available and self.context.settings.value.notify:
            self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 8000)
        self.notified.emit(task_id, title, body)

    def next_after(self, task_id: int) -> Task | None:
        """The next task in the queue after task_id (wrapping), or the first."""
        if not self.queue:
            return None
        ids = [t.id for t in self.queue]
        if task_id in ids:
            return self.queue[(ids.index(task_id) + 1) % len(ids)]
        return self.queue[0]

    @Slot()
    def _on_tray_message_clicked(self) -> None:
        if self._last_notified:
            self.task_requested.emit(self._last_notified)

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_tray_activated(self, _reason: QSystemTrayIcon.ActivationReason) -> None:
        if self.queue:
            self.task_requested.emit(self.queue[0].id)
