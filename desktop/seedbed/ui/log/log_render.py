"""How the log shows one event: its one line in the list, its full text in the detail pane.

Pure Python and Qt-free (like git-cola's `diffparse.py`), so every kind of event is
unit-tested without a window. Everything returned is bounded: a list line never holds
more than `LINE_CHARS` characters and a detail text never more than `DETAIL_CHARS`,
however big the event (a 1 MB line of output, a tool result holding a whole file),
because the list paints thousands of these and the detail pane lays its text out.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum

from seedbed.domain.events import (
    ErrorEvent,
    Event,
    OutputEvent,
    RawEvent,
    StatusEvent,
    Stream,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
    UsageEvent,
)

LINE_CHARS = 400
ARGUMENT_CHARS = 80
DETAIL_CHARS = 100_000
CONTEXT_WARN = 0.6  # quality drops long before a context window is full (DESIGN.md)
# Argument names that say the most about a tool call, shown first in its short form.
KEY_ARGUMENTS = ("command", "cmd", "path", "file_path", "filename", "pattern", "query", "url")
_CONTROL: dict[int, str] = {i: " " for i in range(32)} | {9: "    ", 127: " "}


class Tone(StrEnum):
    """What colour a line gets; the view maps tones to palette colours."""

    NORMAL = "normal"
    MUTED = "muted"
    TOOL = "tool"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Line:
    """One event as one list row: a marker for the gutter and the text beside it.

    `plain` is what copying the row gives, in the shape of `seedbed task log`.
    """

    marker: str
    text: str
    tone: Tone = Tone.NORMAL
    mono: bool = False
    plain: str = ""


# A row whose page is on its way from the engine shows this meanwhile.
WAITING_LINE = Line(marker="", text="…", tone=Tone.MUTED)


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, an ellipsis saying some were dropped."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def first_line(text: str, limit: int = LINE_CHARS) -> str:
    """The first non-empty line of text, cut, with "(+N lines)" when more follow.

    Only the first `limit` characters are cleaned and the rest is counted in C, so a
    megabyte of text costs microseconds."""
    stripped = text.strip("\n")
    end = stripped.find("\n")
    head = stripped if end < 0 else stripped[:end]
    head = cut(head, limit).translate(_CONTROL).rstrip()
    if end < 0:
        return head
    more = stripped.count("\n", end)
    return f"{head} (+{more} line{'s' if more != 1 else ''})"


def short_arguments(arguments: dict[str, object], limit: int = ARGUMENT_CHARS * 2) -> str:
    """A tool call's arguments on one line: the telling ones first, each value cut."""
    keys = [k for k in KEY_ARGUMENTS if k in arguments]
    keys += [k for k in arguments if k not in keys]
    parts: list[str] = []
    size = 0
    for key in keys:
        value = arguments[key]
        shown = value if isinstance(value, str) else _compact_json(value, ARGUMENT_CHARS)
        part = f"{key}={first_line(shown, ARGUMENT_CHARS)}"
        if len(keys) == 1 and key in KEY_ARGUMENTS:
            part = first_line(shown, limit)
        parts.append(part)
        size += len(part) + 1
        if size > limit:
            break
    return cut(" ".join(parts), limit)


def _compact_json(value: object, limit: int) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return cut(text, limit)


def render_line(event: Event) -> Line:
    """The event as one row of the log list."""
    if isinstance(event, TextEvent):
        text = first_line(event.text)
        return Line("•", text, Tone.NORMAL, plain=text)
    if isinstance(event, ToolCallEvent):
        arguments = short_arguments(event.arguments)
        text = cut(f"{event.name} {arguments}".rstrip(), LINE_CHARS)
        return Line("→", text, Tone.TOOL, plain=f"→ {text}")
    if isinstance(event, ToolResultEvent):
        return _result_line(event)
    if isinstance(event, OutputEvent):
        text = cut(event.line.translate(_CONTROL), LINE_CHARS)
        if event.cut:
            text = f"{text} … [{event.cut:,} bytes cut]"
        if event.stream is Stream.STDOUT:
            return Line("", text, Tone.NORMAL, mono=True, plain=text)
        tone = Tone.WARNING if event.stream is Stream.STDERR else Tone.MUTED
        marker = "err" if event.stream is Stream.STDERR else event.stream.value
        return Line(marker, text, tone, mono=True, plain=f"[{event.stream.value}] {text}")
    if isinstance(event, UsageEvent):
        text = usage_text(event)
        tone = Tone.WARNING if event.context_fill >= CONTEXT_WARN else Tone.MUTED
        return Line("··", text, tone, plain=f"·· {text}")
    if isinstance(event, StatusEvent):
        text = first_line(event.message or event.phase)
        return Line("──", text, Tone.MUTED, plain=f"── {text}")
    if isinstance(event, ErrorEvent):
        text = first_line(event.message)
        return Line("!", text, Tone.ERROR, plain=f"error: {text}")
    if isinstance(event, RawEvent):
        text = cut(event.line.translate(_CONTROL), LINE_CHARS)
        return Line("?", text, Tone.MUTED, mono=True, plain=text)
    raise TypeError(f"not an event: {event!r}")


