"""Both providers against a real HTTP server on loopback: streaming, tool calls split
anywhere, usage, request shape, and every failure the retry policy has to survive."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx_sse import ServerSentEvent
from pydantic import SecretStr

from seedbed.agents.builtin.providers import (
    AnthropicProvider,
    OpenAIProvider,
    http,
    make_provider,
    provider_for,
)
from seedbed.agents.builtin.providers import anthropic as anthropic_wire
from seedbed.agents.builtin.providers import openai as openai_wire
from seedbed.agents.builtin.types import (
    Message,
    Provider,
    ProviderConfig,
    ProviderError,
    ToolCall,
    ToolSpec,
    TurnResult,
)
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, AgentProfile, ProviderKind
from tests.model_server import (
    ModelServer,
    RawStream,
    answer,
    anthropic_answer,
    anthropic_events,
    hang,
    http_error,
    openai_answer,
)

FAKE_KEY = "sk-test-NEVER-SHOW-ME-8c1d2e3f4a5b"
WIRES = ["openai", "anthropic"]
WRITE_FILE = ToolSpec(
    name="write_file",
    description="Write a file in the worktree.",
    parameters={
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
)


@dataclass
class Outcome:
    result: TurnResult | None
    error: ProviderError | None
    texts: list[str] = field(default_factory=list)
    retries: list[tuple[int, str, float]] = field(default_factory=list)
    seconds: float = 0.0


def provider_on(wire: str, server: ModelServer | str, **overrides: Any) -> Provider:
    url = server if isinstance(server, str) else server.url
    settings: dict[str, Any] = {
        "base_url": url + "/v1" if wire == "openai" else url,
        "model": "test-model",
        "api_key": SecretStr(FAKE_KEY),
        "max_tries": 3,
        "backoff_base": 0.01,
        "backoff_max": 5.0,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        **overrides,
    }
    return make_provider(ProviderKind(wire), ProviderConfig(**settings))


def run(
    provider: Provider,
    messages: list[Message] | None = None,
    tools: list[ToolSpec] | None = None,
    system: str = "You are a test.",
) -> Outcome:
    outcome = Outcome(None, None)

    async def go() -> TurnResult:
        try:
            return await provider.turn(
                system,
                messages or [Message(role="user", text="hello")],
                tools or [],
                outcome.texts.append,
                lambda *retry: outcome.retries.append(retry),
            )
        finally:
            await provider.aclose()

    started = time.monotonic()
    try:
        outcome.result = asyncio.run(go())
    except ProviderError as exc:
        outcome.error = exc
        assert FAKE_KEY not in str(exc) and FAKE_KEY not in repr(exc)
    outcome.seconds = time.monotonic() - started
    for _, reason, _ in outcome.retries:
        assert FAKE_KEY not in reason
    return outcome


def ok(outcome: Outcome) -> TurnResult:
    assert outcome.error is None, f"unexpected failure: {outcome.error}"
    assert outcome.result is not None
    return outcome.result


def failed(outcome: Outcome) -> str:
    assert outcome.error is not None, f"expected a failure, got {outcome.result}"
    return str(outcome.error)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sse_data(payload: object) -> bytes:
    """One data-only SSE event."""
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def openai_chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return sse_data({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


# Streaming


@pytest.mark.parametrize("wire", WIRES)
def test_text_arrives_in_deltas_in_order(model_server: ModelServer, wire: str) -> None:
    pieces = ["Hel", "lo, ", "wörld ", "— ", "naïve ", "日本", "語 ", '"quoted"\n', "done."]
    model_server.script(answer(pieces, split_every=3))  # cuts inside UTF-8 characters too

    result = ok(run(provider_on(wire, model_server)))

    assert result.text == "".join(pieces)
    assert result.tool_calls == []
    assert result.stop_reason == "end_turn"


@pytest.mark.parametrize("wire", WIRES)
def test_on_text_gets_each_delta(model_server: ModelServer, wire: str) -> None:
    pieces = [f"piece {n}; " for n in range(20)]
    model_server.script(answer(pieces))

    outcome = run(provider_on(wire, model_server))

    assert outcome.texts == pieces
    assert ok(outcome).text == "".join(pieces)


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("split_every", [1, 7, 13])
def test_tool_call_split_anywhere_is_assembled_exactly(
    model_server: ModelServer, wire: str, split_every: int
) -> None:
    arguments = {"path": "src/a b.py", "content": 'print("hi")\n\tx = {"k": [1, 2]}\n# é ✓'}
    call = ("call_1", "write_file", arguments)
    model_server.script(answer(tool_calls=[call], arg_split=3, split_every=split_every))

    result = ok(run(provider_on(wire, model_server), tools=[WRITE_FILE]))

    assert len(result.tool_calls) == 1
    got = result.tool_calls[0]
    assert (got.id, got.name) == ("call_1", "write_file")
    assert got.arguments == json.dumps(arguments)
    assert result.stop_reason == "tool_use"


@pytest.mark.parametrize("wire", WIRES)
def test_two_tool_calls_and_text_in_one_answer(model_server: ModelServer, wire: str) -> None:
    calls = [
        ("call_a", "write_file", {"path": "a.txt", "content": "A" * 40}),
        ("call_b", "run_command", {"command": "ls -la && echo 'done'"}),
    ]
    model_server.script(answer(["I will ", "write."], tool_calls=calls, split_every=5))

    result = ok(run(provider_on(wire, model_server)))

    assert result.text == "I will write."
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == calls


@pytest.mark.parametrize("wire", WIRES)
def test_empty_tool_arguments_mean_an_empty_object(model_server: ModelServer, wire: str) -> None:
    model_server.script(answer(tool_calls=[("call_1", "list_files", "")]))

    result = ok(run(provider_on(wire, model_server)))

    assert result.tool_calls == [ToolCall(id="call_1", name="list_files", arguments="{}")]


@pytest.mark.parametrize("wire", WIRES)
def test_usage_is_read_from_the_stream(model_server: ModelServer, wire: str) -> None:
    model_server.script(answer("hi", usage=(1234, 56)))

    usage = ok(run(provider_on(wire, model_server))).usage

    assert (usage.input_tokens, usage.output_tokens) == (1234, 56)


def test_anthropic_cache_tokens_count_as_input(model_server: ModelServer) -> None:
    model_server.script(anthropic_answer("hi", usage=(100, 7), cache_tokens=(20, 300)))

    usage = ok(run(provider_on("anthropic", model_server))).usage

    assert (usage.input_tokens, usage.output_tokens) == (420, 7)


def test_openai_server_without_usage_leaves_it_zero(model_server: ModelServer) -> None:
    model_server.script(openai_answer("hi", usage=None))

    usage = ok(run(provider_on("openai", model_server))).usage

    assert (usage.input_tokens, usage.output_tokens) == (0, 0)


@pytest.mark.parametrize("wire", WIRES)
def test_one_answer_script_serves_either_provider(model_server: ModelServer, wire: str) -> None:
    shared = answer("same", tool_calls=[("call_9", "search", {"pattern": "x"})])
    model_server.script(shared, shared)

    first = ok(run(provider_on(wire, model_server)))
    other = "anthropic" if wire == "openai" else "openai"
    second = ok(run(provider_on(other, model_server)))

    assert first == second


def test_openai_stop_after_tool_calls_reads_as_tool_use(model_server: ModelServer) -> None:
    model_server.script(openai_answer(tool_calls=[("c", "list_files", {})], stop_reason="stop"))

    assert ok(run(provider_on("openai", model_server))).stop_reason == "tool_use"


def test_openai_length_reads_as_max_tokens(model_server: ModelServer) -> None:
    model_server.script(openai_answer("cut sh", stop_reason="length"))

    assert ok(run(provider_on("openai", model_server))).stop_reason == "max_tokens"


def test_anthropic_stream_without_event_lines_is_read(model_server: ModelServer) -> None:
    # httpx-sse names an event without an `event:` line "message": the JSON's type decides.
    spec = anthropic_answer(["Hel", "lo"], tool_calls=[("call_1", "list_files", {"path": "."})])
    events = [re.sub(rb"^event: [^\n]*\n", b"", event) for event in anthropic_events(spec, "m")]
    assert not any(b"event:" in event for event in events)
    model_server.script(RawStream(events))

    outcome = run(provider_on("anthropic", model_server))

    result = ok(outcome)
    assert result.text == "Hello"
    assert result.tool_calls == [
        ToolCall(id="call_1", name="list_files", arguments='{"path": "."}')
    ]
    assert result.stop_reason == "tool_use"
    assert outcome.retries == []


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "in-one-chunk"])
def test_openai_parallel_calls_all_at_index_0_stay_apart(
    model_server: ModelServer, together: bool
) -> None:
    # Some compatible servers number every parallel call 0 and tell them apart by id.
    def first(call_id: str, name: str, arguments: str) -> dict[str, Any]:
        function = {"name": name, "arguments": arguments}
        return {"index": 0, "id": call_id, "type": "function", "function": function}

    def more(arguments: str) -> dict[str, Any]:
        return {"index": 0, "function": {"arguments": arguments}}

    if together:
        deltas = [
            [first("call_a", "write_file", '{"path": "a", "content": "A"}')],
            [first("call_b", "list_files", "{}"), first("call_c", "search", '{"pattern": "x"}')],
        ]
    else:
        deltas = [
            [first("call_a", "write_file", "")],
            [more('{"path": "a", ')],
            [more('"content": "A"}')],
            [first("call_b", "list_files", "")],
            [more("{}")],
            [{**first("call_c", "search", '{"pattern"'), "type": "function"}],
            [{"index": 0, "id": "call_c", "function": {"arguments": ': "x"}'}}],  # same id again
        ]
    chunks = [openai_chunk({"role": "assistant", "content": ""})]
    chunks += [openai_chunk({"tool_calls": fragments}) for fragments in deltas]
    chunks += [openai_chunk({}, "tool_calls"), b"data: [DONE]\n\n"]
    model_server.script(RawStream(chunks))

    result = ok(run(provider_on("openai", model_server)))

    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("call_a", "write_file", {"path": "a", "content": "A"}),
        ("call_b", "list_files", {}),
        ("call_c", "search", {"pattern": "x"}),
    ]


# The request


CONVERSATION = [
    Message(role="user", text="Write a.txt"),
    Message(
        role="assistant",
        text="Writing.",
        tool_calls=[
            ToolCall(id="call_1", name="write_file", arguments='{"path": "a.txt", "content": "x"}'),
            ToolCall(id="call_2", name="list_files", arguments=""),
        ],
    ),
    Message(role="tool", tool_call_id="call_1", tool_name="write_file", text="wrote 1 byte"),
    Message(role="tool", tool_call_id="call_2", tool_name="list_files", text="no", is_error=True),
    Message(role="user", text="Thanks"),
]


def test_openai_request_body_and_headers(model_server: ModelServer) -> None:
    model_server.script(openai_answer("ok"))

    ok(run(provider_on("openai", model_server), CONVERSATION, [WRITE_FILE], system="SYS"))

    [request] = model_server.posts
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "text/event-stream"
    body = request.body
    assert body["model"] == "test-model"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 8192
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "write_file",
                "description": WRITE_FILE.description,
                "parameters": WRITE_FILE.parameters,
            },
        }
    ]
    assert body["messages"] == [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "Write a.txt"},
        {
            "role": "assistant",
            "content": "Writing.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "write_file",
                        "arguments": '{"path": "a.txt", "content": "x"}',
                    },
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "list_files", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "wrote 1 byte"},
        {"role": "tool", "tool_call_id": "call_2", "content": "no"},
        {"role": "user", "content": "Thanks"},
    ]


def test_anthropic_request_body_and_headers(model_server: ModelServer) -> None:
    model_server.script(anthropic_answer("ok"))

    ok(run(provider_on("anthropic", model_server), CONVERSATION, [WRITE_FILE], system="SYS"))

    [request] = model_server.posts
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == FAKE_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    body = request.body
    assert body["model"] == "test-model"
    assert body["stream"] is True
    assert body["max_tokens"] == 8192
    assert body["system"] == "SYS"
    assert body["tools"] == [
        {
            "name": "write_file",
            "description": WRITE_FILE.description,
            "input_schema": WRITE_FILE.parameters,
        }
    ]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Write a.txt"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Writing."},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "write_file",
                    "input": {"path": "a.txt", "content": "x"},
                },
                {"type": "tool_use", "id": "call_2", "name": "list_files", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "call_1",
                    "is_error": False,
                    "content": "wrote 1 byte",
                },
                {"type": "tool_result", "tool_use_id": "call_2", "is_error": True, "content": "no"},
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]


@pytest.mark.parametrize("wire", WIRES)
def test_no_key_no_auth_header_and_no_empty_tools(model_server: ModelServer, wire: str) -> None:
    model_server.script(answer("ok"))

    ok(run(provider_on(wire, model_server, api_key=None), system=""))

    [request] = model_server.posts
    assert "authorization" not in request.headers
    assert "x-api-key" not in request.headers
    assert "tools" not in request.body
    assert "system" not in request.body
    assert request.body["messages"][0]["role"] == "user"


def test_anthropic_merges_consecutive_turns_of_one_role() -> None:
    messages = [
        Message(role="user", text="one"),
        Message(role="user", text="two"),
        Message(role="assistant", text=""),  # nothing to send: dropped
        Message(role="user", text="three"),
    ]

    assert anthropic_wire.to_wire_messages(messages) == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "one"},
                {"type": "text", "text": "two"},
                {"type": "text", "text": "three"},
            ],
        }
    ]


def test_urls_join_without_doubled_slashes() -> None:
    assert openai_wire.chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert openai_wire.chat_url("https://api.openai.com/v1") == (
        "https://api.openai.com/v1/chat/completions"
    )
    assert anthropic_wire.messages_url("https://api.anthropic.com/") == (
        "https://api.anthropic.com/v1/messages"
    )
    assert anthropic_wire.messages_url("https://api.anthropic.com/v1") == (
        "https://api.anthropic.com/v1/messages"
    )


def test_max_tokens_field_depends_on_the_server() -> None:
    assert openai_wire.max_tokens_field("https://api.openai.com/v1") == "max_completion_tokens"
    assert openai_wire.max_tokens_field("https://x.openai.azure.com/openai") == (
        "max_completion_tokens"
    )
    assert openai_wire.max_tokens_field("http://127.0.0.1:11434/v1") == "max_tokens"
    assert openai_wire.max_tokens_field("https://openrouter.ai/api/v1") == "max_tokens"


# Retries


@pytest.mark.parametrize("wire", WIRES)
def test_429_with_retry_after_is_honoured(model_server: ModelServer, wire: str) -> None:
    model_server.script(
        http_error(429, "slow down", headers={"retry-after": "1"}),
        answer("after the wait"),
    )

    outcome = run(provider_on(wire, model_server))

    assert ok(outcome).text == "after the wait"
    first, second = model_server.posts
    assert second.at - first.at >= 0.95
    [(attempt, reason, delay)] = outcome.retries
    assert (attempt, delay) == (1, 1.0)
    assert "429 Too Many Requests" in reason and "slow down" in reason


@pytest.mark.parametrize("wire", WIRES)
def test_500_then_success(model_server: ModelServer, wire: str) -> None:
    model_server.script(http_error(500, "boom"), answer("fine"))

    outcome = run(provider_on(wire, model_server))

    assert ok(outcome).text == "fine"
    assert len(model_server.posts) == 2
    assert [retry[:2] for retry in outcome.retries] == [(1, "500 Internal Server Error (boom)")]


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("cut", ["abort", "end"])
def test_stream_cut_half_way_is_retried(model_server: ModelServer, wire: str, cut: str) -> None:
    call = [("call_1", "write_file", {"path": "a", "content": "x" * 50})]
    model_server.script(
        answer(["partial ", "text"], tool_calls=call, cut=cut, split_every=11),
        answer(["whole ", "text"], tool_calls=call),
    )

    outcome = run(provider_on(wire, model_server))

    result = ok(outcome)
    assert result.text == "whole text"
    assert json.loads(result.tool_calls[0].arguments)["content"] == "x" * 50
    [(attempt, reason, _)] = outcome.retries
    assert attempt == 1
    if cut == "abort":
        assert "closed the connection mid-answer" in reason
    else:
        assert "ended before its final event" in reason


@pytest.mark.parametrize("wire", WIRES)
def test_malformed_chunk_is_retried(model_server: ModelServer, wire: str) -> None:
    model_server.script(answer(["a", "b", "c", "d"], malformed=True), answer("clean"))

    outcome = run(provider_on(wire, model_server))

    assert ok(outcome).text == "clean"
    [(_, reason, _)] = outcome.retries
    assert "malformed chunk" in reason


@pytest.mark.parametrize("wire", WIRES)
def test_tries_run_out_with_a_clear_reason(model_server: ModelServer, wire: str) -> None:
    model_server.script(*[http_error(503, "busy") for _ in range(3)], answer("never"))

    outcome = run(provider_on(wire, model_server, max_tries=3))

    message = failed(outcome)
    assert message == (
        "the model server kept failing after 3 tries; last: 503 Service Unavailable (busy)"
    )
    assert len(model_server.posts) == 3
    assert [attempt for attempt, _, _ in outcome.retries] == [1, 2]
    assert model_server.pending == 1


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_fails_at_once(model_server: ModelServer, wire: str, status: int) -> None:
    # A server that echoes the key back must not get it into our message either.
    model_server.script(http_error(status, f"Incorrect API key provided: {FAKE_KEY}"))

    outcome = run(provider_on(wire, model_server))

    message = failed(outcome)
    assert message.startswith("the API key was refused")
    assert str(status) in message
    assert outcome.retries == []
    assert len(model_server.posts) == 1


@pytest.mark.parametrize("wire", WIRES)
def test_missing_key_is_named_as_such(model_server: ModelServer, wire: str) -> None:
    model_server.script(http_error(401, "no key"))

    message = failed(run(provider_on(wire, model_server, api_key=None)))

    assert message.startswith("the model server wants an API key and none is set")


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize(
    ("status", "words"),
    [(400, "refused the request"), (404, "check the base URL"), (422, "refused the request")],
)
def test_client_errors_are_not_retried(
    model_server: ModelServer, wire: str, status: int, words: str
) -> None:
    model_server.script(http_error(status, "model 'nope' does not exist\n  details"))

    outcome = run(provider_on(wire, model_server))

    message = failed(outcome)
    assert words in message
    assert "model 'nope' does not exist details" in message
    assert outcome.retries == []


def test_quota_429_is_not_retried(model_server: ModelServer) -> None:
    body = {"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}}
    model_server.script(http_error(429, body=body))

    outcome = run(provider_on("openai", model_server))

    assert failed(outcome).startswith("the account has no quota left")
    assert outcome.retries == []


@pytest.mark.parametrize("wire", WIRES)
def test_silent_server_times_out_and_is_retried(model_server: ModelServer, wire: str) -> None:
    model_server.script(hang(), answer("awake"))

    outcome = run(provider_on(wire, model_server, read_timeout=0.5))

    assert ok(outcome).text == "awake"
    [(_, reason, _)] = outcome.retries
    assert reason == "no data from the model server for 0.5 s"


@pytest.mark.parametrize("wire", WIRES)
def test_silent_server_fails_without_hanging(model_server: ModelServer, wire: str) -> None:
    model_server.script(hang(), hang(), answer("never"))

    outcome = run(provider_on(wire, model_server, read_timeout=0.5, max_tries=2))

    assert failed(outcome) == (
        "the model server kept failing after 2 tries; last: no data from the model server for 0.5 s"
    )
    assert outcome.seconds < 3


@pytest.mark.parametrize("wire", WIRES)
def test_stream_stalling_mid_answer_is_retried(model_server: ModelServer, wire: str) -> None:
    model_server.script(answer(["a", "b", "c"], cut="stall"), answer("resumed"))

    outcome = run(provider_on(wire, model_server, read_timeout=0.5))

    assert ok(outcome).text == "resumed"
    assert "no data from the model server" in outcome.retries[0][1]


def test_comment_trickle_counts_as_no_data(model_server: ModelServer) -> None:
    # Keep-alive comments reset httpx's read timeout, never the wait for an event.
    model_server.script(RawStream([b": keep-alive\n\n"] * 100, chunk_delay=0.1))

    outcome = run(provider_on("openai", model_server, read_timeout=0.5, max_tries=1))

    assert "no data from the model server for 0.5 s" in failed(outcome)


def keep_alive_stream(wire: str, count: int) -> RawStream:
    """An answer that starts, then sends only keep-alives, one every 0.1 s."""
    if wire == "anthropic":
        start = {"type": "message_start", "message": {"usage": {"input_tokens": 3}}}
        chunks = [b"event: message_start\n" + sse_data(start)]
        pings = [b"event: ping\n" + sse_data({"type": "ping"}), sse_data({"type": "ping"})]
    else:
        chunks = [openai_chunk({"role": "assistant", "content": ""})]
        pings = [openai_chunk({}), openai_chunk({"content": ""}), b"id: 7\n\n"]
    chunks += [pings[n % len(pings)] for n in range(count)]
    return RawStream(chunks, chunk_delay=0.1)


@pytest.mark.parametrize("wire", WIRES)
def test_keep_alives_alone_count_as_a_dropped_stream(model_server: ModelServer, wire: str) -> None:
    # 5 s of keep-alives: without the read deadline this would run until they stop.
    model_server.script(keep_alive_stream(wire, 50), answer("awake"))

    outcome = run(provider_on(wire, model_server, read_timeout=0.5))

    assert ok(outcome).text == "awake"
    [(attempt, reason, _)] = outcome.retries
    assert (attempt, reason) == (1, "the model server sent only keep-alives for 0.5 s")
    assert outcome.seconds < 1.5


@pytest.mark.parametrize("wire", WIRES)
def test_keep_alives_alone_fail_without_hanging(model_server: ModelServer, wire: str) -> None:
    model_server.script(keep_alive_stream(wire, 50), keep_alive_stream(wire, 50))

    outcome = run(provider_on(wire, model_server, read_timeout=0.5, max_tries=2))

    assert failed(outcome) == (
        "the model server kept failing after 2 tries; "
        "last: the model server sent only keep-alives for 0.5 s"
    )
    assert outcome.seconds < 2.5


@pytest.mark.parametrize("wire", WIRES)
def test_slow_answer_that_keeps_coming_is_not_cut(model_server: ModelServer, wire: str) -> None:
    # An event every 0.1 s (text, or a ping between progress) for twice read_timeout.
    pieces = [f"w{n} " for n in range(8)]
    model_server.script(answer(pieces, chunk_delay=0.1))

    outcome = run(provider_on(wire, model_server, read_timeout=0.5))

    assert ok(outcome).text == "".join(pieces)
    assert outcome.retries == []
    assert outcome.seconds > 1.0


@pytest.mark.parametrize("wire", WIRES)
def test_an_answer_taking_too_long_is_cut_and_retried(model_server: ModelServer, wire: str) -> None:
    # Steady progress for 5 s, but a call may take at most max_call_seconds.
    model_server.script(answer([f"t{n} " for n in range(50)], chunk_delay=0.1), answer("quick"))

    outcome = run(provider_on(wire, model_server, read_timeout=5.0, max_call_seconds=0.5))

    assert ok(outcome).text == "quick"
    [(attempt, reason, _)] = outcome.retries
    assert (attempt, reason) == (1, "the answer took longer than 0.5 s")
    assert outcome.seconds < 1.5


def test_an_answer_taking_too_long_fails_for_good(model_server: ModelServer) -> None:
    model_server.script(answer([f"t{n} " for n in range(50)], chunk_delay=0.1))

    outcome = run(provider_on("openai", model_server, max_call_seconds=0.5, max_tries=1))

    assert failed(outcome) == "the model server failed: the answer took longer than 0.5 s"
    assert outcome.seconds < 1.5


@pytest.mark.parametrize("wire", WIRES)
def test_refused_connection_is_retried_then_fails(wire: str) -> None:
    port = closed_port()

    outcome = run(provider_on(wire, f"http://127.0.0.1:{port}", max_tries=3))

    message = failed(outcome)
    assert message.startswith(
        f"the model server kept failing after 3 tries; last: could not connect to 127.0.0.1:{port}"
    )
    assert [attempt for attempt, _, _ in outcome.retries] == [1, 2]


def test_anthropic_overloaded_event_is_retried(model_server: ModelServer) -> None:
    model_server.script(
        anthropic_answer("x", error_event=("overloaded_error", "Overloaded")),
        anthropic_answer("y"),
    )

    outcome = run(provider_on("anthropic", model_server))

    assert ok(outcome).text == "y"
    assert "overloaded_error (Overloaded)" in outcome.retries[0][1]


@pytest.mark.parametrize("wire", WIRES)
def test_invalid_request_error_event_fails_at_once(model_server: ModelServer, wire: str) -> None:
    model_server.script(answer("x", error_event=("invalid_request_error", "too long")))

    outcome = run(provider_on(wire, model_server))

    assert failed(outcome) == (
        "the model server reported an error: invalid_request_error (too long)"
    )
    assert outcome.retries == []


@pytest.mark.parametrize("wire", WIRES)
def test_answer_that_is_not_a_stream_is_refused(model_server: ModelServer, wire: str) -> None:
    model_server.script(RawStream([b'{"choices": []}'], content_type="application/json"))

    outcome = run(provider_on(wire, model_server))

    assert "did not stream its answer (content-type application/json)" in failed(outcome)
    assert outcome.retries == []


@pytest.mark.parametrize("wire", WIRES)
def test_key_a_header_cannot_carry_is_refused_unshown(model_server: ModelServer, wire: str) -> None:
    key = SecretStr(FAKE_KEY[:10] + "\n" + FAKE_KEY[10:])

    outcome = run(provider_on(wire, model_server, api_key=key))

    message = failed(outcome)
    assert "cannot carry" in message
    assert FAKE_KEY[:10] not in message and FAKE_KEY[10:] not in message
    assert model_server.posts == []


@pytest.mark.parametrize("wire", WIRES)
def test_empty_script_fails_loudly(model_server: ModelServer, wire: str) -> None:
    message = failed(run(provider_on(wire, model_server, max_tries=1)))

    assert "the script is empty" in message


@pytest.mark.parametrize("wire", WIRES)
def test_a_key_echoed_by_the_server_is_scrubbed(model_server: ModelServer, wire: str) -> None:
    key = "local-secret-0123456789"  # not shaped like sk-…: only the scrub can catch it
    model_server.script(http_error(400, f"bad header {key}"), http_error(500, f"oops {key}"))

    for _ in range(2):
        outcome = run(provider_on(wire, model_server, api_key=SecretStr(key), max_tries=1))
        message = failed(outcome)
        assert key not in message and key not in repr(outcome.error)
        assert "[key]" in message


@pytest.mark.parametrize("wire", WIRES)
def test_turns_reuse_one_connection(model_server: ModelServer, wire: str) -> None:
    model_server.script(answer("one"), answer("two"))
    provider = provider_on(wire, model_server)

    async def two_turns() -> list[str]:
        async with provider:
            texts = []
            for _ in range(2):
                result = await provider.turn(
                    "", [Message(role="user", text="hi")], [], lambda _: None, lambda *_: None
                )
                texts.append(result.text)
            return texts

    assert asyncio.run(two_turns()) == ["one", "two"]
    first, second = model_server.posts
    assert first.client_port == second.client_port


@pytest.mark.parametrize("wire", WIRES)
def test_cancel_stops_the_stream_at_once(model_server: ModelServer, wire: str) -> None:
    model_server.script(answer([f"t{n} " for n in range(100)], chunk_delay=0.1))
    provider = provider_on(wire, model_server)
    texts: list[str] = []

    async def cancel_after_first_text() -> float:
        async with provider:
            task = asyncio.create_task(
                provider.turn(
                    "", [Message(role="user", text="hi")], [], texts.append, lambda *_: None
                )
            )
            while not texts:
                await asyncio.sleep(0.01)
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.monotonic() - started

    assert asyncio.run(cancel_after_first_text()) < 0.5
    assert len(texts) < 10


# What counts as progress


def sse(data: object, event: str | None = None) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data if isinstance(data, str) else json.dumps(data))


@pytest.mark.parametrize("named", [True, False], ids=["event-lines", "data-only"])
def test_anthropic_events_are_sorted_into_progress_and_keep_alives(named: bool) -> None:
    stream = anthropic_wire.MessageStream(lambda _: None)

    def feed(payload: dict[str, Any]) -> http.Fed:
        return stream.feed(sse(payload, str(payload["type"]) if named else None))

    delta = {"type": "text_delta", "text": "hi"}
    assert feed({"type": "message_start", "message": {}}) is http.Fed.PROGRESS
    assert feed({"type": "ping"}) is http.Fed.KEEP_ALIVE
    assert stream.feed(sse("")) is http.Fed.KEEP_ALIVE
    assert feed({"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}) is (
        http.Fed.PROGRESS
    )
    assert feed({"type": "content_block_delta", "index": 0, "delta": delta}) is http.Fed.PROGRESS
    assert feed({"type": "content_block_stop", "index": 0}) is http.Fed.PROGRESS
    assert feed({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}) is (
        http.Fed.PROGRESS
    )
    assert feed({"type": "some_future_event"}) is http.Fed.KEEP_ALIVE
    assert feed({"type": "message_stop"}) is http.Fed.FINAL
    assert stream.result().text == "hi"


def test_openai_chunks_are_sorted_into_progress_and_keep_alives() -> None:
    stream = openai_wire.ChatStream(lambda _: None)

    def feed(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> http.Fed:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return stream.feed(sse({"choices": [choice], **extra}))

    call = {"index": 0, "id": "c", "function": {"name": "list_files", "arguments": ""}}
    assert feed({"role": "assistant", "content": ""}) is http.Fed.KEEP_ALIVE
    assert feed({}) is http.Fed.KEEP_ALIVE
    assert stream.feed(sse("")) is http.Fed.KEEP_ALIVE
    assert stream.feed(sse({"choices": []})) is http.Fed.KEEP_ALIVE
    assert feed({"content": "a"}) is http.Fed.PROGRESS
    assert feed({"reasoning_content": "thinking"}) is http.Fed.PROGRESS
    assert feed({"tool_calls": [call]}) is http.Fed.PROGRESS
    assert feed({}, "tool_calls") is http.Fed.PROGRESS
    assert stream.feed(sse({"choices": [], "usage": {"prompt_tokens": 1}})) is http.Fed.PROGRESS
    assert stream.feed(sse("[DONE]")) is http.Fed.FINAL
    assert stream.result().text == "a"


# The retry policy's arithmetic


def test_backoff_is_full_jitter_capped() -> None:
    assert http.backoff_delay(1, 1.0, 60.0, rand=lambda: 1.0) == 1.0
    assert http.backoff_delay(4, 1.0, 60.0, rand=lambda: 1.0) == 8.0
    assert http.backoff_delay(4, 1.0, 60.0, rand=lambda: 0.5) == 4.0
    assert http.backoff_delay(30, 1.0, 60.0, rand=lambda: 1.0) == 60.0
    assert http.backoff_delay(1000, 1.0, 60.0, rand=lambda: 1.0) == 60.0


def test_retry_after_overrides_backoff_up_to_the_cap() -> None:
    assert http.backoff_delay(1, 1.0, 60.0, retry_after=7.0) == 7.0
    assert http.backoff_delay(1, 1.0, 60.0, retry_after=3600.0) == 60.0


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    date = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert http.parse_retry_after({"retry-after": "2"}) == 2.0
    assert http.parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert http.parse_retry_after({"retry-after": date}, now=now) == 30.0
    assert http.parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert http.parse_retry_after({"retry-after": "soon"}) is None
    assert http.parse_retry_after({"retry-after": "-1"}) is None
    assert http.parse_retry_after({}) is None


def test_error_excerpt_is_short_and_redacted() -> None:
    body = json.dumps({"error": {"message": "bad key sk-proj-abcdef123456 " + "x" * 500}})
    excerpt = http.error_excerpt(body.encode())
    assert excerpt.startswith("bad key [redacted] xxx")
    assert len(excerpt) <= http.EXCERPT_CHARS
    assert http.error_excerpt(b"<html><body>502</body></html>") == ""
    assert http.error_excerpt(b'{"detail": "Not Found"}') == "Not Found"


def test_providers_are_made_by_kind() -> None:
    config = ProviderConfig(base_url="http://127.0.0.1:1", model="m")
    assert isinstance(make_provider(ProviderKind.OPENAI, config), OpenAIProvider)
    assert isinstance(make_provider(ProviderKind.ANTHROPIC, config), AnthropicProvider)


def test_a_profile_configures_its_provider() -> None:
    profile = AgentProfile(
        name="fast",
        kind=AgentKind.BUILTIN,
        provider=ProviderKind.ANTHROPIC,
        model="claude-x",
        max_tries=2,
        read_timeout=9.0,
    )

    provider = provider_for(profile, SecretStr(FAKE_KEY))

    assert isinstance(provider, AnthropicProvider)
    config = provider.config
    assert (config.base_url, config.model) == ("https://api.anthropic.com", "claude-x")
    assert (config.max_tries, config.read_timeout) == (2, 9.0)
    assert FAKE_KEY not in repr(provider.config)
    with pytest.raises(UserError):
        provider_for(AgentProfile(name="cmd"), None)


def test_model_server_answers_probes(model_server: ModelServer) -> None:
    import urllib.request

    for path in ("/", "/api/hello"):
        request = urllib.request.Request(model_server.url + path, method="HEAD")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
    assert [request.method for request in model_server.requests] == ["HEAD", "HEAD"]
    assert model_server.posts == []
