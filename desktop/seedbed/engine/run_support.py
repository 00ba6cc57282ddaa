"""What a task's runs share at run time: the git threads, usage sums and the outcome of
a stopped run. Commits of what an agent left are `core.workspace`'s, their messages
`core.commit_messages`', a project's commands `core.commands`'."""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from seedbed.agents.base import RunOutcome
from seedbed.domain.events import Event, UsageEvent
from seedbed.domain.models import RunStatus

DIFF_EVERY_S = 10.0  # how often a running card's diff size is measured
CONTEXT_FULL = "context_full"
CONTEXT_FULL_NOTE = (
    "(An earlier run on this task filled the model's context and was stopped; its work "
    "so far is in the worktree. Look at the changes with the tools before going on.)\n\n"
)
# Git work of every run goes through a few threads, not one per run: when twenty runs end
# together, twenty threads running git at once would starve the window's thread of
# the GIL (tests/perf gui_max_stall_ending_ms); git itself is bound by the cores anyway.
GIT_THREADS = ThreadPoolExecutor(
    max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="seedbed-git"
)
T = TypeVar("T")


async def git_call(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) on one of the git threads, in the caller's context (its git scope)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(GIT_THREADS, context.run, fn, *args)


class Usage:
    """Tokens, cost and the highest context fill of a run, summed from its usage events."""

    def __init__(self) -> None:
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost_usd = 0.0
        self.context_fill = 0.0

    def add(self, batch: list[Event]) -> bool:
        """Count the batch's usage events; True when there were any."""
        seen = False
        for event in batch:
            if isinstance(event, UsageEvent):
                self.tokens_in += event.tokens_in
                self.tokens_out += event.tokens_out
                self.cost_usd += event.cost_usd
                self.context_fill = max(self.context_fill, event.context_fill)
                seen = True
        return seen

    def fields(self) -> dict[str, int | float]:
        return {
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost_usd, 6),
            "context_fill": round(self.context_fill, 4),
        }


class StepFailed(Exception):
    """A step before or after the agent failed; the task ends as agent_failed."""


def stopped() -> RunOutcome:
    return RunOutcome(status=RunStatus.STOPPED, reason="stopped")
