"""Anthropic Messages, streamed (`POST {base_url}/v1/messages`, base URL like
`https://api.anthropic.com`; one ending in `/v1` is accepted too).

An event's type is its `event:` line, or, when a server sends data lines only (httpx-sse
then names the event "message"), the `type` field of its JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from httpx_sse import ServerSentEvent

from seedbed.agents.builtin.providers.http import (
    Fed,
    HttpProvider,
    RetryableError,
    count,
    header_secret,
    join_url,
    load_chunk,
    shorten,
)
from seedbed.agents.builtin.types import (
    Message,
    ProviderConfig,
    ProviderError,
    RetrySink,
    TextSink,
    ToolCall,
    ToolSpec,
    TurnResult,
    Usage,
)
from seedbed.domain.events import too_deep

API_VERSION = "2023-06-01"
# Errors inside the stream that a later attempt may not meet.
_TRANSIENT = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}
_INPUT_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
# What httpx-sse calls an event that came without an `event:` line.
_UNNAMED = ("", "message")

Block = dict[str, object]


class AnthropicProvider(HttpProvider):
    """The Messages API with tool use."""

    async def turn(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        on_text: TextSink,
        on_retry: RetrySink,
    ) -> TurnResult:
        headers = request_headers(self.config)
        body = request_body(self.config, system, messages, tools)
        return await self._stream(
            messages_url(self.config.base_url),
            headers,
            body,
            lambda: MessageStream(on_text),
            on_retry,
        )


def messages_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    if base.endswith("/v1/messages"):
        return base
    if base.endswith("/v1"):
        base = base[: -len("/v1")]
    return join_url(base, "v1/messages")


def request_headers(config: ProviderConfig) -> dict[str, str]:
    headers = {"content-type": "application/json", "anthropic-version": API_VERSION}
    if config.api_key is not None:
        headers["x-api-key"] = header_secret(config.api_key)
    return headers


def request_body(
    config: ProviderConfig, system: str, messages: list[Message], tools: list[ToolSpec]
) -> dict[str, object]:
    body: dict[str, object] = {
        "model": config.model,
        "max_tokens": config.max_output_tokens,
        "messages": to_wire_messages(messages),
        "stream": True,
    }
    if system:
        body["system"] = system
    if tools:
        body["tools"] = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
            for tool in tools
        ]
    return body


def tool_input(arguments: str) -> dict[str, object]:
    """A tool call's arguments as the object Anthropic wants; empty or unreadable ones: {}."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except (ValueError, RecursionError):  # RecursionError: nested too deep to read
        return {}
    return value if isinstance(value, dict) and not too_deep(value) else {}


def to_wire_messages(messages: list[Message]) -> list[dict[str, object]]:
    """Neutral messages as Anthropic's alternating turns: tool results become tool_result
    blocks of a user turn, and consecutive turns of one role are merged into one."""
    wire: list[dict[str, object]] = []
    contents: list[list[Block]] = []
    for message in messages:
        blocks: list[Block] = []
        role = "assistant" if message.role == "assistant" else "user"
        if message.role == "tool":
            result: Block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "is_error": message.is_error,
            }
            if message.text:
                result["content"] = message.text
            blocks.append(result)
        elif message.text:  # the API refuses empty text blocks
            blocks.append({"type": "text", "text": message.text})
        for call in message.tool_calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.name,
                    "input": tool_input(call.arguments),
                }
            )
        if not blocks:
            continue
        if wire and wire[-1]["role"] == role:
            contents[-1].extend(blocks)
        else:
            contents.append(blocks)
            wire.append({"role": role, "content": blocks})
    for content in contents:
        # Tool results must open the user turn that answers the tool calls.
        content.sort(key=lambda block: block["type"] != "tool_result")
    return wire


@dataclass
class _Block:
    kind: str
    id: str = ""
    name: str = ""
    parts: list[str] = field(default_factory=list)
    start_input: object = None


