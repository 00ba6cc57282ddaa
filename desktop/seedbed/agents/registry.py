"""Which runtime serves which agent kind."""

from __future__ import annotations

from seedbed.agents.base import AgentRuntime
from seedbed.agents.cli.command import CommandRuntime
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, AgentProfile

RUNTIMES: dict[AgentKind, type[AgentRuntime]] = {AgentKind.COMMAND: CommandRuntime}


def runtime_for(profile: AgentProfile) -> AgentRuntime:
    try:
        return RUNTIMES[profile.kind](profile)
    except KeyError:
        raise UserError(f"agent kind {profile.kind.value!r} is not supported yet") from None
