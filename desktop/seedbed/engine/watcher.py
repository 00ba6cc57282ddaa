"""Notices changes any process made to the store: what a window follows.

The engine tells its listeners about the runs it drives, but other processes change
the store too (`seedbed task add` in a terminal, a second window, an engine started
elsewhere). The watcher polls SQLite's data_version, a counter that moves only when
another connection commits, and only then compares the tasks' versions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from seedbed.store import Store

WATCH_SECONDS = 0.25


class StoreWatcher:
    """Calls `on_task(task_id)` for each task whose card changed (new, gone or edited),
    `on_events(run_id, first, last)` when a running run has new events and
    `on_projects()` when a project was added or removed."""

    def __init__(
        self,
        db_path: Path,
        on_task: Callable[[int], None],
        on_events: Callable[[int, int, int], None],
        on_projects: Callable[[], None] = lambda: None,
    ) -> None:
        # Its own Store, so its own connection: data_version counts the engine's
        # commits on this loop's thread too.
        self.store = Store(db_path)
        self._on_task = on_task
        self._on_events = on_events
        self._on_projects = on_projects
        self._projects: tuple[tuple[int, str], ...] = ()
        self._version: int | None = None
        self._tasks: dict[int, tuple[float, int, float, int]] = {}
        self._seqs: dict[int, int] = {}  # run id → the last event's seq told
        self._newest_run = 0
        # One thread, so one connection: data_version is per connection.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seedbed-watch")

    def poll(self) -> None:
        version = self.store.data_version()
        if version == self._version:
            return
        first = self._version is None
        self._version = version
        tasks = self.store.task_versions()
        changed = {t for t, v in tasks.items() if self._tasks.get(t) != v}
        changed |= self._tasks.keys() - tasks.keys()
        self._tasks = tasks
        projects = self.store.project_signature()
        if not first and projects != self._projects:
            self._on_projects()
        self._projects = projects
        if first:
            # The baseline: whoever starts watching reads the board itself.
            changed = set()
        for task_id in sorted(changed):
            self._on_task(task_id)
        if first:
            # Runs that ended before the window opened are read when shown, not told.
            self._newest_run = self.store.newest_run_id()
        runs = self.store.runs_to_watch(self._newest_run)
        running = {run_id for run_id, live in runs if live}
        # A run that ended since the last look is read once more: its last events (the
        # checks' output, "run N ended") were written just before it ended.
        watched = {run_id for run_id, _live in runs} | self._seqs.keys()
        seqs = self.store.last_events(watched)
        for run_id, last in sorted(seqs.items()):
            before = self._seqs.get(run_id, -1)
            if last > before:
                self._on_events(run_id, before + 1, last)
        self._newest_run = max([self._newest_run, *(run_id for run_id, _live in runs)])
        # Running ones stay watched, events or not yet; ended ones were told their end.
        self._seqs = {r: seqs.get(r, self._seqs.get(r, -1)) for r in running}

    def absorb(self, task_ids: Iterable[int], projects: bool = False) -> None:
        """Take these tasks' versions as they are now (and the projects' when `projects`)
        as told: their changes so far are being told (service/publisher.py), so only a
        later change is told from here. On the watcher's thread (`absorbed`)."""
        if self._version is None:
            return  # before the baseline: nothing is told of what it will read
        ids = set(task_ids)
        if ids:
            versions = self.store.task_versions()
            for task_id in ids:
                if task_id in versions:
                    self._tasks[task_id] = versions[task_id]
                else:
                    self._tasks.pop(task_id, None)
        if projects:
            self._projects = self.store.project_signature()

    async def absorbed(self, task_ids: Iterable[int], projects: bool) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self.absorb, task_ids, projects)

    async def watch(self) -> None:
        while True:
            await asyncio.get_running_loop().run_in_executor(self._thread, self.poll)
            await asyncio.sleep(WATCH_SECONDS)

    def close(self) -> None:
        self._thread.submit(self.store.close).result()
        self._thread.shutdown()
