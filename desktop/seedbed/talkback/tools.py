"""Seedbed's MCP tools: their arguments (pydantic models: the schemas the agent sees)
and what each asks of the run's desk (`RunDesk`, which the engine implements for one
run). Free of the MCP SDK, which is slow to import (server.py serves these with it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, JsonValue

MAX_PROGRESS = 300  # characters of a progress line (one line on a card)
MAX_MESSAGE = 1024 * 1024  # bytes of one JSON-RPC message (one line) on the run's socket
PROMPT_TOOL = "request_permission"  # answers an agent CLI's prompts, never its model
MAX_QUESTION = 2000  # characters of a question to the user
MAX_OPTIONS = 8  # answers a question may offer as buttons


class ToolRefused(Exception):
    """What a tool says to the agent when it cannot do what was asked (an error result
    the model reads, not a protocol error)."""


class RunDesk(Protocol):
    """What Seedbed's tools do for one run: the engine's side, scoped to its task."""

    async def report_progress(self, text: str) -> str: ...

    async def list_tasks(self) -> str: ...

    async def task_status(self, task_id: int) -> str: ...

    async def create_task(self, title: str, prompt: str, after: list[int]) -> str: ...

    async def request_permission(self, tool_name: str, tool_input: dict[str, JsonValue]) -> str: ...
    async def ask_user(self, question: str, options: list[str]) -> str: ...


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportProgress(_Arguments):
    text: str = Field(
        min_length=1,
        max_length=MAX_PROGRESS,
        description="One short line on where the work stands, e.g. 'tests pass; writing docs'.",
    )


class NoArguments(_Arguments):
    pass


class TaskStatus(_Arguments):
    task_id: int = Field(ge=1, description="The task's number (#N on the board).")


class CreateTask(_Arguments):
    title: str = Field(min_length=1, max_length=200, description="The card's title.")
    prompt: str = Field(
        "", max_length=100_000, description="What the task's agent is to do, in full."
    )
    after: list[int] = Field(
        default_factory=list,
        description="Task numbers this one waits for (it starts once they are merged).",
    )


class RequestPermission(_Arguments):
    """What Claude Code's `--permission-prompt-tool` sends (checked with 2.1.332):
    `{"tool_name": "Bash", "input": {"command": …}, "tool_use_id": "toolu_…"}`; what it
    may add later is ignored, not refused."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    tool_name: str = Field(min_length=1, max_length=500, description="The tool to be called.")
    input: dict[str, JsonValue] = Field(
        default_factory=dict, description="The arguments it is to be called with."
    )
    tool_use_id: str = Field("", max_length=500, description="The call's id.")


class PromptAllow(BaseModel):
    """The prompt tool's "yes": the call goes ahead with `updatedInput` (its own input)."""

    behavior: str = "allow"
    updatedInput: dict[str, JsonValue]  # Claude Code's name for it


class PromptDeny(BaseModel):
    """The prompt tool's "no": `message` becomes the call's (error) result the model reads."""

    behavior: str = "deny"
    message: str


def prompt_answer(allowed: bool, tool_input: dict[str, JsonValue], message: str) -> str:
    """The prompt tool's answer, as the one text block Claude Code expects."""
    if allowed:
        return PromptAllow(updatedInput=tool_input).model_dump_json()
    return PromptDeny(message=message).model_dump_json()


class AskUser(_Arguments):
    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION,
        description="The question, complete on its own: the user may read it hours later.",
    )
    options: list[str] = Field(
        default_factory=list,
        max_length=MAX_OPTIONS,
        description="Answers to offer as buttons, if the choice is between a few "
        "(the user may still write another).",
    )


class TalkTool(BaseModel):
    """One tool of Seedbed's server."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    description: str
    arguments: type[_Arguments]
    call: Callable[[RunDesk, BaseModel], Awaitable[str]]


async def _report_progress(desk: RunDesk, given: BaseModel) -> str:
    assert isinstance(given, ReportProgress)
    return await desk.report_progress(given.text)


async def _list_tasks(desk: RunDesk, given: BaseModel) -> str:
    return await desk.list_tasks()


async def _task_status(desk: RunDesk, given: BaseModel) -> str:
    assert isinstance(given, TaskStatus)
    return await desk.task_status(given.task_id)


async def _create_task(desk: RunDesk, given: BaseModel) -> str:
    assert isinstance(given, CreateTask)
    return await desk.create_task(given.title, given.prompt, list(given.after))


async def _request_permission(desk: RunDesk, given: BaseModel) -> str:
    assert isinstance(given, RequestPermission)
    return await desk.request_permission(given.tool_name, dict(given.input))


async def _ask_user(desk: RunDesk, given: BaseModel) -> str:
    assert isinstance(given, AskUser)
    return await desk.ask_user(given.question, list(given.options))


TOOLS: tuple[TalkTool, ...] = (
    TalkTool(
        name="report_progress",
        description="Show the user one line on where your work stands (on your task's card "
        "while you run). Use it at milestones, not for every step.",
        arguments=ReportProgress,
        call=_report_progress,
    ),
    TalkTool(
        name="list_tasks",
        description="The tasks on this project's board: number, column, title.",
        arguments=NoArguments,
        call=_list_tasks,
    ),
    TalkTool(
        name="task_status",
        description="One task's column, phase, title and branch, by its number.",
        arguments=TaskStatus,
        call=_task_status,
    ),
    TalkTool(
        name="create_task",
        description="Add a task to this project's board, in Planned (it waits for the user "
        "unless the project lets agents start tasks). Use it when the work should be "
        "split, or you found something out of your task's scope. `after`: task numbers it "
        "waits for.",
        arguments=CreateTask,
        call=_create_task,
    ),
    TalkTool(
        name=PROMPT_TOOL,
        description="Claude Code's permission prompt (--permission-prompt-tool): may this "
        'tool be called with this input? Answers {"behavior": "allow", "updatedInput": …} '
        'or {"behavior": "deny", "message": …}. Not for the model to call.',
        arguments=RequestPermission,
        call=_request_permission,
    ),
    TalkTool(
        name="ask_user",
        description="Ask the user a question and wait for the answer (the result), when "
        "you need a decision you should not guess. The user may be away: ask only what "
        "matters, once, with everything needed to answer. Unanswered for long, the result "
        "says so: then decide yourself and say what you decided.",
        arguments=AskUser,
        call=_ask_user,
    ),
)


# Gemini CLI 0.61 in headless mode drops every tool named `ask_user` (its own
# interactive one's name), MCP servers' included: for it, Seedbed's goes by this one.
ASK_USER_FOR_GEMINI = "ask_the_user"


def offered_tools(
    answers_prompts: bool, renamed: dict[str, str] | None = None
) -> tuple[TalkTool, ...]:
    """The tools a run's server lists: request_permission only for an agent that sends its
    permission prompts there (Claude Code keeps that tool from its model; another
    agent's model would see a tool it must not call); `renamed`: tools an agent knows by
    another name (Gemini's `ask_user`)."""
    names = renamed or {}
    return tuple(
        tool.model_copy(update={"name": names.get(tool.name, tool.name)})
        for tool in TOOLS
        if answers_prompts or tool.name != PROMPT_TOOL
    )
