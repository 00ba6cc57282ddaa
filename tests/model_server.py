"""A real HTTP server on 127.0.0.1 that answers model API calls from a script.

Tests queue responses with `server.script(...)`; each POST takes the next one, whatever
its path. An `Answer` describes a model's answer once (text pieces, tool calls, usage) and
is rendered, when it is served, in the wire format the request asked for: Anthropic
Messages for a path ending in `/messages`, the OpenAI Responses API for a path ending in
`/responses` (Codex), OpenAI Chat Completions otherwise (or the format it was built for,
by `openai_answer` / `anthropic_answer` / `responses_answer`). So one script can drive any
provider. The rendered stream is cut into raw byte chunks (`split_every`: at any point,
inside a JSON string, an SSE line or a UTF-8 character), each sent as its own HTTP chunk.

Failures to script: `http_error(status, ...)`, an answer `cut` half-way ("abort": the
connection closes mid-body; "end": the body ends cleanly before the final event; "stall":
nothing more is sent), an answer with a `malformed` chunk, an in-stream `error_event`,
`hang()` (reads the request, sends nothing) and `Endless` (a stream that never ends, of
keep-alives or of text, or one enormous line).

Every request is recorded (`server.requests`) with its method, path, headers, parsed JSON
body and arrival time. HEAD / and HEAD /api/hello answer 200 (CLIs probe them). A POST
that finds the script empty gets a 500 whose body says so, so that a test fails loudly.

Standard library only: the benchmarks import it too.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Wire = Literal["openai", "anthropic", "responses"]
Cut = Literal["abort", "end", "stall"]
ToolCallSpec = tuple[str, str, Any]  # id, name, arguments (a dict, or JSON text as sent)
PROBES = ("/", "/api/hello")


@dataclass
class Answer:
    """A model's answer, rendered in either wire format when it is served."""

    text: Sequence[str] = ()
    tool_calls: Sequence[ToolCallSpec] = ()
    usage: tuple[int, int] | None = (10, 5)
    cache_tokens: tuple[int, int] = (0, 0)  # Anthropic: cache creation, cache read
    arg_split: int = 5  # characters of argument JSON per delta event
    split_every: int | None = None  # bytes per HTTP chunk; None: one chunk per event
    wire: Wire | None = None  # None: from the request's path
    stop_reason: str | None = None  # as the wire names it; None: from the content
    cut: Cut | None = None
    cut_at: float = 0.5  # fraction of the stream's bytes sent before the cut
    malformed: bool = False
    error_event: tuple[str, str] | None = None  # (type, message) sent instead of the end
    chunk_delay: float = 0.0
    stall_seconds: float = 30.0

    def events(self, wire: Wire, model: str) -> list[bytes]:
        if wire == "responses":
            events = responses_events(self, model)
        elif wire == "openai":
            events = openai_events(self, model)
        else:
            events = anthropic_events(self, model)
        if self.malformed:
            bad = b'data: {"choices": [{"delta": {"content": "oops\n\n'
            if wire == "anthropic":
                bad = b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n'
            if wire == "responses":
                bad = b'event: response.output_text.delta\ndata: {"type": "response.output_te\n\n'
            events.insert(max(1, len(events) // 3), bad)
        return events

    def chunks(self, wire: Wire, model: str) -> list[bytes]:
        events = self.events(wire, model)
        if self.cut is not None:
            data = b"".join(events)
            data = data[: max(1, int(len(data) * self.cut_at))]
            return split_bytes(data, self.split_every or len(data))
        if self.split_every is None:
            return events
        return split_bytes(b"".join(events), self.split_every)


@dataclass
class HttpError:
    status: int
    body: Any = None  # dict/list: JSON; str/bytes: as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """Read the request, then send nothing until the client leaves (or `seconds` pass)."""

    seconds: float = 30.0


@dataclass
class RawStream:
    """Exactly these bytes, one HTTP chunk each (for what the builders cannot say)."""

    chunks: Sequence[bytes]
    status: int = 200
    content_type: str = "text/event-stream; charset=utf-8"
    chunk_delay: float = 0.0


@dataclass
class Endless:
    """`head`, then `piece` over and over (every `every` seconds) until the client leaves,
    the server stops, `seconds` pass or `total` bytes of pieces went out; then `tail`.
    Nothing is built in memory beforehand: a 1 GiB line costs the server one piece."""

    piece: bytes
    head: bytes = b""
    tail: bytes = b""
    every: float = 0.0
    total: int | None = None
    seconds: float = 60.0


Response = Answer | HttpError | Hang | RawStream | Endless


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any  # the parsed JSON body, or None
    raw: bytes
    at: float  # time.monotonic() when it arrived
    client_port: int  # one per connection: tells whether a connection was reused


def answer(
    text: str | Sequence[str] = (),
    tool_calls: Sequence[ToolCallSpec] = (),
    usage: tuple[int, int] | None = (10, 5),
    **options: Any,
) -> Answer:
    """An answer in whichever format the request asks for. `text`: one piece, or pieces
    (each its own delta); `tool_calls`: (id, name, arguments); `usage`: (input, output)
    or None for a server that reports none. Options: the other fields of `Answer`."""
    pieces = (text,) if isinstance(text, str) and text else tuple(text)
    return Answer(text=pieces, tool_calls=tuple(tool_calls), usage=usage, **options)


def openai_answer(*args: Any, **kwargs: Any) -> Answer:
    return answer(*args, wire="openai", **kwargs)


def anthropic_answer(*args: Any, **kwargs: Any) -> Answer:
    return answer(*args, wire="anthropic", **kwargs)


def responses_answer(*args: Any, **kwargs: Any) -> Answer:
    return answer(*args, wire="responses", **kwargs)


def http_error(
    status: int,
    message: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> HttpError:
    """An HTTP error; `message` becomes an OpenAI/Anthropic-style JSON error body."""
    if body is None and message is not None:
        body = {"type": "error", "error": {"type": "scripted_error", "message": message}}
    return HttpError(status, body, dict(headers or {}))


def hang(seconds: float = 30.0) -> Hang:
    return Hang(seconds)


def split_bytes(data: bytes, size: int) -> list[bytes]:
    size = max(1, size)
    return [data[i : i + size] for i in range(0, len(data), size)]


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _data(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _event(name: str, payload: Any) -> bytes:
    return f"event: {name}\n".encode() + _data(payload)


def openai_events(spec: Answer, model: str) -> list[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _data(
            {
                "id": "chatcmpl-scripted",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [choice],
            }
        )

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in spec.text]
    for index, (call_id, name, arguments) in enumerate(spec.tool_calls):
        first = {"index": index, "id": call_id, "type": "function"}
        first["function"] = {"name": name, "arguments": ""}
        events.append(chunk({"tool_calls": [first]}))
        for piece in _pieces(_arguments(arguments), spec.arg_split):
            fragment = {"index": index, "function": {"arguments": piece}}
            events.append(chunk({"tool_calls": [fragment]}))
    if spec.error_event is not None:
        kind, message = spec.error_event
        return [*events, _data({"error": {"type": kind, "message": message}})]
    finish = spec.stop_reason or ("tool_calls" if spec.tool_calls else "stop")
    events.append(chunk({}, finish))
    if spec.usage is not None:
        prompt, completion = spec.usage
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        events.append(_data({"id": "chatcmpl-scripted", "choices": [], "usage": usage}))
    events.append(b"data: [DONE]\n\n")
    return events


def anthropic_events(spec: Answer, model: str) -> list[bytes]:
    prompt, completion = spec.usage or (0, 0)
    creation, read = spec.cache_tokens
    start_usage = {
        "input_tokens": prompt,
        "output_tokens": 1,
        "cache_creation_input_tokens": creation,
        "cache_read_input_tokens": read,
    }
    message = {
        "id": "msg_scripted",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    events = [_event("message_start", {"type": "message_start", "message": message})]
    events.append(_event("ping", {"type": "ping"}))
    index = 0

    def block(kind: str, payload: dict[str, Any]) -> bytes:
        return _event(kind, {"type": kind, "index": index, **payload})

    if spec.text:
        events.append(block("content_block_start", {"content_block": {"type": "text", "text": ""}}))
        for piece in spec.text:
            delta = {"type": "text_delta", "text": piece}
            events.append(block("content_block_delta", {"delta": delta}))
        events.append(block("content_block_stop", {}))
        index += 1
    for call_id, name, arguments in spec.tool_calls:
        start = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
        events.append(block("content_block_start", {"content_block": start}))
        text = _arguments(arguments)
        for piece in _pieces(text, spec.arg_split) if text else [""]:
            delta = {"type": "input_json_delta", "partial_json": piece}
            events.append(block("content_block_delta", {"delta": delta}))
        events.append(block("content_block_stop", {}))
        index += 1
    if spec.error_event is not None:
        kind, text = spec.error_event
        return [
            *events,
            _event("error", {"type": "error", "error": {"type": kind, "message": text}}),
        ]
    stop = spec.stop_reason or ("tool_use" if spec.tool_calls else "end_turn")
    delta_usage = {"output_tokens": completion}
    message_delta = {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": delta_usage}
    events.append(_event("message_delta", {"type": "message_delta", **message_delta}))
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events


def responses_events(spec: Answer, model: str) -> list[bytes]:
    """The OpenAI Responses API stream: `response.created`, one output item per text (a
    message) and per tool call (a `function_call` whose arguments arrive in deltas; a
    name "NAMESPACE::NAME" calls a tool of a `namespace` tool, as Codex offers an MCP
    server's), then `response.completed` with the usage. `stop_reason` "incomplete" ends it with
    `response.incomplete`; `error_event` ends it with `response.failed`."""
    sequence = 0
    output: list[dict[str, Any]] = []

    def event(kind: str, **payload: Any) -> bytes:
        nonlocal sequence
        sequence += 1
        return _event(kind, {"type": kind, "sequence_number": sequence - 1, **payload})

    def response(status: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": "resp_scripted",
            "object": "response",
            "created_at": 0,
            "status": status,
            "model": model,
            "output": list(output),
            "usage": None,
            **extra,
        }

    events = [event("response.created", response=response("in_progress"))]
    events.append(event("response.in_progress", response=response("in_progress")))
    if spec.text:
        index = len(output)
        item_id = f"msg_scripted_{index}"
        item = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant"}
        events.append(
            event("response.output_item.added", output_index=index, item=item | {"content": []})
        )
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        empty = {"type": "output_text", "text": "", "annotations": []}
        events.append(event("response.content_part.added", **where, part=empty))
        for piece in spec.text:
            events.append(event("response.output_text.delta", **where, delta=piece, logprobs=[]))
        text = "".join(spec.text)
        part = {"type": "output_text", "text": text, "annotations": []}
        events.append(event("response.output_text.done", **where, text=text, logprobs=[]))
        events.append(event("response.content_part.done", **where, part=part))
        done = item | {"status": "completed", "content": [part]}
        events.append(event("response.output_item.done", output_index=index, item=done))
        output.append(done)
    for call_id, name, arguments in spec.tool_calls:
        index = len(output)
        item_id = f"fc_scripted_{index}"
        item = {"id": item_id, "type": "function_call", "call_id": call_id, "name": name}
        namespace, separator, short = name.rpartition("::")
        if separator:
            item |= {"namespace": namespace, "name": short}
        added = item | {"status": "in_progress", "arguments": ""}
        events.append(event("response.output_item.added", output_index=index, item=added))
        text = _arguments(arguments)
        for piece in _pieces(text, spec.arg_split) if text else []:
            events.append(
                event("response.function_call_arguments.delta", item_id=item_id,
                      output_index=index, delta=piece)
            )  # fmt: skip
        events.append(
            event("response.function_call_arguments.done", item_id=item_id,
                  output_index=index, arguments=text)
        )  # fmt: skip
        done = item | {"status": "completed", "arguments": text}
        events.append(event("response.output_item.done", output_index=index, item=done))
        output.append(done)
    if spec.error_event is not None:
        kind, message = spec.error_event
        error = {"code": kind, "message": message}
        return [*events, event("response.failed", response=response("failed", error=error))]
    usage = None
    if spec.usage is not None:
        prompt, completion = spec.usage
        usage = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": spec.cache_tokens[1]},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
    if spec.stop_reason == "incomplete":
        details = {"reason": "max_output_tokens"}
        final = response("incomplete", incomplete_details=details) | {"usage": usage}
        return [*events, event("response.incomplete", response=final)]
    final = response("completed") | {"usage": usage}
    events.append(event("response.completed", response=final))
    return events


class ModelServer:
    """The server, its script and what it received. Use as a context manager."""

    def __init__(self) -> None:
        self._script: deque[Response] = deque()
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.errors: list[str] = []  # unexpected failures inside the server
        # The keys GET /v1/models takes (both protocols); None: it lists its models to any.
        self.keys: set[str] | None = None
        # What GET /v1/models answers instead of the list (a 403, a redirect), if set.
        self.models_error: HttpError | None = None
        self.stopping = threading.Event()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`: the Anthropic base URL; add "/v1" for OpenAI's."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    def script(self, *responses: Response) -> None:
        """Queue responses: each POST takes the next."""
        with self._lock:
            self._script.extend(responses)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    @property
    def posts(self) -> list[Recorded]:
        """The model calls (POST requests), oldest first."""
        with self._lock:
            return [request for request in self.requests if request.method == "POST"]

    def start(self) -> ModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()  # joins the handler threads
        self._thread.join(timeout=5)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self) -> Response | None:
        with self._lock:
            return self._script.popleft() if self._script else None


def wire_of(path: str) -> Wire:
    """The wire format a request's path asks for."""
    bare = path.split("?")[0].rstrip("/")
    if bare.endswith("/messages"):
        return "anthropic"
    if bare.endswith("/responses"):
        return "responses"
    return "openai"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: ModelServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handlers blocked on kept-alive connections so that they end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # the client left (it gave up on a stream): expected in these tests
        self.owner.errors.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._recorded(b"")
        status = 200 if self.path.split("?")[0] in PROBES else 404
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        request = self._recorded(b"")
        if self.path.split("?")[0] == "/v1/models":
            error = self.server.owner.models_error
            if error is not None:
                self._error(error)
            else:
                self._models(request.headers)
            return
        self._json(404, {"error": {"message": f"model_server: no GET {self.path}"}})

    def _models(self, headers: dict[str, str]) -> None:
        """The model list, as OpenAI or Anthropic (by the headers) send it; 401 with their
        error body for a key it does not take."""
        anthropic = "x-api-key" in headers or "anthropic-version" in headers
        given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        keys = self.server.owner.keys
        if keys is not None and given not in keys:
            if anthropic:
                error: dict[str, Any] = {
                    "type": "error",
                    "error": {"type": "authentication_error", "message": "invalid x-api-key"},
                }
            else:
                error = {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                }
            self._json(401, error)
            return
        if anthropic:
            model = {"type": "model", "id": "scripted-model", "display_name": "Scripted",
                     "created_at": "2026-01-01T00:00:00Z"}  # fmt: skip
            body = {"data": [model], "has_more": False, "first_id": "scripted-model",
                    "last_id": "scripted-model"}  # fmt: skip
        else:
            body = {"object": "list", "data": [
                {"id": "scripted-model", "object": "model", "created": 0, "owned_by": "tests"}
            ]}  # fmt: skip
        self._json(200, body)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request = self._recorded(self.rfile.read(length))
        response = self.server.owner._next()
        if response is None:
            message = f"model_server: the script is empty; no answer for POST {self.path}"
            self._json(500, {"error": {"type": "script_exhausted", "message": message}})
        elif isinstance(response, HttpError):
            self._error(response)
        elif isinstance(response, Hang):
            self._wait(response.seconds)
        elif isinstance(response, Endless):
            self._endless(response)
        elif isinstance(response, RawStream):
            self._stream(
                response.chunks,
                status=response.status,
                ctype=response.content_type,
                delay=response.chunk_delay,
            )
        else:
            wire = response.wire or wire_of(self.path)
            body = request.body if isinstance(request.body, dict) else {}
            chunks = response.chunks(wire, str(body.get("model") or "scripted-model"))
            self._stream(
                chunks,
                cut=response.cut,
                delay=response.chunk_delay,
                stall=response.stall_seconds,
            )

    def _recorded(self, raw: bytes) -> Recorded:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        port = self.client_address[1]
        request = Recorded(self.command, self.path, headers, body, raw, time.monotonic(), port)
        self.server.owner._record(request)
        return request

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, bytes):
            data, ctype = body, "application/octet-stream"
        elif isinstance(body, str):
            data, ctype = body.encode(), "text/plain; charset=utf-8"
        else:
            data, ctype = json.dumps(body).encode(), "application/json"
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, response: HttpError) -> None:
        body = response.body if response.body is not None else b""
        self._json(response.status, body, response.headers)

    def _stream(
        self,
        chunks: Iterable[bytes],
        *,
        status: int = 200,
        ctype: str = "text/event-stream; charset=utf-8",
        cut: Cut | None = None,
        delay: float = 0.0,
        stall: float = 30.0,
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if delay and self.server.owner.stopping.wait(delay):
                break
        if cut == "stall":
            self._wait(stall)
        elif cut == "abort":
            self.close_connection = True  # closed without the last chunk: a broken body
        else:
            self.wfile.write(b"0\r\n\r\n")

    def _endless(self, spec: Endless) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        deadline = time.monotonic() + spec.seconds
        sent = 0
        if spec.head:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(spec.head), spec.head))
        while time.monotonic() < deadline and (spec.total is None or sent < spec.total):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(spec.piece), spec.piece))
            sent += len(spec.piece)
            if spec.every and self.server.owner.stopping.wait(spec.every):
                break
            if self.server.owner.stopping.is_set():
                break
        if spec.tail:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(spec.tail), spec.tail))
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def _wait(self, seconds: float) -> None:
        """Send nothing until the client closes, `seconds` pass or the server stops."""
        deadline = time.monotonic() + seconds
        while not self.server.owner.stopping.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable:
                break  # the client closed (or sent more): either way, this exchange is over
        self.close_connection = True