class MessageStream:
    """Reads one streamed message: text and tool-use blocks, stop reason, usage."""

    final_event = "message_stop"

    def __init__(self, on_text: TextSink) -> None:
        self._on_text = on_text
        self._text: list[str] = []
        self._blocks: dict[int, _Block] = {}
        self._input = dict.fromkeys(_INPUT_FIELDS, 0)
        self._output = 0
        self._stop = ""

    def feed(self, event: ServerSentEvent) -> Fed:
        """Pings, empty events and event types newer than this code are keep-alives."""
        if event.event == "ping" or not event.data.strip():
            return Fed.KEEP_ALIVE
        data = load_chunk(event.data)
        kind = event.event
        if kind in _UNNAMED:
            kind = str(data.get("type") or "")
        if kind == "message_start":
            message = data.get("message")
            if isinstance(message, dict):
                self._usage(message.get("usage"))
        elif kind == "content_block_start":
            self._start(data)
        elif kind == "content_block_delta":
            self._delta(data)
        elif kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                self._stop = str(delta["stop_reason"])
            self._usage(data.get("usage"))
        elif kind == "message_stop":
            return Fed.FINAL
        elif kind == "error":
            raise _stream_error(data.get("error"))
        elif kind != "content_block_stop":
            return Fed.KEEP_ALIVE  # ping, and event types newer than this code
        return Fed.PROGRESS

    def _usage(self, usage: object) -> None:
        """Counts are cumulative: a later event's number replaces the earlier one."""
        if not isinstance(usage, dict):
            return
        for name in _INPUT_FIELDS:
            if name in usage:
                self._input[name] = count(usage[name])
        if "output_tokens" in usage:
            self._output = count(usage["output_tokens"])

    def _start(self, data: dict[str, object]) -> None:
        index, block = data.get("index"), data.get("content_block")
        if not isinstance(index, int) or not isinstance(block, dict):
            return
        kind = str(block.get("type") or "")
        self._blocks[index] = _Block(
            kind=kind,
            id=str(block.get("id") or ""),
            name=str(block.get("name") or ""),
            start_input=block.get("input"),
        )
        if kind == "text":
            self._emit(block.get("text"))

    def _delta(self, data: dict[str, object]) -> None:
        index, delta = data.get("index"), data.get("delta")
        if not isinstance(delta, dict):
            return
        kind = delta.get("type")
        if kind == "text_delta":
            self._emit(delta.get("text"))
        elif kind == "input_json_delta" and isinstance(index, int):
            block = self._blocks.setdefault(index, _Block(kind="tool_use"))
            partial = delta.get("partial_json")
            if isinstance(partial, str):
                block.parts.append(partial)

    def _emit(self, text: object) -> None:
        if isinstance(text, str) and text:
            self._text.append(text)
            self._on_text(text)

    def result(self) -> TurnResult:
        calls = []
        for _, block in sorted(self._blocks.items()):
            if block.kind != "tool_use":
                continue
            arguments = "".join(block.parts)
            if not arguments.strip():
                # No deltas: the input came whole at the start (or is empty).
                start = block.start_input
                arguments = json.dumps(start) if isinstance(start, dict) and start else "{}"
            calls.append(ToolCall(id=block.id, name=block.name, arguments=arguments))
        stop = self._stop or ("tool_use" if calls else "end_turn")
        return TurnResult(
            text="".join(self._text),
            tool_calls=calls,
            usage=Usage(input_tokens=sum(self._input.values()), output_tokens=self._output),
            stop_reason=stop,
        )


def _stream_error(error: object) -> Exception:
    kind, message = "error", ""
    if isinstance(error, dict):
        kind = str(error.get("type") or kind)
        message = shorten(str(error.get("message") or ""))
    said = f"{kind} ({message})" if message else kind
    if kind in _TRANSIENT:
        return RetryableError(f"the model server reported {said} mid-answer")
    return ProviderError(f"the model server reported an error: {said}")
