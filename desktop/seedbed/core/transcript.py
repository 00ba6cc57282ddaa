"""Reading a run's transcript: its final words (the plan, the verdict, the summary the
reviewer shows are a run's last answer)."""

from __future__ import annotations

import json

from seedbed.core.context import Context
from seedbed.store import Store

SUMMARY_PAGE = 200  # log rows read per step when looking back for the last answer
SUMMARY_ROWS = 5000  # and how far back at most


def final_words(store: Store, run_id: int) -> str:
    """A run's answer: its last complete text, or, from an agent that only prints (a
    command), what it printed on stdout."""
    answer = last_answer(store, run_id)
    if answer:
        return answer
    lines: list[str] = []
    total = store.count_log_rows(run_id)
    for first in range(0, total, SUMMARY_PAGE):
        for _row, _seq, data in store.read_log_rows(run_id, first, SUMMARY_PAGE):
            event = json.loads(data)
            if event.get("kind") == "output" and event.get("stream") == "stdout":
                lines.append(str(event.get("line", "")))
    return "\n".join(lines).strip()


def last_answer(store: Store, run_id: int) -> str:
    """The run's last non-delta text event, looked for backwards through its log rows
    (streamed pieces have no row; whole answers do)."""
    end = store.count_log_rows(run_id)
    first = end
    while first > 0 and end - first < SUMMARY_ROWS:
        first = max(0, first - SUMMARY_PAGE)
        rows = store.read_log_rows(run_id, first, SUMMARY_PAGE)
        for _row, _seq, data in reversed(rows):
            event = json.loads(data)
            if event.get("kind") == "text" and not event.get("delta"):
                return str(event.get("text", "")).strip()
    return ""


# -- a run's log, page by page: what a log view reads (blocking, short SQLite reads) ---


def log_row_count(ctx: Context, run_id: int) -> int:
    """How many events a log view shows for the run (one index lookup)."""
    return ctx.store.count_log_rows(run_id)


def log_rows(ctx: Context, run_id: int, first_row: int, limit: int) -> list[tuple[int, int, str]]:
    """(row, seq, json) of the shown events from first_row on, at most `limit`."""
    return ctx.store.read_log_rows(run_id, first_row, limit)


def tool_results_after(ctx: Context, run_id: int, row: int, window: int) -> list[str]:
    """The JSON of the tool results among the `window` log rows after `row`."""
    return ctx.store.tool_results_after(run_id, row, window)


def search_log(
    ctx: Context, run_id: int, needle: str, after_row: int, limit: int, backward: bool = False
) -> list[tuple[int, str]]:
    """(row, json) of shown events whose JSON holds needle (ASCII case-insensitive),
    after `after_row` (before it, when backward), at most `limit`."""
    return ctx.store.search_log_rows(run_id, needle, after_row, limit, backward)


def pending_text(ctx: Context, run_id: int) -> str:
    """The streamed text after the run's last shown event: an answer being written."""
    return ctx.store.read_pending_text(run_id)
