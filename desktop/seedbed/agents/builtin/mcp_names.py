"""What the built-in agent's model calls an MCP server's tool: `SERVER__TOOL`. Free of
the MCP SDK (seedbed_tools.py names Seedbed's own tools before the SDK is loaded)."""

from __future__ import annotations

import re

SEPARATOR = "__"
# What a model's API takes as a tool's name (OpenAI: 64 of these characters).
TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]")
MAX_TOOL_NAME = 64


def tool_name(server: str, tool: str, taken: set[str]) -> str:
    """`SERVER__TOOL` as a model may call it: other characters as `_`, 64 at most, and
    made unique among `taken` (two tools cut to the same name)."""
    name = TOOL_NAME.sub("_", f"{server}{SEPARATOR}{tool}")[:MAX_TOOL_NAME]
    number = 2
    while name in taken:
        suffix = f"_{number}"
        name = name[: MAX_TOOL_NAME - len(suffix)] + suffix
        number += 1
    return name
