"""Seedbed's MCP server for a run, hosted by the engine for as long as its agent runs.

The server (talkback/server.py) is built on the MCP SDK, which takes over a second to
import: it is imported on a worker thread when a run first needs it, so neither the
engine's start nor its loop waits for it (a window never imports it at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from seedbed.agents.cli.claude_code import asks_seedbed
from seedbed.domain.mcp_servers import SEEDBED_SERVER, McpLaunch
from seedbed.domain.models import AgentKind, AgentProfile
from seedbed.engine.desk import EngineDesk
from seedbed.engine.run_state import RunState
from seedbed.sandbox.plan import TALKBACK_DIR_INSIDE
from seedbed.sandbox.proxy_dirs import TALKBACK_PREFIX, new_proxy_dir, serving
from seedbed.talkback.shim import FROZEN_FLAG
from seedbed.talkback.tools import ASK_USER_FOR_GEMINI, offered_tools

if TYPE_CHECKING:
    from seedbed.talkback.server import TalkbackServer

SERVER_MODULE = "seedbed.talkback.server"
SOCKET = "mcp.sock"


def shim_launch(socket: Path) -> McpLaunch:
    """Seedbed's server as an agent starts it: the shim, on `socket` (as the agent sees
    it), run by this Python (the bundle: itself)."""
    if getattr(sys, "frozen", False):
        return McpLaunch(
            name=SEEDBED_SERVER,
            command=sys.executable,
            args=[FROZEN_FLAG, str(socket)],
            env={"PYINSTALLER_RESET_ENVIRONMENT": "1"},
        )
    # -I: the worktree (the current directory) and PYTHON* variables stay out of it.
    args = ["-I", "-m", "seedbed.talkback.shim", str(socket)]
    return McpLaunch(name=SEEDBED_SERVER, command=sys.executable, args=args)


_preloading: list[threading.Thread] = []  # the SDK's import, begun once per process


def preload() -> None:
    """Begin importing the server (and the SDK) on a thread of its own, once: called when
    a task is picked to run, so that its preparing overlaps the import."""
    if not _preloading:
        thread = threading.Thread(target=_load, name="seedbed-mcp-import", daemon=True)
        _preloading.append(thread)
        thread.start()


def _load() -> ModuleType:
    return importlib.import_module(SERVER_MODULE)


async def _server(state: RunState, profile: AgentProfile) -> TalkbackServer:
    # On a worker thread: the import lock makes it wait for a preload under way.
    module = await asyncio.to_thread(_load)
    assert state.run is not None
    renamed = {"ask_user": ASK_USER_FOR_GEMINI} if profile.kind is AgentKind.GEMINI else {}
    tools = offered_tools(asks_seedbed(profile, state.run.kind), renamed)
    server: TalkbackServer = module.TalkbackServer(EngineDesk(state), tools)
    return server


@contextlib.asynccontextmanager
async def talkback(
    state: RunState, profile: AgentProfile, sandboxed: bool
) -> AsyncIterator[tuple[McpLaunch, Path]]:
    """Serve Seedbed's MCP server for the run of `state` by `profile`'s agent while the
    block runs: yields how its agent starts it, and the socket's directory (bound into its
    sandbox when `sandboxed`, where it is seen at TALKBACK_DIR_INSIDE)."""
    server = await _server(state, profile)
    directory = new_proxy_dir(TALKBACK_PREFIX)
    with serving(directory):
        await server.start(directory / SOCKET)
        try:
            seen = TALKBACK_DIR_INSIDE if sandboxed else directory
            yield shim_launch(seen / SOCKET), directory
        finally:
            await server.close()
