"""What a run's agent asks its user and waits for: a question (ask_user) or a permission
(request_permission), answered from the window or the command line, or ended unanswered
(the wait's bound, a stop, the run's end)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from seedbed.domain.models import Model


class QuestionKind(StrEnum):
    QUESTION = "question"  # ask_user: a free answer, or one of its options
    PERMISSION = "permission"  # request_permission: one of its options


class QuestionStatus(StrEnum):
    WAITING = "waiting"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"  # ended without an answer: the bound, a stop, the run's end


class Answerer(StrEnum):
    WINDOW = "window"
    CLI = "cli"


class Question(Model):
    """One question of a run to its user, as stored."""

    id: int = 0
    task_id: int
    run_id: int
    kind: QuestionKind = QuestionKind.QUESTION
    text: str = Field(min_length=1)
    options: list[str] = Field(default_factory=list)
    status: QuestionStatus = QuestionStatus.WAITING
    answer: str = ""
    answered_by: Answerer | None = None
    reason: str = ""  # why it ended unanswered
    asked_at: float = 0.0
    ended_at: float | None = None
