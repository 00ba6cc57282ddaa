"""Persists a run's events in batches: one transaction per flush, not per line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

from seedbed.domain.events import Event
from seedbed.store import Store

FLUSH_EVERY_S = 0.05
FLUSH_AT_ROWS = 2000
REDACTED = "[redacted]"
MIN_SECRET = 8


class EventRecorder:
    """Numbers a run's events and writes them to the store at most every 50 ms.

    `on_flush(run_id, first_seq, last_seq)` tells listeners (the window's bridge)
    which rows are new, so nothing is kept only in memory.
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

    def add(self, events: Iterable[Event]) -> None:
        scrub = self.scrub if self._secrets else None
        for event in events:
            if not event.ts:
                event.ts = time.time()
            data = event.model_dump_json()
            if scrub is not None:
                data = scrub(data)
            shown = not (event.kind == "text" and event.delta)
            self._rows.append((event.ts, event.kind, data, shown))
        if len(self._rows) >= FLUSH_AT_ROWS or time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        first = self.next_seq
        self.store.append_events(self.run_id, first, rows)
        self.next_seq += len(rows)
        if self._on_flush is not None:
            self._on_flush(self.run_id, first, self.next_seq - 1)
