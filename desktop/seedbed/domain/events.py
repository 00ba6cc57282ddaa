"""What a run produces: every agent runtime turns its output into these events.

Events are stored append-only as JSON, keyed by (run_id, seq). Output that no parser
understands is kept as a RawEvent, never dropped.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator


class ToolKind(StrEnum):
    READ = "read"
    EDIT = "edit"
    COMMAND = "command"
    SEARCH = "search"
    OTHER = "other"


class Stream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"
    SETUP = "setup"
    CHECK = "check"


# Levels of lists and objects a tool call's arguments may nest (see `too_deep`).
MAX_ARGUMENT_DEPTH = 32


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ts: float = 0.0


class TextEvent(_Event):
    kind: Literal["text"] = "text"
    text: str
    delta: bool = False


def too_deep(value: object, limit: int = MAX_ARGUMENT_DEPTH) -> bool:
    """Whether JSON data nests lists and objects more than `limit` levels deep: no tool
    needs such arguments, and the log's serializer cannot hold them. Iterative: data
    nested 200,000 deep must not recurse."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return False


class ToolCallEvent(_Event):
    kind: Literal["tool_call"] = "tool_call"
    call_id: str = ""
    name: str
    tool_kind: ToolKind = ToolKind.OTHER
    arguments: dict[str, object] = Field(default_factory=dict)

    @field_validator("arguments")
    @classmethod
    def _loggable(cls, arguments: dict[str, object]) -> dict[str, object]:
        """Arguments a model or a CLI nested too deep are logged as a note: as they are,
        they would make the event impossible to save."""
        if too_deep(arguments):
            return {"_raw": f"[nested more than {MAX_ARGUMENT_DEPTH} levels deep: not logged]"}
        return arguments


class ToolResultEvent(_Event):
    kind: Literal["tool_result"] = "tool_result"
    call_id: str = ""
    name: str = ""
    output: str = ""
    is_error: bool = False
    duration_ms: float | None = None


class OutputEvent(_Event):
    """One line a process printed; `cut` counts the bytes dropped from an over-long line."""

    kind: Literal["output"] = "output"
    stream: Stream
    line: str
    cut: int = 0


class UsageEvent(_Event):
    kind: Literal["usage"] = "usage"
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    context_fill: float = 0.0


class StatusEvent(_Event):
    """A step of the lifecycle (preparing, implementing, committed …) as the log shows it."""

    kind: Literal["status"] = "status"
    phase: str = ""
    message: str = ""


class ErrorEvent(_Event):
    kind: Literal["error"] = "error"
    message: str


class RawEvent(_Event):
    kind: Literal["raw"] = "raw"
    line: str


Event = Annotated[
    TextEvent
    | ToolCallEvent
    | ToolResultEvent
    | OutputEvent
    | UsageEvent
    | StatusEvent
    | ErrorEvent
    | RawEvent,
    Field(discriminator="kind"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(json_text: str | bytes) -> Event:
    return EVENT_ADAPTER.validate_json(json_text)
