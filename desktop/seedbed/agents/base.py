"""The one interface every agent runtime implements."""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from seedbed.domain.events import Event
from seedbed.domain.mcp_servers import McpLaunch
from seedbed.domain.models import AgentProfile, RunKind, RunStatus
from seedbed.sandbox.plan import SandboxPlan


class RunRequest(BaseModel):
    """What an agent is asked to do in one run."""

    model_config = ConfigDict(extra="forbid")

    task_id: int
    run_id: int
    run_number: int
    kind: RunKind
    title: str
    prompt: str
    worktree: Path
    follow_up: str = ""
    plan: str = ""
    conversation: str = Field("", description="The previous run's saved conversation (JSON).")
    marker: str = Field("", description="agents.process.run_marker: set on its processes.")
    sandbox: SandboxPlan | None = Field(
        None, description="The sandbox its processes run in (None: with the user's rights)."
    )
    mcp_servers: list[McpLaunch] = Field(
        default_factory=list,
        description="The MCP servers its agent is given: Seedbed's own first, then the user's.",
    )


class RunOutcome(BaseModel):
    status: RunStatus
    exit_code: int | None = None
    reason: str = ""


class AgentRun(ABC):
    """One started run: iterate `events()` to the end, then read `outcome`."""

    pid: int | None = None
    outcome: RunOutcome = RunOutcome(status=RunStatus.RUNNING)
    conversation: str = ""  # set by runtimes that keep one, for the next follow-up
    _holds = 0  # questions to the user its agent waits on (engine/asking.py)

    @property
    def held(self) -> bool:
        """Its agent waits on the user: silence is not idleness (no idle timeout)."""
        return self._holds > 0

    @contextlib.contextmanager
    def holding_idle(self) -> Iterator[None]:
        """While the block runs the idle timeout is held; it counts again from its end."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1

    @abstractmethod
    def events(self) -> AsyncIterator[list[Event]]:
        """Batches of events until the run ends."""

    @abstractmethod
    async def stop(self, reason: str = "stop") -> None:
        """End the run now (the whole process group for a process)."""


class AgentRuntime(ABC):
    """Starts runs of one agent kind."""

    def __init__(self, profile: AgentProfile) -> None:
        self.profile = profile

    @abstractmethod
    async def start(self, request: RunRequest) -> AgentRun: ...


def now() -> float:
    return time.time()
