"""The Store's queries on a run's event log: appending, paging, counting and searching."""

from __future__ import annotations

import json
from collections.abc import Iterable

from seedbed.store.connection import Database


class EventQueries(Database):
    """Each run's events, and the numbered log rows a log view shows."""

    def append_events(
        self, run_id: int, first_seq: int, rows: list[tuple[float, str, str, bool]]
    ) -> None:
        """Append (ts, kind, json, shown) rows numbered from first_seq, in one transaction.

        Shown events also get a log row number (0, 1, … per run): the window's log is a
        list over those, so row N is one indexed lookup however long the run. Streamed
        text pieces are not shown (the whole answer follows them) and get no row.
        """
        with self.transaction() as conn:
            next_row = conn.execute(
                "SELECT COALESCE(MAX(row), -1) + 1 FROM events"
                " WHERE run_id = ? AND row IS NOT NULL",
                (run_id,),
            ).fetchone()[0]
            values = []
            for i, (ts, kind, data, shown) in enumerate(rows):
                row = None
                if shown:
                    row, next_row = next_row, next_row + 1
                values.append((run_id, first_seq + i, ts, kind, data, row))
            conn.executemany(
                "INSERT INTO events (run_id, seq, ts, kind, data, row) VALUES (?, ?, ?, ?, ?, ?)",
                values,
            )

    def read_events(
        self, run_id: int, after_seq: int = -1, limit: int = 10_000
    ) -> list[tuple[int, str]]:
        """(seq, json) pairs after after_seq, oldest first."""
        rows = self.conn.execute(
            "SELECT seq, data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after_seq, limit),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def count_events(self, run_id: int) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM events WHERE run_id = ?", (run_id,))
        return int(row.fetchone()[0])

    def count_log_rows(self, run_id: int) -> int:
        """How many events a log view shows for the run (an index lookup, not a scan)."""
        row = self.conn.execute(
            "SELECT MAX(row) FROM events WHERE run_id = ? AND row IS NOT NULL", (run_id,)
        ).fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def read_log_rows(self, run_id: int, first_row: int, limit: int) -> list[tuple[int, int, str]]:
        """(row, seq, json) of the shown events from first_row on."""
        rows = self.conn.execute(
            "SELECT row, seq, data FROM events WHERE run_id = ? AND row >= ? AND row IS NOT NULL"
            " ORDER BY row LIMIT ?",
            (run_id, first_row, limit),
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def tool_results_after(self, run_id: int, row: int, window: int) -> list[str]:
        """The tool_result events among the `window` log rows after `row` (a tool call's
        result is near it): only those rows' JSON is read, not every row's."""
        rows = self.conn.execute(
            "SELECT data FROM events WHERE run_id = ? AND row > ? AND row <= ?"
            " AND row IS NOT NULL AND kind = 'tool_result' ORDER BY row LIMIT 64",
            (run_id, row, row + window),
        ).fetchall()
        return [r[0] for r in rows]

    def read_pending_text(self, run_id: int, limit: int = 4000) -> str:
        """The streamed text after the run's last shown event: an answer being written."""
        rows = self.conn.execute(
            "SELECT data FROM events WHERE run_id = ? AND row IS NULL AND seq > COALESCE("
            " (SELECT seq FROM events WHERE run_id = ? AND row IS NOT NULL"
            "  ORDER BY row DESC LIMIT 1), -1) ORDER BY seq LIMIT ?",
            (run_id, run_id, limit),
        ).fetchall()
        return "".join(json.loads(r[0]).get("text", "") for r in rows)

    def search_log_rows(
        self, run_id: int, needle: str, after_row: int, limit: int = 200, backward: bool = False
    ) -> list[tuple[int, str]]:
        """(row, json) of shown events whose JSON holds needle (ASCII case-insensitive),
        after after_row, or before it, nearest first, when backward.

        The needle is matched as it is written inside a JSON string (quotes and
        backslashes escaped), so a search for `say "hi"` finds it. Keys match too: the
        caller checks each candidate's text."""
        escaped = json.dumps(needle, ensure_ascii=False)[1:-1]
        order, compare = ("DESC", "<") if backward else ("ASC", ">")
        rows = self.conn.execute(
            f"SELECT row, data FROM events WHERE run_id = ? AND row IS NOT NULL AND row {compare} ?"
            f" AND instr(lower(data), lower(?)) > 0 ORDER BY row {order} LIMIT ?",
            (run_id, after_row, escaped, limit),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def last_events(self, run_ids: Iterable[int]) -> dict[int, int]:
        """The newest event's seq of each run that has any."""
        ids = list(run_ids)
        if not ids:
            return {}
        rows = self.conn.execute(
            f"SELECT run_id, MAX(seq) FROM events WHERE run_id IN ({', '.join('?' for _ in ids)})"
            " GROUP BY run_id",
            ids,
        ).fetchall()
        return {r[0]: r[1] for r in rows}
