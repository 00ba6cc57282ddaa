"""Reading a run's transcript: its final words (the plan, the verdict, the summary the
reviewer shows are a run's last answer)."""

from __future__ import annotations

import json

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
