"""A run's agent asks its user and waits (Qt-free): the one way Seedbed's tools ask,
whatever they ask (ask_user's question, request_permission's permission).

    reply = await ask(state, Asking(text=..., options=[...], kind=QuestionKind.QUESTION))

While the question waits, its task waits in Awaiting review (phase needs_input, so its
card joins Needs you), its agent's idle timeout is held (its CLI is silent, waiting on
the tool call), and the run keeps its slot. The answer comes through the store (any
process answers: `core/questions.answer_question`), read every POLL_S; the wait ends
with the answer, at the bound of Settings.question_wait_s, or at the run's stop; the
task is then back in Running, in the phase it had, and the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from pydantic import BaseModel, ConfigDict, Field

from seedbed.domain.events import StatusEvent
from seedbed.domain.models import Control, Phase, TaskState
from seedbed.domain.questions import Question, QuestionKind, QuestionStatus
from seedbed.engine.run_state import RunState
from seedbed.store.settings import load_settings

POLL_S = 0.2  # how often a waiting question looks for its answer (and for a stop)
STOP_GRACE_S = 30.0  # a stopped agent still alive after this gets its call refused
STOPPED = "the run was stopped while the question waited"
ENDED = "the agent stopped waiting (it ended, or its MCP call timed out)"


class Asking(BaseModel):
    """What a tool asks the user."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1)
    options: list[str] = Field(default_factory=list)
    kind: QuestionKind = QuestionKind.QUESTION


class Reply(BaseModel):
    """How a question ended: the user's answer, or why there is none."""

    model_config = ConfigDict(frozen=True)

    answered: bool
    text: str  # the answer; unanswered, the reason (said to the agent)
    question: Question


def span(seconds: float) -> str:
    """A wait as a person says it: `1 h`, `90 min`, `2 s`."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def no_answer_reason(wait_s: float) -> str:
    return f"no answer within {span(wait_s)}: decide yourself and say so"


def _asked_line(asking: Asking) -> str:
    line = f"{asking.kind.value}: {asking.text}"
    if asking.options:
        line += " [" + " / ".join(asking.options) + "]"
    return line


async def ask(state: RunState, asking: Asking, wait_s: float | None = None) -> Reply:
    """Ask the user for the run of `state` and wait for the answer (at most `wait_s`,
    by default the setting's). Questions asked together wait together: the task is back
    in Running once the last one ends."""
    assert state.run is not None
    if wait_s is None:
        wait_s = (await asyncio.to_thread(load_settings, state.data_dir)).question_wait_s
    store, task_id = state.store, state.task.id
    question = store.add_question(
        Question(
            task_id=task_id,
            run_id=state.run.id,
            kind=asking.kind,
            text=asking.text,
            options=list(asking.options),
        )
    )
    state.log(StatusEvent(phase=Phase.NEEDS_INPUT.value, message=_asked_line(asking)))
    agent = state.agent
    holding = agent.holding_idle() if agent is not None else contextlib.nullcontext()
    reply: Reply | None = None
    state.asking += 1
    try:
        if state.asking == 1:
            state.asked_from = state.task.phase
            state.task = store.move_task(
                task_id, TaskState.AWAITING_REVIEW, Phase.NEEDS_INPUT, expect=TaskState.RUNNING
            )
            state.changed()
        with holding:
            reply = await _wait(state, question, time.monotonic() + wait_s, wait_s)
    finally:
        state.asking -= 1
        # Cancelled (the run ended under it: its agent stopped) or not, it waits no more.
        reason = STOPPED if state.control is not Control.NONE else ENDED
        store.end_question(question.id, reason)
        if not state.asking and store.get_task(task_id).phase is Phase.NEEDS_INPUT:
            state.task = store.move_task(
                task_id, TaskState.RUNNING, state.asked_from, expect=TaskState.AWAITING_REVIEW
            )
            state.changed()
        if reply is None:
            state.log(StatusEvent(phase=state.task.phase.value, message=f"no answer: {reason}"))
    if reply.answered:
        by = reply.question.answered_by
        said = f"answer{f' (from the {by.value})' if by else ''}: {reply.text}"
    else:
        said = f"no answer: {reply.text}"
    state.log(StatusEvent(phase=state.task.phase.value, message=said))
    return reply


async def _wait(state: RunState, question: Question, deadline: float, wait_s: float) -> Reply:
    store = state.store
    stopped_at: float | None = None
    while True:
        seen = store.get_question(question.id)
        if seen.status is QuestionStatus.ANSWERED:
            return Reply(answered=True, text=seen.answer, question=seen)
        if state.control is not Control.NONE:
            # The stop ends the agent, and its session with it (cancelling this call): it
            # gets no result to act on meanwhile, unless it outlives STOP_GRACE_S.
            if stopped_at is None:
                stopped_at = time.monotonic()
                store.end_question(question.id, STOPPED)
            elif time.monotonic() - stopped_at >= STOP_GRACE_S:
                return Reply(answered=False, text=STOPPED, question=seen)
        elif time.monotonic() >= deadline:
            reason = no_answer_reason(wait_s)
            if store.end_question(question.id, reason):
                return Reply(answered=False, text=reason, question=store.get_question(question.id))
            continue  # answered at the last moment: the answer wins
        await asyncio.sleep(POLL_S)
