"""An MCP server as a run hands it to its agent: Seedbed's own (scoped to the run's task)
and the user's (Settings → MCP servers). Each agent CLI is given them its own way
(agents/cli: `CliAdapter.mcp_config`), the built-in agent connects to them itself."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A server's name becomes part of its tools' names (Claude Code's mcp__NAME__TOOL, a
# TOML key for Codex): letters, digits, `_` and `-` only.
SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,47}")
SEEDBED_SERVER = "seedbed"  # Seedbed's own server, in every run


class McpLaunch(BaseModel):
    """How an agent reaches one MCP server: a command it starts and talks to over stdio,
    or a streamable-HTTP URL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Its name: its tools are known to the agent by it.")
    command: str = Field("", description="stdio: the program (an absolute path or on PATH).")
    args: list[str] = Field(default_factory=list, description="stdio: its arguments.")
    env: dict[str, str] = Field(default_factory=dict, description="stdio: set for it.")
    url: str = Field("", description="HTTP: the server's URL (streamable HTTP).")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP: sent with each call.")

    @field_validator("name")
    @classmethod
    def _named(cls, name: str) -> str:
        if not SERVER_NAME.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a server name (letters, digits, _ and -; 48 at most)"
            )
        return name

    @property
    def stdio(self) -> bool:
        return bool(self.command)
