"""The built-in agent's provider-neutral vocabulary.

A conversation is kept in this shape (and saved in it, so a follow-up can continue it);
each provider translates it to and from its own wire format.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from seedbed.domain.errors import OperationError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolCall(_Model):
    id: str
    name: str
    arguments: str = Field("", description="The arguments as the model sent them: JSON text.")


class Message(_Model):
    role: Literal["user", "assistant", "tool"]
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str = ""
    tool_name: str = ""
    is_error: bool = False


class ToolSpec(_Model):
    name: str
    description: str
    parameters: dict[str, object]


class Usage(_Model):
    """Tokens of one model call; input counts everything the model read (cached too)."""

    input_tokens: int = 0
    output_tokens: int = 0


class TurnResult(_Model):
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str = ""


class ProviderConfig(_Model):
    base_url: str
    model: str
    api_key: SecretStr | None = None
    max_tries: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_output_tokens: int = 8192
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_call_seconds: float = 600.0  # one attempt
    max_total_seconds: float | None = None  # the whole call: every attempt and wait
    max_event_bytes: int = 16 * 1024 * 1024


class ProviderError(OperationError):
    """A model call failed for good (after retries); the message is safe to show."""


TextSink = Callable[[str], None]
RetrySink = Callable[[int, str, float], None]  # attempt number, reason, delay in seconds


class Provider(ABC):
    """One model API. `turn` streams one answer, retrying what is worth retrying."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @abstractmethod
    async def turn(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        on_text: TextSink,
        on_retry: RetrySink,
    ) -> TurnResult:
        """Send the conversation, call on_text for each text delta, return the answer."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
