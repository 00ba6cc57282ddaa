"""OpenAI-compatible Chat Completions, streamed: one provider for OpenAI, OpenRouter, Ollama,
LM Studio, vLLM and llama.cpp's server, whatever the base URL (`https://api.openai.com/v1`,
`http://127.0.0.1:11434/v1`, ...).

The output cap goes out as `max_completion_tokens` to OpenAI itself (api.openai.com and
Azure OpenAI), whose reasoning models refuse the deprecated `max_tokens`, and as
`max_tokens` everywhere else, because that is the field every compatible server knows
(several local ones know no other).

A chunk is progress (it moves the read deadline) when it carries text (reasoning text
too: `reasoning_content` / `reasoning`, which reasoning models stream for minutes before
any answer), a tool-call fragment, usage or a finish reason; anything else (an empty delta,
the role alone, a data-less event) is a keep-alive.

Tool calls are keyed by their `index`. Some servers give every parallel call index 0 and
tell them apart by id alone: a fragment whose id differs from the one already held at its
index, once that call has a name, starts a new call.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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

DONE = "[DONE]"
_STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
}
# Delta fields with the text of a reasoning model's thinking (not part of the answer).
_REASONING_FIELDS = ("reasoning_content", "reasoning")
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
    order: int  # the wire's index, or for servers that send none, the call's position
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChatStream:
    """Reads one streamed chat completion: text deltas, tool-call fragments, usage."""

    final_event = DONE

    def __init__(self, on_text: TextSink) -> None:
        self._on_text = on_text
        self._text: list[str] = []
        self._calls: list[_PartialCall] = []  # in the order they began
        self._at_index: dict[int, _PartialCall] = {}  # the call each wire index now means
        self._finish = ""
        self._usage = Usage()

    def feed(self, event: ServerSentEvent) -> Fed:
        data = event.data.strip()
        if data == DONE:
            return Fed.FINAL
        if not data:
            return Fed.KEEP_ALIVE
        chunk = load_chunk(data)
        error = chunk.get("error")
        if error or event.event == "error":
            raise _stream_error(error if error else chunk)
        progress = False
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            progress = True
            self._usage = Usage(
                input_tokens=count(usage.get("prompt_tokens")),
                output_tokens=count(usage.get("completion_tokens")),
            )
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                progress = self._choice(choice) or progress
        return Fed.PROGRESS if progress else Fed.KEEP_ALIVE

    def _choice(self, choice: dict[str, object]) -> bool:
        """Take one choice's delta; True when it carried anything (see the module doc)."""
        progress = False
        delta = choice.get("delta")
        if isinstance(delta, dict):
            content = delta.get("content")
            if isinstance(content, str) and content:
                progress = True
                self._text.append(content)
                self._on_text(content)
            if any(isinstance(delta.get(name), str) and delta[name] for name in _REASONING_FIELDS):
                progress = True
            fragments = delta.get("tool_calls")
            for fragment in fragments if isinstance(fragments, list) else ():
                if isinstance(fragment, dict):
                    progress = True
                    self._fragment(fragment)
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            progress = True
            self._finish = finish
        return progress

    def _fragment(self, fragment: dict[str, object]) -> None:
        raw_id = fragment.get("id")
        call_id = raw_id if isinstance(raw_id, str) else ""
        index = fragment.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            call = self._at_index.get(index)
            if call is None or (call_id and call.id and call.name and call_id != call.id):
                # A new index, or a new call at an index in use (see the module doc).
                call = self._at_index[index] = self._begin(index)
        elif not self._calls or (call_id and all(call.id != call_id for call in self._calls)):
            # Servers that leave out the index send each call whole, or go on with the last.
            call = self._begin(len(self._calls))
        else:
            call = self._calls[-1]
        if call_id and not call.id:
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

    def _begin(self, order: int) -> _PartialCall:
        call = _PartialCall(order)
        self._calls.append(call)
        return call

    def result(self) -> TurnResult:
        calls = [
            ToolCall(
                id=call.id or f"call_{uuid.uuid4().hex[:12]}",
                name=call.name,
                arguments="".join(call.arguments) or "{}",
            )
            for call in sorted(self._calls, key=lambda call: call.order)  # stable
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
