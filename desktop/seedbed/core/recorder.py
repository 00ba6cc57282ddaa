"""Persists a run's events in batches: one transaction per flush, not per line."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable

from seedbed.domain.events import ErrorEvent, Event
from seedbed.store import Store
from seedbed.store.problems import disk_full

FLUSH_EVERY_S = 0.05
FLUSH_AT_ROWS = 2000
FlushListener = Callable[[int, int, int], None]  # run id, first and last seq written
HELD_ROWS = 20_000  # kept in memory while the disk is full; the middle ones are counted, lost
HELD_TAIL = 200  # of which the latest: how the run ended matters most
REDACTED = "[redacted]"
MIN_SECRET = 8


class EventRecorder:
    """Numbers a run's events and writes them to the store at most every 50 ms.

    `on_flush(run_id, first_seq, last_seq)` tells listeners (the window's bridge)
    which rows are new, so nothing is kept only in memory.

    A full disk does not raise: the rows wait (up to HELD_ROWS) for the next flush,
    `full` says why until one succeeds, and the runner ends the run for it.
    """

    def __init__(
        self,
        store: Store,
        run_id: int,
        on_flush: Callable[[int, int, int], None] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.next_seq = store.count_events(run_id)
        self._rows: list[tuple[float, str, str, bool]] = []
        self._last_flush = time.monotonic()
        self._secrets: list[str] = []
        self._on_flush = on_flush
        self.full: BaseException | None = None
        self._lost = 0
        self._gap = 0  # where the lost rows were, in the rows waiting

    def add_secret(self, value: str) -> None:
        """Never store this text (an API key): it is replaced in every event from now on,
        as it is and as it looks inside a JSON string."""
        if len(value) < MIN_SECRET:  # too short to tell from ordinary text
            return
        for form in (value, json.dumps(value)[1:-1]):
            if form not in self._secrets:
                self._secrets.append(form)
        self._secrets.sort(key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def _row(self, event: Event) -> tuple[float, str, str, bool]:
        if not event.ts:
            event.ts = time.time()
        data = self.scrub(event.model_dump_json()) if self._secrets else event.model_dump_json()
        shown = not (event.kind == "text" and event.delta)
        return (event.ts, event.kind, data, shown)

    def add(self, events: Iterable[Event]) -> None:
        self._rows.extend(self._row(event) for event in events)
        if len(self._rows) >= FLUSH_AT_ROWS or time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._rows:
            return
        rows = self._rows
        first = self.next_seq
        written = rows
        if self._lost:  # said where they were
            notice = ErrorEvent(message=f"{self._lost} lines were not kept: the disk was full")
            written = [*rows[: self._gap], self._row(notice), *rows[self._gap :]]
        try:
            self.store.append_events(self.run_id, first, written)
        except (sqlite3.Error, OSError) as exc:
            if not disk_full(exc):
                raise
            self.full = exc
            if len(rows) > HELD_ROWS:
                self._gap = HELD_ROWS - HELD_TAIL
                self._lost += len(rows) - HELD_ROWS
                del rows[self._gap : len(rows) - HELD_TAIL]
            return
        self._rows = []
        self.full = None
        self._lost = 0
        self.next_seq += len(written)
        if self._on_flush is not None:
            self._on_flush(self.run_id, first, self.next_seq - 1)
