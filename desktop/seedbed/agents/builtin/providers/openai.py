"""OpenAI-compatible Chat Completions, streamed: one provider for OpenAI, OpenRouter, Ollama,
LM Studio, vLLM and llama.cpp's server, whatever the base URL (`https://api.openai.com/v1`,
`http://127.0.0.1:11434/v1`, ...).

The output cap goes out as `max_completion_tokens` to OpenAI itself (api.openai.com and
Azure OpenAI), whose reasoning models refuse the deprecated `max_tokens`, and as
`max_tokens` everywhere else, because that is the field every compatible server knows
(several local ones know no other).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from httpx_sse import ServerSentEvent

from seedbed.agents.builtin.providers.http import (
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

DONE = "[DONE]"
_STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
}
# In-stream errors that a later attempt may not meet.
_TRANSIENT = {"server_error", "rate_limit_exceeded", "overloaded_error", "timeout"}


class OpenAIProvider(HttpProvider):
    """The Chat Completions API (`POST {base_url}/chat/completions`)."""

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
            chat_url(self.config.base_url), headers, body, lambda: ChatStream(on_text), on_retry
        )


def chat_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    return join_url(base, "chat/completions")


def max_tokens_field(base_url: str) -> str:
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "api.openai.com" or host.endswith(".openai.azure.com"):
        return "max_completion_tokens"
    return "max_tokens"


def request_headers(config: ProviderConfig) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if config.api_key is not None:
        headers["authorization"] = f"Bearer {header_secret(config.api_key)}"
    return headers


def request_body(
    config: ProviderConfig, system: str, messages: list[Message], tools: list[ToolSpec]
) -> dict[str, object]:
    body: dict[str, object] = {
        "model": config.model,
        "messages": to_wire_messages(system, messages),
        "stream": True,
        "stream_options": {"include_usage": True},
        max_tokens_field(config.base_url): config.max_output_tokens,
    }
    if tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                },
            }
            for tool in tools
        ]
    return body


def to_wire_messages(system: str, messages: list[Message]) -> list[dict[str, object]]:
    wire: list[dict[str, object]] = []
    if system:
        wire.append({"role": "system", "content": system})
    for message in messages:
        if message.role == "user":
            wire.append({"role": "user", "content": message.text})
        elif message.role == "assistant":
            entry: dict[str, object] = {"role": "assistant", "content": message.text or None}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments or "{}"},
                    }
                    for call in message.tool_calls
                ]
            elif not message.text:
                entry["content"] = ""
            wire.append(entry)
        else:
            wire.append(
                {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.text}
            )
    return wire


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChatStream:
    """Reads one streamed chat completion: text deltas, tool-call fragments, usage."""

    final_event = DONE

    def __init__(self, on_text: TextSink) -> None:
        self._on_text = on_text
        self._text: list[str] = []
        self._calls: dict[int, _PartialCall] = {}
        self._finish = ""
        self._usage = Usage()

    def feed(self, event: ServerSentEvent) -> bool:
        data = event.data.strip()
        if data == DONE:
            return True
        if not data:
            return False
        chunk = load_chunk(data)
        error = chunk.get("error")
        if error or event.event == "error":
            raise _stream_error(error if error else chunk)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = Usage(
                input_tokens=count(usage.get("prompt_tokens")),
                output_tokens=count(usage.get("completion_tokens")),
            )
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice)
        return False

    def _choice(self, choice: dict[str, object]) -> None:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            content = delta.get("content")
            if isinstance(content, str) and content:
                self._text.append(content)
                self._on_text(content)
            fragments = delta.get("tool_calls")
            for fragment in fragments if isinstance(fragments, list) else ():
                if isinstance(fragment, dict):
                    self._fragment(fragment)
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            self._finish = finish

    def _fragment(self, fragment: dict[str, object]) -> None:
        call_id = fragment.get("id")
        index = fragment.get("index")
        if not isinstance(index, int):
            # Servers that leave out the index send each call whole, or go on with the last.
            known = any(call.id == call_id for call in self._calls.values())
            new = not self._calls or (isinstance(call_id, str) and call_id and not known)
            index = len(self._calls) if new else max(self._calls)
        call = self._calls.setdefault(index, _PartialCall())
        if isinstance(call_id, str) and call_id and not call.id:
            call.id = call_id
        function = fragment.get("function")
        if not isinstance(function, dict):
            return
        name = function.get("name")
        if isinstance(name, str) and name and not call.name:
            call.name = name
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            call.arguments.append(arguments)
        elif isinstance(arguments, dict):
            call.arguments.append(json.dumps(arguments))

    def result(self) -> TurnResult:
        calls = [
            ToolCall(
                id=call.id or f"call_{uuid.uuid4().hex[:12]}",
                name=call.name,
                arguments="".join(call.arguments) or "{}",
            )
            for _, call in sorted(self._calls.items())
            if call.name or call.arguments
        ]
        stop = _STOP_REASONS.get(self._finish, self._finish)
        if calls and stop in ("", "end_turn"):  # some servers say "stop" after tool calls
            stop = "tool_use"
        return TurnResult(
            text="".join(self._text),
            tool_calls=calls,
            usage=self._usage,
            stop_reason=stop or "end_turn",
        )


def _stream_error(error: object) -> Exception:
    """An error sent inside the stream: transient ones are retried."""
    if isinstance(error, dict):
        kind = str(error.get("type") or error.get("code") or "error")
        message = str(error.get("message") or "")
    else:
        kind, message = "error", str(error)
    message = shorten(message)
    said = f"{kind} ({message})" if message else kind
    code = error.get("code") if isinstance(error, dict) else None
    if kind in _TRANSIENT or (isinstance(code, int) and (code >= 500 or code in (408, 429))):
        return RetryableError(f"the model server reported {said} mid-answer")
    return ProviderError(f"the model server reported an error: {said}")
