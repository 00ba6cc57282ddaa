"""The user's side of the questions a run's agent asks (engine/asking.py asks them): the
one waiting on a task, and its answer, from the window or `seedbed task answer`."""

from __future__ import annotations

from seedbed.core.context import Changed, Context, Done
from seedbed.domain.errors import UserError
from seedbed.domain.models import Phase
from seedbed.domain.questions import Answerer, Question
from seedbed.store.lock import engine_running

MAX_ANSWER = 100_000  # characters of an answer


def waiting_question(ctx: Context, task_id: int) -> Question | None:
    """The question the task's agent waits on, if it waits on one."""
    return ctx.store.waiting_question(task_id)


def answer_question(
    ctx: Context,
    task_id: int,
    text: str,
    by: Answerer = Answerer.CLI,
    question_id: int | None = None,
) -> Done[Question]:
    """Answer the question the task's agent waits on: the engine hands the answer to it
    (within a fraction of a second) and the run goes on. With `question_id` (the one the
    user saw), only that one: an answer meant for a question already answered never
    answers the next (an "Allow once" given twice must not allow another command)."""
    answer = text.strip()
    if not answer:
        raise UserError("the answer is empty")
    if len(answer) > MAX_ANSWER:
        raise UserError(f"the answer is longer than {MAX_ANSWER} characters")
    store = ctx.store
    task = store.get_task(task_id)
    question = store.waiting_question(task_id)
    if question is None or task.phase is not Phase.NEEDS_INPUT:
        raise UserError(f"task {task_id} waits on no question")
    if question_id is not None and question.id != question_id:
        raise UserError(
            f"task {task_id}'s question {question_id} was answered already (or ended); it "
            f"now asks: {question.text}"
        )
    if not engine_running(ctx.data_dir):  # the engine that ran it died: nobody waits
        raise UserError(
            f"no engine runs: task {task_id}'s run ended with the one that stopped "
            "(the next `seedbed run` marks it interrupted)"
        )
    answered = store.answer_question(question.id, answer, by)
    return Done(value=answered, changed=Changed.task(task_id))
