"""A small real MCP server for the tests, over stdio (the SDK's MCPServer): its tool
`note(text)` appends the text (and " #$NOTES_TOKEN" when that is set) to the file
$NOTES_FILE and answers "noted: TEXT"; `fail()` answers with an error; `wait(seconds)`
answers after that long. Run as
`python tests/agents/notes_server.py`, or `… --http PORT` for streamable HTTP on
127.0.0.1:PORT/mcp, where `whoami()` answers the Authorization header it was sent."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("notes")


@server.tool()
def note(text: str) -> str:
    """Append a line to the notes file."""
    with Path(os.environ["NOTES_FILE"]).open("a", encoding="utf-8") as notes:
        token = os.environ.get("NOTES_TOKEN")
        notes.write(text + (f" #{token}" if token else "") + "\n")
    return f"noted: {text}"


@server.tool()
def fail() -> str:
    """Always fails."""
    raise ToolError("the notes are closed")


@server.tool()
async def wait(seconds: float) -> str:
    """Answer after `seconds`."""
    await anyio.sleep(seconds)
    return f"waited {seconds:g} s"


@server.tool()
def whoami(ctx: Context) -> str:
    """The Authorization header of this call."""
    request = ctx.request_context.request  # the HTTP request (None over stdio)
    said = request.headers.get("authorization") if request is not None else None
    return f"you are {said or 'nobody'}"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
