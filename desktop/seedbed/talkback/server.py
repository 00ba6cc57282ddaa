"""Seedbed's MCP server for one run, served by the engine on a Unix socket.

Every connection to the run's socket (the agent CLI's stdio shim, one per session it
starts) is one MCP session, served with the official SDK's low-level server over the
connection's lines (MCP's stdio framing: one JSON-RPC message per line). The tools are
tools.py's, each calling the run's desk.

Importing the SDK takes over a second (it builds its protocol models at import): the
engine imports this module off its loop, when its first run starts
(engine/talkback_host.py), and a window never does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Any, cast

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from pydantic import ValidationError

import seedbed
from seedbed.talkback.lines import LineReader, LineWriter
from seedbed.talkback.tools import MAX_MESSAGE, TOOLS, RunDesk, TalkTool, ToolRefused

log = logging.getLogger(__name__)

MAX_SESSIONS = 8  # connections at once (a CLI opens one per session it starts)
INSTRUCTIONS = (
    "Seedbed runs you on a task of a kanban board, often with nobody watching. These "
    "tools reach Seedbed and its user: report progress, see the board, add tasks, ask."
)


GONE = (ConnectionError, anyio.BrokenResourceError, anyio.ClosedResourceError)


def _went_away(error: BaseException) -> bool:
    """Whether `error` says only that the agent went away (its task group's too: the
    SDK's reader and writer fail together when the connection is reset)."""
    if isinstance(error, BaseExceptionGroup):
        return all(_went_away(inner) for inner in error.exceptions)
    return isinstance(error, GONE)


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def _problem(error: ValidationError) -> str:
    said = []
    for item in error.errors()[:3]:  # the first few: an agent may send thousands
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        said.append(f"{where}: {item['msg']}")
    return "invalid arguments: " + "; ".join(said)


class TalkbackServer:
    """Seedbed's MCP server for one run: `start(path)` listens on a Unix socket (mode
    0600), `close()` ends it and every session. Tool calls go to `desk`."""

    def __init__(self, desk: RunDesk, tools: tuple[TalkTool, ...] = TOOLS) -> None:
        self._desk = desk
        self._tools = {tool.name: tool for tool in tools}
        self._server: asyncio.AbstractServer | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._lowlevel: Server[Any] = Server(
            "seedbed",
            version=seedbed.__version__,
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )

    async def start(self, path: Path) -> None:
        """Listen at `path`, in a directory only the user may enter (the run's, 0700:
        the umask is the process's, never changed here while other runs start)."""
        with contextlib.suppress(FileNotFoundError):
            if path.is_socket():
                path.unlink()
        self._server = await asyncio.start_unix_server(
            self._connected, path=str(path), limit=MAX_MESSAGE
        )
        os.chmod(path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection (another listener's: engine/talkback_host.py listens
        before the SDK is loaded)."""
        await self._connected(reader, writer)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = asyncio.current_task()
        assert session is not None
        if len(self._sessions) >= MAX_SESSIONS:  # a flood of connections: no more
            writer.close()
            return
        self._sessions.add(session)
        try:
            stdin = cast(anyio.AsyncFile[str], LineReader(reader))
            stdout = cast(anyio.AsyncFile[str], LineWriter(writer))
            async with stdio_server(stdin=stdin, stdout=stdout) as (incoming, outgoing):
                options = self._lowlevel.create_initialization_options()
                await self._lowlevel.run(incoming, outgoing, options)
        except (ConnectionError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the agent went away
        except asyncio.CancelledError:
            pass  # the server closed: this session ends with it, quietly
        except Exception as error:
            if not _went_away(error):
                log.exception("Seedbed's MCP server: a session failed")
        finally:
            self._sessions.discard(session)
            writer.close()

    async def _list_tools(
        self, context: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=tool.name,
                    description=tool.description,
                    input_schema=tool.arguments.model_json_schema(),
                )
                for tool in self._tools.values()
            ]
        )

    async def _call_tool(
        self, context: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = self._tools.get(params.name)
        if tool is None:
            return _error(f"no tool named {params.name!r}")
        try:
            given = tool.arguments.model_validate(params.arguments or {})
        except ValidationError as error:
            return _error(_problem(error))
        try:
            said = await tool.call(self._desk, given)
        except ToolRefused as refused:
            return _error(str(refused))
        return types.CallToolResult(content=[types.TextContent(text=said)])
