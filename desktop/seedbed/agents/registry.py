"""Which runtime serves which agent kind."""

from __future__ import annotations

from pydantic import SecretStr

from seedbed.agents.base import AgentRuntime
from seedbed.agents.cli.adapter import CliRuntime
from seedbed.agents.cli.command import CommandRuntime
from seedbed.agents.cli.registry import adapter_for, is_cli
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, AgentProfile


def runtime_for(profile: AgentProfile, api_key: SecretStr | None = None) -> AgentRuntime:
    if profile.kind is AgentKind.COMMAND:
        return CommandRuntime(profile, api_key)
    if profile.kind is AgentKind.BUILTIN:
        from seedbed.agents.builtin.loop import BuiltinRuntime

        return BuiltinRuntime(profile, api_key)
    if is_cli(profile.kind):
        return CliRuntime(profile, adapter_for(profile.kind), api_key)
    raise UserError(f"agent kind {profile.kind.value!r} is not supported yet")
