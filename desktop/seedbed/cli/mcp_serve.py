"""`seedbed mcp serve`: Seedbed's board as an MCP server on stdio, for the user's own
assistant (a desktop chat app, another agent) to drive: list the board, add and start
tasks, read a task's status, comment on a task, and approve one when the settings allow
it (`mcp_may_approve`, off by default: merging is the human's call unless they say so).

Every tool calls the same verbs as the command line, through the engine of the data dir
(started in the background if none runs: a task started here needs it to run). Loaded
only for this command: the MCP SDK takes a second to import.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import seedbed
from seedbed.cli.gateway import Gateway
from seedbed.core.app_settings import read_settings
from seedbed.core.comments import add_comment
from seedbed.core.merging import approve
from seedbed.core.reads import list_projects, list_tasks
from seedbed.core.task_detail import task_detail
from seedbed.core.tasks import TaskDraft, create_task, start_task
from seedbed.domain.errors import SeedbedError
from seedbed.domain.lifecycle import LABELS
from seedbed.domain.models import MergeStrategy, TaskState
from seedbed.service.launch import find_engine

INSTRUCTIONS = (
    "Seedbed runs coding agents on a kanban board of tasks (Planned, Running, Awaiting "
    "review, Merged), each in its own git worktree. These tools read the board and add, "
    "start, comment on and (when the user allows it) approve tasks."
)


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListTasks(_Arguments):
    project: str = Field("", description="A project's name (empty: every project).")
    state: str = Field(
        "", description="planned, running, awaiting_review or merged (empty: all but discarded)."
    )


class TaskId(_Arguments):
    task_id: int = Field(ge=1, description="The task's number (#N).")


class CreateTask(_Arguments):
    project: str = Field(min_length=1, description="The project's name.")
    title: str = Field(min_length=1, max_length=200)
    prompt: str = Field("", description="What its agent is to do, in full.")
    after: list[int] = Field(default_factory=list, description="Tasks it waits for.")
    start: bool = Field(False, description="Queue it to run now (else it waits in Planned).")


class Comment(_Arguments):
    task_id: int = Field(ge=1)
    text: str = Field(min_length=1, max_length=20_000)
    path: str = Field("", description="A file of its diff the comment is on (empty: none).")
    line: int | None = Field(None, ge=1, description="A line of that file.")


class NoArguments(_Arguments):
    pass


class BoardTools:
    """The tools, each a blocking call of the verbs (run on a worker thread, one at a
    time: the gateway's connection is one)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._lock = threading.Lock()
        self.tools: dict[str, tuple[str, type[_Arguments], Callable[[Any], str]]] = {
            "list_projects": ("The projects Seedbed knows.", NoArguments, self.list_projects),
            "list_tasks": ("The tasks on the board.", ListTasks, self.list_tasks),
            "task_status": ("One task in full: column, runs, checks.", TaskId, self.status),
            "create_task": ("Add a task (Planned; start: queue it).", CreateTask, self.create),
            "start_task": ("Queue a planned task to run.", TaskId, self.start),
            "comment": (
                "Comment on a task (sent to its agent with the next follow-up).",
                Comment,
                self.comment,
            ),
            "approve": (
                "Approve a task awaiting review: merge it (when the user allows it).",
                TaskId,
                self.approve,
            ),
        }

    def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        tool = self.tools.get(name)
        if tool is None:
            return _error(f"no tool named {name!r}")
        _, model, run = tool
        try:
            given = model.model_validate(arguments)
        except ValidationError as error:
            return _error(f"invalid arguments: {error.errors()[0]['msg']}")
        try:
            with self._lock:
                said = run(given)
        except SeedbedError as error:
            return _error(str(error))
        return types.CallToolResult(content=[types.TextContent(text=said)])

    def list_projects(self, _: NoArguments) -> str:
        projects = self.gateway.call(list_projects)
        return "\n".join(f"{p.name}: {p.path} (base {p.base_branch})" for p in projects) or (
            "no projects"
        )

    def list_tasks(self, given: ListTasks) -> str:
        state = TaskState(given.state) if given.state else None
        tasks = self.gateway.call(list_tasks, given.project or None, state)
        shown = [t for t in tasks if t.state is not TaskState.DISCARDED]
        lines = [f"#{t.id} {LABELS[t.state]} ({t.phase.value or '-'}): {t.title}" for t in shown]
        return "\n".join(lines) or "no tasks"

    def status(self, given: TaskId) -> str:
        detail = self.gateway.call(task_detail, given.task_id)
        keys = ("id", "title", "project", "state", "phase", "branch", "error", "progress")
        lines = [f"{key}: {detail[key]}" for key in keys if detail.get(key) not in (None, "")]
        for run in detail.get("runs", []):
            lines.append(f"run {run['number']} ({run['kind']}): {run['status']} {run['reason']}")
        return "\n".join(lines)

    def create(self, given: CreateTask) -> str:
        draft = TaskDraft(
            project=given.project,
            title=given.title,
            prompt=given.prompt,
            after=given.after,
            start=given.start,
        )
        task = self.gateway.call(create_task, draft).value
        where = "queued to run" if given.start else "in Planned"
        return f"added task #{task.id} {where}"

    def start(self, given: TaskId) -> str:
        task = self.gateway.call(start_task, given.task_id).value
        return f"task #{task.id} queued to run"

    def comment(self, given: Comment) -> str:
        line = given.line if given.path else None
        self.gateway.call(add_comment, given.task_id, given.path, line, None, given.text)
        return f"comment added to task #{given.task_id}"

    def approve(self, given: TaskId) -> str:
        settings = self.gateway.call(read_settings)
        if not settings.mcp_may_approve:
            return (
                f"approving is the user's call: ask them to approve task #{given.task_id} in "
                "Seedbed (they can let assistants approve: Settings, mcp_may_approve)"
            )
        strategy = MergeStrategy(settings.merge_strategy)
        delete = settings.delete_branch_after_merge
        task = self.gateway.call(approve, given.task_id, strategy, "", delete).value
        return f"task #{task.id} merged into {task.base_branch}"


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def server(tools: BoardTools) -> Server[Any]:
    async def list_tools(
        context: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(name=name, description=text, input_schema=model.model_json_schema())
                for name, (text, model, _) in tools.tools.items()
            ]
        )

    async def call_tool(
        context: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        arguments = params.arguments or {}
        result: types.CallToolResult = await anyio.to_thread.run_sync(
            tools.call, params.name, arguments
        )
        return result

    return Server(
        "seedbed-board",
        version=seedbed.__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve(data_dir: Path, engine_socket: str | None = None) -> int:
    """Serve on stdin/stdout until the client leaves."""

    def note(line: str) -> None:  # never on stdout: that is the protocol's
        sys.stderr.write(f"{line}\n")

    if engine_socket is None:
        find_engine(data_dir)  # started in the background when none runs
    with Gateway(data_dir, engine_socket, note=note) as gateway:
        board = server(BoardTools(gateway))

        async def run() -> None:
            async with stdio_server() as (incoming, outgoing):
                await board.run(incoming, outgoing, board.create_initialization_options())

        anyio.run(run)
    return 0
