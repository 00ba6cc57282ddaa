"""Seedbed's MCP server for a run, hosted by the engine for as long as its agent runs.

The server (talkback/server.py) is built on the MCP SDK, which takes over a second and
~30 MiB to import: the run's socket is listened on at once, and the SDK is imported on a
worker thread when an agent first connects, so neither the engine's start nor its loop
waits for it, and a run whose agent never connects costs nothing of it (a window never
imports it at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from seedbed.agents.cli.claude_code import asks_seedbed
from seedbed.agents.cli.registry import is_cli
from seedbed.domain.mcp_servers import SEEDBED_CALL_TIMEOUT_S, SEEDBED_SERVER, McpLaunch
from seedbed.domain.models import AgentKind, AgentProfile
from seedbed.engine.desk import EngineDesk
from seedbed.engine.run_state import RunState
from seedbed.sandbox.plan import TALKBACK_DIR_INSIDE
from seedbed.sandbox.proxy_dirs import TALKBACK_PREFIX, new_proxy_dir, serving
from seedbed.talkback.shim import FROZEN_FLAG
from seedbed.talkback.tools import ASK_USER_FOR_GEMINI, MAX_MESSAGE, offered_tools

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
            call_timeout_s=SEEDBED_CALL_TIMEOUT_S,
        )
    # -I: the worktree (the current directory) and PYTHON* variables stay out of it.
    args = ["-I", "-m", "seedbed.talkback.shim", str(socket)]
    return McpLaunch(
        name=SEEDBED_SERVER,
        command=sys.executable,
        args=args,
        call_timeout_s=SEEDBED_CALL_TIMEOUT_S,
    )


def talks_back(kind: AgentKind) -> bool:
    """Whether a run of `kind` gets Seedbed's server: an agent CLI or the built-in agent
    (a command agent is the user's program, which knows nothing of it)."""
    return kind is AgentKind.BUILTIN or is_cli(kind)


def _load() -> ModuleType:
    return importlib.import_module(SERVER_MODULE)


class _Listener:
    """The run's socket, listened on at once; the server (and the SDK, ~1.2 s and ~30 MiB
    to import) is built at the first connection: an agent that never connects (a CLI
    without MCP, a test's fake) costs the engine nothing of it."""

    def __init__(self, state: RunState, profile: AgentProfile) -> None:
        self.state = state
        self.profile = profile
        self._server: TalkbackServer | None = None
        self._building = asyncio.Lock()
        self._listener: asyncio.AbstractServer | None = None

    async def start(self, path: Path) -> None:
        self._listener = await asyncio.start_unix_server(
            self._connected, path=str(path), limit=MAX_MESSAGE
        )
        os.chmod(path, 0o600)  # in the run's directory (0700) already

    async def _built(self) -> TalkbackServer:
        async with self._building:
            if self._server is None:
                module = await asyncio.to_thread(_load)  # off the loop
                assert self.state.run is not None
                kind = self.profile.kind
                renamed = {"ask_user": ASK_USER_FOR_GEMINI} if kind is AgentKind.GEMINI else {}
                tools = offered_tools(asks_seedbed(self.profile, self.state.run.kind), renamed)
                self._server = module.TalkbackServer(EngineDesk(self.state), tools)
            return self._server

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            server = await self._built()
        except (ImportError, asyncio.CancelledError):
            writer.close()
            raise
        await server.serve(reader, writer)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        if self._server is not None:
            await self._server.close()


@contextlib.asynccontextmanager
async def talkback(
    state: RunState, profile: AgentProfile, sandboxed: bool
) -> AsyncIterator[tuple[McpLaunch, Path]]:
    """Serve Seedbed's MCP server for the run of `state` by `profile`'s agent while the
    block runs: yields how its agent reaches it, and the socket's directory. An agent CLI
    starts the shim (its socket bound into its sandbox when `sandboxed`, where it is seen
    at TALKBACK_DIR_INSIDE); the built-in agent, in this process, connects directly."""
    listener = _Listener(state, profile)
    directory = new_proxy_dir(TALKBACK_PREFIX)
    with serving(directory):
        await listener.start(directory / SOCKET)
        try:
            if profile.kind is AgentKind.BUILTIN:
                launch = McpLaunch(name=SEEDBED_SERVER, socket=str(directory / SOCKET))
            else:
                seen = TALKBACK_DIR_INSIDE if sandboxed else directory
                launch = shim_launch(seen / SOCKET)
            yield launch, directory
        finally:
            await listener.close()
