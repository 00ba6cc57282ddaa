"""The Store's board queries: cards (tasks with their runs summed up) and their versions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from seedbed.domain.models import Card, CheckStatus, TaskState
from seedbed.store.connection import Database
from seedbed.store.rows import TASK_COLUMNS, task_from_row

# The first N tasks of each state in the order its column shows them (the board's
# `board_key`, ui/board/board_model.py): the queue's order; the oldest awaiting review
# first; the newest merge first.
FIRST_OF_EACH_STATE = (
    "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY project_id, state ORDER BY"
    " CASE state WHEN 'awaiting_review' THEN updated_at WHEN 'merged' THEN -updated_at"
    " ELSE position END, CASE state WHEN 'merged' THEN -id ELSE id END) AS place"
    " FROM tasks WHERE state != 'discarded') WHERE place <= ?"
)


class BoardQueries(Database):
    """What a board shows, each read in one query."""

    def cards(
        self,
        project_id: int | None = None,
        task_ids: Iterable[int] | None = None,
        first: int | None = None,
    ) -> list[Card]:
        """Tasks with their runs summed up, in board order, in one query; with `first`,
        only the first `first` of each state in its column's order."""
        where: list[str] = ["t.state != 'discarded'"]
        args: list[Any] = []
        if first is not None:
            where.append(f"t.id IN ({FIRST_OF_EACH_STATE})")
            args.append(first)
        if project_id is not None:
            where.append("t.project_id = ?")
            args.append(project_id)
        if task_ids is not None:
            ids = list(task_ids)
            where.append(f"t.id IN ({', '.join('?' for _ in ids)})")
            args.extend(ids)
        sql = (
            "SELECT t.*, p.name AS profile_name,"
            " COALESCE(json_extract(p.config, '$.sandbox'), 0) AS p_sandbox,"
            " (SELECT COUNT(*) FROM runs r WHERE r.task_id = t.id) AS run_count,"
            " (SELECT COALESCE(SUM(tokens_in), 0) FROM runs r WHERE r.task_id = t.id) AS s_in,"
            " (SELECT COALESCE(SUM(tokens_out), 0) FROM runs r WHERE r.task_id = t.id) AS s_out,"
            " (SELECT COALESCE(SUM(cost_usd), 0) FROM runs r WHERE r.task_id = t.id) AS s_cost,"
            " l.id AS l_id, l.context_fill AS l_fill, l.check_status AS l_check,"
            " (SELECT COALESCE(SUM(r.ended_at - r.started_at), 0) FROM runs r"
            "  WHERE r.task_id = t.id AND r.id != l.id AND r.ended_at IS NOT NULL"
            "  AND r.started_at IS NOT NULL) AS s_seconds,"
            " l.status AS l_status, l.reason AS l_reason, l.progress AS l_progress,"
            " l.started_at AS l_start, l.ended_at AS l_end, l.check_base AS l_check_base,"
            " j.diff_budget AS j_budget,"
            " (SELECT q.text FROM questions q WHERE q.task_id = t.id AND q.status = 'waiting'"
            "  ORDER BY q.id LIMIT 1) AS q_text"
            " FROM tasks t LEFT JOIN profiles p ON p.id = t.profile_id"
            " LEFT JOIN projects j ON j.id = t.project_id"
            # A merge run that checked nothing (none configured, skipped) says nothing
            # of the checks: the card keeps the run before it.
            " LEFT JOIN runs l ON l.id = (SELECT MAX(id) FROM runs r WHERE r.task_id = t.id"
            " AND NOT (r.kind = 'merge' AND r.check_status = 'none'))"
            f" WHERE {' AND '.join(where)} ORDER BY t.position, t.id"
        )
        # Plain tuples, named once: a sqlite3.Row made into a dict costs more than the
        # query itself for a thousand cards.
        cursor = self.conn.cursor()
        cursor.row_factory = None
        rows = cursor.execute(sql, args).fetchall()
        names = [column[0] for column in cursor.description]
        cards = []
        for row in rows:
            data = dict(zip(names, row, strict=True))
            cards.append(
                Card(
                    task=task_from_row({c: data[c] for c in TASK_COLUMNS}),
                    profile_name=data["profile_name"] or "",
                    sandboxed=bool(data["p_sandbox"]),
                    runs=data["run_count"],
                    tokens_in=data["s_in"],
                    tokens_out=data["s_out"],
                    cost_usd=data["s_cost"],
                    context_fill=data["l_fill"] or 0.0,
                    check_status=data["l_check"] or CheckStatus.NONE,
                    run_started_at=data["l_start"],
                    run_ended_at=data["l_end"],
                    last_run_id=data["l_id"],
                    check_base=data["l_check_base"] or "",
                    run_status=data["l_status"],
                    run_reason=data["l_reason"] or "",
                    progress=data["l_progress"] or "",
                    question=data["q_text"] or "",
                    earlier_runs_s=data["s_seconds"],
                    diff_budget=data["j_budget"] or 0,
                )
            )
        self._fill_waiting(cards)
        return cards

    def _fill_waiting(self, cards: list[Card]) -> None:
        """Each card's dependencies that are not merged yet (one query for them all)."""
        wanted = {n for card in cards for n in card.task.after}
        if not wanted:
            return
        marks = ", ".join("?" for _ in wanted)
        rows = self.conn.execute(
            f"SELECT id, state FROM tasks WHERE id IN ({marks})", list(wanted)
        ).fetchall()
        merged = {r[0] for r in rows if r[1] == TaskState.MERGED.value}
        gone = {r[0] for r in rows if r[1] == TaskState.DISCARDED.value}
        for card in cards:
            card.waiting_for = [n for n in card.task.after if n not in merged]
            card.waiting_gone = [n for n in card.waiting_for if n in gone]

    def task_versions(self) -> dict[int, tuple[float, int, float, int]]:
        """Per task: (updated_at, position, tokens so far, runs): what tells a board that
        a card changed (a reorder changes positions only)."""
        rows = self.conn.execute(
            "SELECT t.id, t.updated_at, t.position,"
            " (SELECT COALESCE(SUM(tokens_in + tokens_out), 0) + COALESCE(SUM(context_fill), 0)"
            "  FROM runs r WHERE r.task_id = t.id),"
            " (SELECT COUNT(*) FROM runs r WHERE r.task_id = t.id)"
            " FROM tasks t"
        ).fetchall()
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    def project_signature(self) -> tuple[tuple[int, str], ...]:
        """The projects' ids and names: what tells a window its project list changed."""
        rows = self.conn.execute("SELECT id, name FROM projects ORDER BY id").fetchall()
        return tuple((r[0], r[1]) for r in rows)
