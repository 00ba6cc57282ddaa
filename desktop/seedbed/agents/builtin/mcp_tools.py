"""The built-in agent as an MCP client: the tools of a run's MCP servers (RunRequest
.mcp_servers) join its own, named `SERVER__TOOL`.

Each server is reached at the run's start (a stdio server started, an HTTP one
connected) and closed at its end, all on the run's own asyncio task (the SDK's
transports are anyio task groups, which must be left by the task that entered them). A
stdio server of a sandboxed run starts in the same sandbox as its commands
(`ProcessSpec.sandbox` of run_command: bubblewrap around its argv, its program bound
in). A server that cannot be reached is said in the log and left out: the run goes on
with the others. A tool call never raises: a failure comes back as an error result the
model reads, as the built-in tools' do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO, cast

import anyio
import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.stdio import stdio_server
from pydantic import BaseModel

from seedbed.agents.builtin.mcp_names import tool_name
from seedbed.agents.builtin.types import ToolSpec
from seedbed.domain.mcp_servers import McpLaunch
from seedbed.sandbox.bwrap import bwrap_argv, sandbox_environment, sandbox_support
from seedbed.sandbox.plan import SandboxPlan
from seedbed.sandbox.programs import program_binds
from seedbed.talkback.lines import LineReader, LineWriter
from seedbed.talkback.tools import MAX_MESSAGE

CONNECT_TIMEOUT = 30.0  # seconds a server has to start and list its tools
CALL_TIMEOUT = 300.0  # seconds one tool call may take
MAX_OUTPUT = 30_000  # characters of a result the model reads back (as the built-in tools')
STDERR_TAIL = 600  # characters of a failed server's stderr that reach the log


class McpTool(BaseModel):
    """One tool of one server, as the model knows it."""

    server: str
    tool: str
    spec: ToolSpec


def result_text(result: Any) -> str:
    """An MCP tool result as the text the model reads: its text blocks, else its
    structured content as JSON, naming any other block it has."""
    parts: list[str] = []
    for block in result.content:
        text = getattr(block, "text", None)
        parts.append(text if isinstance(text, str) else f"[{block.type} content]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content))
    return "\n".join(parts)


def stdio_parameters(
    server: McpLaunch,
    worktree: Path,
    env: Mapping[str, str],
    sandbox: SandboxPlan | None,
) -> StdioServerParameters:
    """How a stdio server is started: in the worktree, with the run's environment and
    its own variables; in `sandbox` (bubblewrap around it, its program bound in) when
    the run has one (OSError when no sandbox can be made here)."""
    argv = [server.command, *server.args]
    merged = {**env, **server.env}
    if sandbox is not None:
        support = sandbox_support()
        if not support.works:
            raise OSError(f"no sandbox can be made here: {support.problem}")
        # Its program bound in; its own variables kept, tokens too: they are its own.
        binds = [*sandbox.binds, *program_binds([server.command], sandbox.hidden)]
        passed = [*sandbox.passed_env, *server.env]
        plan = sandbox.model_copy(update={"binds": binds, "passed_env": passed})
        argv = bwrap_argv(support.bwrap, plan, argv)
        merged = sandbox_environment(merged, plan)
    return StdioServerParameters(command=argv[0], args=argv[1:], env=merged, cwd=worktree)


class McpTools:
    """The MCP servers of one run of the built-in agent: `open()` at its start gives the
    tools' specs and the notes for the log, `call()` runs one, `aclose()` at its end."""

    def __init__(
        self,
        servers: list[McpLaunch],
        worktree: Path,
        env: Mapping[str, str],
        sandbox: SandboxPlan | None = None,
    ) -> None:
        self.servers = servers
        self.worktree = worktree
        self.env = dict(env)
        self.sandbox = sandbox
        self.tools: dict[str, McpTool] = {}
        self._sessions: dict[str, ClientSession] = {}
        self._direct = {server.name for server in servers if server.socket}
        self._stack = contextlib.AsyncExitStack()

    @property
    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self.tools.values()]

    def owns(self, name: str) -> bool:
        return name in self.tools

    async def open(self, taken: set[str]) -> list[str]:
        """Reach every server and list its tools (names not in `taken`, the built-in
        tools'); what to say in the log: each server's tools, or why it is left out."""
        notes = []
        for server in self.servers:
            own = contextlib.AsyncExitStack()  # this server's: closed at once if it fails
            # Its stderr, for problem(): closed by `own`, as the server runs till then.
            log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
            stderr = cast(TextIO, own.enter_context(log))
            try:
                session = await self._connect(server, stderr, own)
                listed = await session.list_tools()
            except Exception as exc:  # one server's failure leaves the others
                notes.append(f"MCP server {server.name!r} left out: {problem(exc, stderr)}")
                with contextlib.suppress(Exception):
                    await own.aclose()
                continue
            except BaseException:  # a stop while it connects: what was begun, closed here
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await own.aclose()
                raise
            self._stack.push_async_callback(own.aclose)
            self._sessions[server.name] = session
            names = []
            for tool in listed.tools:
                name = tool_name(server.name, tool.name, taken | set(self.tools))
                spec = ToolSpec(
                    name=name,
                    description=tool.description or tool.title or tool.name,
                    parameters=tool.input_schema or {"type": "object", "properties": {}},
                )
                self.tools[name] = McpTool(server=server.name, tool=tool.name, spec=spec)
                names.append(name)
            notes.append(f"MCP server {server.name!r}: {', '.join(names) or 'no tools'}")
        return notes

    async def _connect(
        self, server: McpLaunch, stderr: TextIO, stack: contextlib.AsyncExitStack
    ) -> ClientSession:
        """A session with `server`, initialized; its transport held by `stack`. Each
        request of the session's own (initialize, the tool list) has CONNECT_TIMEOUT."""
        if server.socket:
            streams = await _socket_streams(server.socket, stack)
        elif server.stdio:
            params = stdio_parameters(server, self.worktree, self.env, self.sandbox)
            streams = await stack.enter_async_context(stdio_client(params, errlog=stderr))
        else:
            client = httpx2.AsyncClient(
                headers=server.headers, timeout=httpx2.Timeout(30.0, read=CALL_TIMEOUT)
            )
            await stack.enter_async_context(client)
            streams = await stack.enter_async_context(
                streamable_http_client(server.url, http_client=client)
            )
        read, write = streams
        session = await stack.enter_async_context(
            ClientSession(read, write, read_timeout_seconds=CONNECT_TIMEOUT)
        )
        await session.initialize()
        return session

    async def call(self, name: str, arguments: str) -> tuple[str, bool]:
        """Run the tool `name` with the model's JSON arguments: its text and whether it
        is an error. Never raises but for cancellation."""
        tool = self.tools[name]
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except (json.JSONDecodeError, RecursionError):
            return "the arguments are not valid JSON", True
        if not isinstance(parsed, dict):
            return "the arguments must be a JSON object", True
        # Seedbed's own server bounds its own waits (a question: the setting's bound).
        timeout = None if tool.server in self._direct else CALL_TIMEOUT
        try:
            result = await self._sessions[tool.server].call_tool(
                tool.tool, parsed, read_timeout_seconds=timeout
            )
        except Exception as exc:
            return f"MCP server {tool.server!r} failed: {exc}", True
        text = result_text(result)
        if len(text) > MAX_OUTPUT:
            text = text[:MAX_OUTPUT] + f"\n[… {len(text) - MAX_OUTPUT} more characters cut]"
        return text, bool(result.is_error)

    async def aclose(self) -> None:
        """Close every session and stop every server this run started."""
        with contextlib.suppress(Exception):
            await self._stack.aclose()


