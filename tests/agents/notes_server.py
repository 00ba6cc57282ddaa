"""A small real MCP server for the tests, over stdio (the SDK's MCPServer): its tool
`note(text)` appends the text (and " #$NOTES_TOKEN" when that is set) to the file
$NOTES_FILE and answers "noted: TEXT"; `fail()` answers with an error. Run as
`python tests/agents/notes_server.py`."""

from __future__ import annotations

import os
from pathlib import Path

from mcp.server.mcpserver import MCPServer
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


if __name__ == "__main__":
    server.run()
