"""The coding-agent CLIs Seedbed can drive, each by its adapter module."""

from __future__ import annotations

import importlib

from seedbed.agents.cli.adapter import CliAdapter
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind

# kind → "module:class"; imported when first needed, so one CLI's adapter never slows
# or breaks another's.
ADAPTERS: dict[AgentKind, str] = {
    AgentKind.CLAUDE_CODE: "seedbed.agents.cli.claude_code:ClaudeCodeAdapter",
    AgentKind.CODEX: "seedbed.agents.cli.codex:CodexAdapter",
    AgentKind.AIDER: "seedbed.agents.cli.aider:AiderAdapter",
    AgentKind.GEMINI: "seedbed.agents.cli.gemini:GeminiAdapter",
    AgentKind.OPENCODE: "seedbed.agents.cli.opencode:OpenCodeAdapter",
}


def is_cli(kind: AgentKind) -> bool:
    return kind in ADAPTERS


def adapter_for(kind: AgentKind) -> CliAdapter:
    try:
        module_name, class_name = ADAPTERS[kind].split(":")
    except KeyError:
        raise UserError(f"{kind.value!r} is not a coding-agent CLI") from None
    module = importlib.import_module(module_name)
    adapter: CliAdapter = getattr(module, class_name)()
    return adapter