def _result_line(event: ToolResultEvent) -> Line:
    output = first_line(event.output) or "(no output)"
    took = f" · {event.duration_ms / 1000:.1f} s" if event.duration_ms is not None else ""
    text = cut(f"{event.name}: {output}" if event.name else output, LINE_CHARS) + took
    if event.is_error:
        return Line("✗", text, Tone.ERROR, mono=True, plain=f"✗ {text}")
    return Line("←", text, Tone.MUTED, mono=True, plain=f"← {text}")


def usage_text(event: UsageEvent) -> str:
    """Tokens, cost and context fill, as the usage row and the run summary say them."""
    return (
        f"tokens {event.tokens_in:,} in, {event.tokens_out:,} out · ${event.cost_usd:.4f}"
        f" · context {event.context_fill:.0%}"
    )


def render_detail(event: Event, result: ToolResultEvent | None = None) -> str:
    """The whole event for the detail pane; a tool call shows its result when given."""
    parts = [f"{_clock(event.ts)}{_title(event)}"]
    if isinstance(event, TextEvent):
        parts.append(_bounded(event.text))
    elif isinstance(event, ToolCallEvent):
        parts.append(f"call id: {event.call_id or '—'} · kind: {event.tool_kind.value}")
        arguments = json.dumps(event.arguments, ensure_ascii=False, indent=2, default=str)
        parts.append("Arguments:\n" + _bounded(arguments))
        parts.append(_result_detail(result) if result is not None else "Result: not yet")
    elif isinstance(event, ToolResultEvent):
        parts.append(_result_detail(event))
    elif isinstance(event, OutputEvent):
        cut_note = f"\n[{event.cut:,} bytes cut]" if event.cut else ""
        parts.append(_bounded(event.line) + cut_note)
    elif isinstance(event, UsageEvent):
        parts.append(usage_text(event).replace(" · ", "\n"))
    elif isinstance(event, StatusEvent | ErrorEvent):
        parts.append(_bounded(event.message))
    else:
        parts.append(_bounded(event.line))
    return cut("\n\n".join(parts), 2 * DETAIL_CHARS + 1000)


def _title(event: Event) -> str:
    if isinstance(event, OutputEvent):
        return f"output ({event.stream.value})"
    if isinstance(event, ToolCallEvent | ToolResultEvent):
        return f"{event.kind.replace('_', ' ')} {event.name}".rstrip()
    if isinstance(event, StatusEvent) and event.phase:
        return f"status · {event.phase}"
    return {"text": "assistant", "usage": "usage", "raw": "unparsed output"}.get(
        event.kind, event.kind
    )


def _result_detail(result: ToolResultEvent) -> str:
    head = "Result (error)" if result.is_error else "Result"
    if result.duration_ms is not None:
        head += f", {result.duration_ms:,.0f} ms"
    return f"{head}:\n{_bounded(result.output)}"


def _bounded(text: str) -> str:
    if len(text) <= DETAIL_CHARS:
        return text
    return f"{text[:DETAIL_CHARS]}\n… [{len(text) - DETAIL_CHARS:,} more characters]"


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S  ", time.localtime(ts)) if ts else ""


def search_text(event: Event) -> str:
    """The words a search looks in: what the event says, not its JSON keys."""
    if isinstance(event, TextEvent):
        return event.text
    if isinstance(event, ToolCallEvent):
        return f"{event.name} {json.dumps(event.arguments, ensure_ascii=False, default=str)}"
    if isinstance(event, ToolResultEvent):
        return f"{event.name} {event.output}"
    if isinstance(event, OutputEvent | RawEvent):
        return event.line
    if isinstance(event, StatusEvent):
        return f"{event.phase} {event.message}"
    if isinstance(event, ErrorEvent):
        return event.message
    return usage_text(event)
