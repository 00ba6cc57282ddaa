"""The Store's queries on questions: what a run's agent asks its user (domain/questions.py).

The engine asks and ends questions; any process answers one (the window, `seedbed task
answer`), and the engine's waiting tool call reads the answer from here."""

from __future__ import annotations

import json
import sqlite3
import time

from seedbed.domain.errors import UserError
from seedbed.domain.questions import Answerer, Question, QuestionStatus
from seedbed.store.connection import Database


def question_from_row(row: sqlite3.Row) -> Question:
    data = dict(row)
    data["options"] = json.loads(data["options"])
    return Question.model_validate(data)


class QuestionQueries(Database):
    def add_question(self, question: Question) -> Question:
        asked = question.model_copy(update={"asked_at": time.time()})
        values = asked.model_dump(mode="json", exclude={"id"})
        values["options"] = json.dumps(values["options"])
        names, marks = ", ".join(values), ", ".join("?" for _ in values)
        with self.transaction() as conn:
            cur = conn.execute(
                f"INSERT INTO questions ({names}) VALUES ({marks})", list(values.values())
            )
        return asked.model_copy(update={"id": cur.lastrowid})

    def get_question(self, question_id: int) -> Question:
        row = self.conn.execute("SELECT * FROM questions WHERE id = ?", (question_id,)).fetchone()
        if row is None:
            raise UserError(f"no question with id {question_id}")
        return question_from_row(row)

    def waiting_question(self, task_id: int) -> Question | None:
        """The question of the task that waits for its user, if one does."""
        row = self.conn.execute(
            "SELECT * FROM questions WHERE task_id = ? AND status = ? ORDER BY id LIMIT 1",
            (task_id, QuestionStatus.WAITING.value),
        ).fetchone()
        return question_from_row(row) if row is not None else None

    def answer_question(self, question_id: int, answer: str, by: Answerer) -> Question:
        """Record the answer of a question that still waits (one answer wins)."""
        with self.transaction() as conn:
            done = conn.execute(
                "UPDATE questions SET status = ?, answer = ?, answered_by = ?, ended_at = ? "
                "WHERE id = ? AND status = ?",
                (
                    QuestionStatus.ANSWERED.value,
                    answer,
                    by.value,
                    time.time(),
                    question_id,
                    QuestionStatus.WAITING.value,
                ),
            ).rowcount
        if not done:
            raise UserError(f"question {question_id} no longer waits for an answer")
        return self.get_question(question_id)

    def end_question(self, question_id: int, reason: str) -> bool:
        """End a question that still waits, unanswered, saying why; False when it no
        longer waited (answered at the last moment: the answer wins)."""
        with self.transaction() as conn:
            done = conn.execute(
                "UPDATE questions SET status = ?, reason = ?, ended_at = ? "
                "WHERE id = ? AND status = ?",
                (
                    QuestionStatus.UNANSWERED.value,
                    reason,
                    time.time(),
                    question_id,
                    QuestionStatus.WAITING.value,
                ),
            ).rowcount
        return bool(done)

    def end_questions(self, task_id: int, reason: str) -> list[Question]:
        """End the task's waiting questions unanswered, saying why; those it ended."""
        with self.transaction() as conn:
            rows = conn.execute(
                "UPDATE questions SET status = ?, reason = ?, ended_at = ? "
                "WHERE task_id = ? AND status = ? RETURNING *",
                (
                    QuestionStatus.UNANSWERED.value,
                    reason,
                    time.time(),
                    task_id,
                    QuestionStatus.WAITING.value,
                ),
            ).fetchall()
        return [question_from_row(row) for row in rows]