async def _socket_streams(path: str, stack: contextlib.AsyncExitStack) -> Any:
    """The message streams of a connection to Seedbed's server at the Unix socket `path`
    (the run's, served by this engine), held by `stack`: the SDK's stdio framing over it.
    At the end the connection is closed and the transport's two tasks cancelled: its
    reader may be holding a message nobody will take (the answer to a question a stop
    ended), and its task group would wait for it forever."""
    reader, writer = await asyncio.open_unix_connection(path, limit=MAX_MESSAGE)
    stack.callback(writer.close)
    scope = stack.enter_context(anyio.CancelScope())
    lines = cast(Any, LineReader(reader)), cast(Any, LineWriter(writer))
    streams = await stack.enter_async_context(stdio_server(stdin=lines[0], stdout=lines[1]))

    def ending() -> None:
        writer.close()
        scope.cancel()

    stack.callback(ending)
    return streams


def problem(exc: BaseException, stderr: TextIO) -> str:
    """Why a server could not be reached: the error, and the end of what it printed."""
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return problem(exc.exceptions[0], stderr)
    said = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        said = f"no answer within {CONNECT_TIMEOUT:g} s"
    stderr.seek(0)
    tail = stderr.read()[-STDERR_TAIL:].strip()
    return f"{said}; it printed: {tail}" if tail else said
