"""The Store's queries on review comments: the notes a developer leaves on a task's diff.

A comment is history once it has been sent to the agent: the store records when
(`sent_at`) and the engine refuses to change it afterwards. The store itself only
saves what it is given; the rules live in `core/comments.py`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from seedbed.domain.diffs import Comment
from seedbed.domain.errors import UserError
from seedbed.store.connection import Database

COMMENT_COLUMNS = [
    "id",
    "task_id",
    "path",
    "line",
    "end_line",
    "quote",
    "body",
    "author",
    "sent",
    "resolved",
    "created_at",
]
# `sent_at` and `updated_at` are saved too, as bookkeeping outside the model.


def comment_from_row(row: sqlite3.Row) -> Comment:
    data = {column: row[column] for column in COMMENT_COLUMNS}
    data["sent"] = bool(data["sent"])
    data["resolved"] = bool(data["resolved"])
    return Comment.model_validate(data)


def _comment_values(comment: Comment) -> dict[str, Any]:
    data = comment.model_dump(mode="json")
    data["sent"] = int(data["sent"])
    data["resolved"] = int(data["resolved"])
    return {column: data[column] for column in COMMENT_COLUMNS}


def _comment_or_error(conn: sqlite3.Connection, comment_id: int, unsent: bool) -> Comment:
    row = conn.execute("SELECT * FROM comments WHERE id = ?", (comment_id,)).fetchone()
    if row is None:
        raise UserError(f"no comment with id {comment_id}")
    comment = comment_from_row(row)
    if unsent and comment.sent:
        raise UserError(
            f"comment {comment_id} was sent to the agent with a request for changes: "
            "it is kept as it was sent"
        )
    return comment


class CommentQueries(Database):
    """Review comments, per task, in the order a reviewer reads a diff."""

    def add_comment(self, comment: Comment) -> Comment:
        now = time.time()
        comment = comment.model_copy(update={"created_at": now})
        values = _comment_values(comment)
        del values["id"]
        values["updated_at"] = now
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self.transaction() as conn:
            cur = conn.execute(
                f"INSERT INTO comments ({names}) VALUES ({marks})", list(values.values())
            )
        return comment.model_copy(update={"id": cur.lastrowid})

    def get_comment(self, comment_id: int) -> Comment:
        row = self.conn.execute("SELECT * FROM comments WHERE id = ?", (comment_id,)).fetchone()
        if row is None:
            raise UserError(f"no comment with id {comment_id}")
        return comment_from_row(row)

    def update_comment(self, comment_id: int, *, unsent: bool = False, **fields: Any) -> Comment:
        """Change some fields of a comment (validated through the model); with `unsent`,
        only while it has not been sent, checked in the same transaction as the write."""
        if {"id", "task_id", "created_at"} & fields.keys():
            raise ValueError("a comment's id, task and creation time never change")
        with self.transaction() as conn:
            old = _comment_or_error(conn, comment_id, unsent)
            comment = Comment.model_validate({**old.model_dump(), **fields})
            values = _comment_values(comment)
            columns = sorted(fields)
            sets = ", ".join(f"{c} = ?" for c in [*columns, "updated_at"])
            conn.execute(
                f"UPDATE comments SET {sets} WHERE id = ?",
                [values[c] for c in columns] + [time.time(), comment_id],
            )
        return comment

    def delete_comment(self, comment_id: int, *, unsent: bool = False) -> None:
        """Remove a comment; with `unsent`, only one that has not been sent."""
        with self.transaction() as conn:
            _comment_or_error(conn, comment_id, unsent)
            conn.execute("DELETE FROM comments WHERE id = ?", (comment_id,))

    def list_comments(self, task_id: int, unsent_only: bool = False) -> list[Comment]:
        """A task's comments by file, then line (whole-file ones first), then age."""
        sql = "SELECT * FROM comments WHERE task_id = ?"
        if unsent_only:
            sql += " AND sent = 0"
        sql += " ORDER BY path, line, end_line, id"
        return [comment_from_row(row) for row in self.conn.execute(sql, (task_id,)).fetchall()]

    def mark_comments_sent(self, ids: Iterable[int], at: float) -> None:
        """Record that these comments went to the agent at `at` (a time.time())."""
        id_list = list(ids)
        if not id_list:
            return
        marks = ", ".join("?" for _ in id_list)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE comments SET sent = 1, sent_at = ?, updated_at = ? WHERE id IN ({marks})",
                [at, at, *id_list],
            )
