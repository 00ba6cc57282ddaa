"""The built-in agent's loop: ask the model, run the tools it calls, until it is done.

The run ends when the model answers without a tool call (success), at `max_turns`, at
the token budget, when the context is too full (`context_full`), when a model call
fails for good, or on stop — which cancels the HTTP stream and any running command at
once. The conversation is kept in the provider-neutral shape so that a follow-up run
continues it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from pydantic import SecretStr, TypeAdapter

from seedbed.agents.base import AgentRun, AgentRuntime, RunOutcome, RunRequest
from seedbed.agents.builtin.prompt import (
    FIRST_MESSAGE,
    instruction_files,
    system_prompt,
    top_level_listing,
)
from seedbed.agents.builtin.providers import provider_for
from seedbed.agents.builtin.seedbed_tools import SeedbedTools
from seedbed.agents.builtin.tools import TOOL_KINDS, TOOL_SPECS, Toolbox, ToolResult, tools_for
from seedbed.agents.builtin.types import Message, Provider, ProviderError, TurnResult
from seedbed.agents.process import base_environment
from seedbed.domain.events import (
    ErrorEvent,
    Event,
    StatusEvent,
    TextEvent,
    ToolCallEvent,
    ToolKind,
    ToolResultEvent,
    UsageEvent,
    too_deep,
)
from seedbed.domain.models import AgentProfile, RunKind, RunStatus

if TYPE_CHECKING:
    from seedbed.agents.builtin.mcp_tools import McpTools

MCP_TOOLS_MODULE = "seedbed.agents.builtin.mcp_tools"  # the MCP SDK's client: loaded when needed

CONVERSATION = TypeAdapter(list[Message])
EVENT_RESULT_LIMIT = 4000
TEXT_FLUSH_CHARS = 200
KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
CONTEXT_FULL = "context_full"
TOKEN_BUDGET = "token_budget"


def load_conversation(saved: str) -> list[Message]:
    """The saved conversation, made valid to continue: a tool call that never got its
    result (the run was stopped mid-turn) gets one saying so."""
    messages = CONVERSATION.validate_json(saved) if saved else []
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    repaired: list[Message] = []
    for message in messages:
        repaired.append(message)
        for call in message.tool_calls:
            if call.id not in answered:
                repaired.append(
                    Message(
                        role="tool",
                        tool_call_id=call.id,
                        tool_name=call.name,
                        text="not run: the run was stopped before this tool call",
                        is_error=True,
                    )
                )
    return repaired


def parse_arguments(text: str, limit: int = EVENT_RESULT_LIMIT) -> dict[str, object]:
    """The model's argument JSON as a dict for the log (long strings cut, so a big
    write_file does not fill the log); anything else is kept raw."""
    try:
        value = json.loads(text) if text.strip() else {}
    except (json.JSONDecodeError, RecursionError):  # not JSON, or nested too deep to read
        return {"_raw": bounded(text, limit)}
    if not isinstance(value, dict) or too_deep(value):
        return {"_raw": bounded(text, limit)}
    return {k: bounded(v, limit) if isinstance(v, str) else v for k, v in value.items()}


def bounded(text: str, limit: int = EVENT_RESULT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[… {len(text) - limit} more characters not logged]"


class Accounting:
    """Tokens, cost and context fill of one run, and the thresholds that end it."""

    def __init__(self, profile: AgentProfile) -> None:
        self.profile = profile
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost_usd = 0.0
        self.fill = 0.0
        self.warned = False

    def add(self, result: TurnResult) -> UsageEvent:
        usage = result.usage
        self.tokens_in += usage.input_tokens
        self.tokens_out += usage.output_tokens
        cost = (
            usage.input_tokens * self.profile.price_in
            + usage.output_tokens * self.profile.price_out
        ) / 1_000_000
        self.cost_usd += cost
        window = max(1, self.profile.context_window)
        self.fill = usage.input_tokens / window
        return UsageEvent(
            tokens_in=usage.input_tokens,
            tokens_out=usage.output_tokens,
            cost_usd=cost,
            context_fill=self.fill,
        )

    def crossed_warning(self) -> bool:
        if self.warned or self.fill < self.profile.context_warn:
            return False
        self.warned = True
        return True

    def end_reason(self) -> str:
        if self.fill >= self.profile.context_stop:
            return CONTEXT_FULL
        budget = self.profile.token_budget
        if budget and self.tokens_in + self.tokens_out >= budget:
            return TOKEN_BUDGET
        return ""


class BuiltinRun(AgentRun):
    """One run of the loop, on its own asyncio task; events flow through a queue."""

    def __init__(
        self,
        profile: AgentProfile,
        provider: Provider,
        request: RunRequest,
        secret: str = "",
    ) -> None:
        self.profile = profile
        self.provider = provider
        self.request = request
        self._allowed = {spec.name for spec in TOOL_SPECS}
        self._secret = secret
        self._holdback = max(0, len(secret) - 1)
        env = base_environment()
        for name in KEY_VARIABLES:  # a command the model runs must not be able to print it
            env.pop(name, None)
        self.toolbox = Toolbox(
            request.worktree,
            env,
            run_id=request.run_id,
            marker=request.marker,
            sandbox=request.sandbox,
        )
        # Seedbed's own server (at the run's socket) apart: its tools are known at once.
        # Only for a run that may act: a planner or reviewer keeps its read-only tools
        # (adding tasks is the plan's own business, by its split).
        self._mcp_servers = [s for s in request.mcp_servers if not s.socket]
        acting = request.kind not in (RunKind.PLAN, RunKind.REVIEW)
        own = next((s for s in request.mcp_servers if s.socket and acting), None)
        taken = {spec.name for spec in TOOL_SPECS}
        self.seedbed = SeedbedTools(own, request.worktree, taken) if own else None
        self._mcp_env = env
        # Made only for a run given MCP servers: the SDK it loads costs ~30 MiB and a second.
        self.mcp: McpTools | None = None
        self.messages: list[Message] = []
        self._queue: asyncio.Queue[list[Event] | None] = asyncio.Queue()
        self._text: list[str] = []
        self._text_size = 0
        self._task = asyncio.create_task(self._main())

    async def events(self) -> AsyncIterator[list[Event]]:
        while (batch := await self._queue.get()) is not None:
            yield batch

    async def stop(self, reason: str = "stop") -> None:
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    # -- the loop -------------------------------------------------------------------

    async def _main(self) -> None:
        try:
            self.outcome = await self._loop()
        except asyncio.CancelledError:
            # The stop is handled here: said so (uncancel), or the MCP sessions' cancel
            # scopes, closed below, would take it for a cancel still pending and raise.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            self._flush_text()
            self.outcome = RunOutcome(status=RunStatus.STOPPED, reason="stopped")
        except ProviderError as exc:
            self._flush_text()
            self.outcome = RunOutcome(status=RunStatus.FAILED, reason=str(exc))
            self._emit(ErrorEvent(message=str(exc)))
        except Exception as exc:  # a bug of ours must end the run visibly, not hang it
            self.outcome = RunOutcome(status=RunStatus.FAILED, reason=f"internal error: {exc!r}")
            self._emit(ErrorEvent(message=self.outcome.reason))
        finally:
            try:
                for servers in (self.mcp, self.seedbed):
                    if servers is not None:  # on this task: the one that opened them
                        # Each closed whatever the other's closing met (a second stop).
                        with contextlib.suppress(Exception, asyncio.CancelledError):
                            await servers.aclose()
            finally:
                self.conversation = CONVERSATION.dump_json(self.messages).decode()
                # The end of the events first: whatever happens while the connections
                # close (a second stop, an error), the engine must see this run end.
                self._queue.put_nowait(None)
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await self.provider.aclose()

    async def _loop(self) -> RunOutcome:
        request = self.request
        worktree = request.worktree
        listing, instructions = await asyncio.gather(
            asyncio.to_thread(top_level_listing, worktree),
            asyncio.to_thread(instruction_files, worktree),
        )
        system = system_prompt(request.title, request.prompt, listing, instructions, request.plan)
        self.messages = load_conversation(request.conversation)
        self.messages.append(Message(role="user", text=request.follow_up or FIRST_MESSAGE))
        accounting = Accounting(self.profile)
        tools = tools_for(request.kind)
        self._allowed = {spec.name for spec in tools}
        taken = {spec.name for spec in TOOL_SPECS}
        if self.seedbed is not None:
            tools = [*tools, *self.seedbed.specs]
            taken |= {spec.name for spec in self.seedbed.specs}
        if self._mcp_servers:
            tools_module = await asyncio.to_thread(importlib.import_module, MCP_TOOLS_MODULE)
            self.mcp = tools_module.McpTools(
                self._mcp_servers, request.worktree, self._mcp_env, request.sandbox
            )
            for note in await self.mcp.open(taken=taken):
                self._emit(StatusEvent(phase="mcp", message=note))
            tools = [*tools, *self.mcp.specs]
        for _turn in range(self.profile.max_turns):
            result = await self.provider.turn(
                system, self.messages, tools, self._on_text, self._on_retry
            )
            self._flush_text()
            if result.text:
                self._emit(TextEvent(text=result.text))
            self.messages.append(
                Message(role="assistant", text=result.text, tool_calls=result.tool_calls)
            )
            self._emit(accounting.add(result))
            if accounting.crossed_warning():
                self._emit(
                    StatusEvent(
                        phase="context",
                        message=f"context {accounting.fill:.0%} full "
                        f"(warning at {self.profile.context_warn:.0%})",
                    )
                )
            for call in result.tool_calls:
                await self._call_tool(call.id, call.name, call.arguments)
            if reason := accounting.end_reason():
                message = (
                    f"context {accounting.fill:.0%} full: stopping at "
                    f"{self.profile.context_stop:.0%}"
                    if reason == CONTEXT_FULL
                    else f"token budget of {self.profile.token_budget} reached"
                )
                self._emit(ErrorEvent(message=message))
                # A full context keeps its key (a follow-up starts afresh on it); a used-up
                # budget is said as the sentence the user reads.
                said = reason if reason == CONTEXT_FULL else message
                return RunOutcome(status=RunStatus.FAILED, reason=said)
            if not result.tool_calls:
                return RunOutcome(status=RunStatus.SUCCEEDED, exit_code=0)
        reason = f"max_turns: {self.profile.max_turns} model calls without finishing"
        self._emit(ErrorEvent(message=reason))
        return RunOutcome(status=RunStatus.FAILED, reason=reason)

    async def _call_tool(self, call_id: str, name: str, arguments: str) -> None:
        self._emit(
            ToolCallEvent(
                call_id=call_id,
                name=name,
                tool_kind=TOOL_KINDS.get(name, ToolKind.OTHER),
                arguments=parse_arguments(arguments),
            )
        )
        started = time.perf_counter()
        if name in TOOL_KINDS and name not in self._allowed:
            kind = self.request.kind.value
            result = ToolResult(output=f"{name} is not available in a {kind} run", is_error=True)
        elif self.seedbed is not None and self.seedbed.owns(name):
            output, failed = await self.seedbed.call(name, arguments)
            result = ToolResult(output=self._scrub(output), is_error=failed)
        elif self.mcp is not None and self.mcp.owns(name):
            output, failed = await self.mcp.call(name, arguments)
            result = ToolResult(output=self._scrub(output), is_error=failed)
        else:
            result = await self.toolbox.call(name, arguments)
        self._emit(
            ToolResultEvent(
                call_id=call_id,
                name=name,
                output=bounded(result.output),
                is_error=result.is_error,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        )
        self.messages.append(
            Message(
                role="tool",
                tool_call_id=call_id,
                tool_name=name,
                text=result.output,
                is_error=result.is_error,
            )
        )

    # -- events ---------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        event.ts = time.time()
        self._queue.put_nowait([event])

    def _on_text(self, delta: str) -> None:
        """Streamed text, passed on in pieces of a few hundred characters."""
        self._text.append(delta)
        self._text_size += len(delta)
        if self._text_size >= TEXT_FLUSH_CHARS + self._holdback or "\n" in delta:
            self._flush_text(final=False)

    def _flush_text(self, final: bool = True) -> None:
        """Pass on the streamed text, scrubbed. Until the answer ends, the last few
        characters are held back: a key the model repeats may have arrived only in part,
        and each part alone would escape the scrubbing."""
        text = self._scrub("".join(self._text))
        keep = "" if final or not self._holdback else text[-self._holdback :]
        text = text[: len(text) - len(keep)]
        self._text = [keep] if keep else []
        self._text_size = len(keep)
        if text:
            self._emit(TextEvent(text=text, delta=True))

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]") if self._secret else text

    def _on_retry(self, attempt: int, reason: str, delay: float) -> None:
        self._flush_text()
        self._emit(
            StatusEvent(
                phase="retrying",
                message=f"model call failed ({reason}); attempt {attempt + 1} in {delay:.1f} s",
            )
        )


class BuiltinRuntime(AgentRuntime):
    """Seedbed's own agent; the key (if any) was looked up by the engine."""

    def __init__(self, profile: AgentProfile, api_key: SecretStr | None = None) -> None:
        super().__init__(profile)
        self.api_key = api_key

    async def start(self, request: RunRequest) -> AgentRun:
        secret = self.api_key.get_secret_value() if self.api_key else ""
        provider = provider_for(self.profile, self.api_key)
        return BuiltinRun(self.profile, provider, request, secret)
