"""Seedbed's own MCP server for a run of the built-in agent: report_progress, the board,
create_task and ask_user, as for every agent CLI.

The built-in agent runs in the engine, so it reaches the run's server at its socket
directly (RunRequest.mcp_servers: the launch with `socket`), with the SDK's client, not
through the shim a CLI starts. Its tools are known without asking (talkback/tools.py,
the list the server serves), so they are offered from the first turn while the SDK (a
second and ~30 MiB to load) is loaded, and the session opened, only when the model first
calls one: most runs never do.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from seedbed.agents.builtin.mcp_names import tool_name
from seedbed.agents.builtin.types import ToolSpec
from seedbed.domain.mcp_servers import McpLaunch
from seedbed.talkback.tools import offered_tools

if TYPE_CHECKING:
    from seedbed.agents.builtin.mcp_tools import McpTools

MCP_TOOLS_MODULE = "seedbed.agents.builtin.mcp_tools"


class SeedbedTools:
    """The tools of Seedbed's server for one run: `specs` at once, `call()` connects at
    the first call (on the run's task, which also calls `aclose()` at its end)."""

    def __init__(self, launch: McpLaunch, worktree: Path, taken: set[str]) -> None:
        self.launch = launch
        self.worktree = worktree
        self._taken = taken  # the built-in tools' names
        self._names: dict[str, str] = {}  # the model's name → the server's
        self.specs: list[ToolSpec] = []
        for tool in offered_tools(answers_prompts=False):
            name = tool_name(launch.name, tool.name, taken | set(self._names))
            self._names[name] = tool.name
            schema = tool.arguments.model_json_schema()
            self.specs.append(ToolSpec(name=name, description=tool.description, parameters=schema))
        self._session: McpTools | None = None

    def owns(self, name: str) -> bool:
        return name in self._names

    async def call(self, name: str, arguments: str) -> tuple[str, bool]:
        """Run the tool `name` with the model's JSON arguments: its text and whether it
        is an error (the server unreachable is one too; the next call tries again)."""
        if self._session is None:
            module = await asyncio.to_thread(importlib.import_module, MCP_TOOLS_MODULE)
            session = module.McpTools([self.launch], self.worktree, {})
            notes = await session.open(taken=self._taken)
            if not session.tools:
                await session.aclose()
                return f"Seedbed could not be reached: {'; '.join(notes)}", True
            self._session = session
        if not self._session.owns(name):  # the server lists other tools than ours
            return f"Seedbed's MCP server has no tool {self._names[name]!r}", True
        return await self._session.call(name, arguments)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.aclose()
            self._session = None
