"""What both providers share: one httpx client each, a JSON POST read as server-sent events
(through httpx-sse), and the retry policy.

Retried, up to `max_tries` attempts in all:
- HTTP 408, 409, 429 and 5xx (a 429 that says the account's quota is used up is not);
- connection errors and timeouts: connect, and read: no progress for `read_timeout`
  seconds. Keep-alives are not progress: SSE comments (some proxies send them), Anthropic
  `ping`s and OpenAI chunks that carry nothing (no text, tool-call fragment, usage or
  finish reason) arrive, but leave the deadline where it is; the parser says which events
  were progress (`Fed`);
- an attempt that takes longer than `max_call_seconds` in all, however steadily it
  streams: a backstop, so that no model call runs without bound;
- a stream that ends before its final event (a dropped stream);
- a chunk that is not valid JSON: a proxy may have garbled it, and a fresh attempt usually
  reads clean; if the server really speaks another format, the tries run out with a clear
  reason;
- an error the server reports inside the stream that it calls transient (overloaded).

Not retried: any other 4xx (the key, the URL or the request is wrong; asking again does
not help), an answer that is not an event stream, a request that cannot be built, a line
or an event larger than `max_event_bytes` (read incrementally, never held whole: see
`sse.py`).

The whole call, every attempt and every wait between them, is bounded by
`max_total_seconds` (the profile's max_call_seconds): tries do not multiply it. Each
attempt is also bounded by `max_call_seconds`, so that a stuck attempt leaves time for
another.

The wait before try n+1 is "full jitter", uniform(0, min(backoff_max, backoff_base *
2**(n-1))), unless the server said how long to wait (`retry-after-ms`, or `retry-after` in
seconds or as an HTTP date): that is honoured, capped at backoff_max so that a run never
waits without bound. Before each wait on_retry(number of the attempt that failed, counted
from 1, reason, delay) is called; text passed to on_text during the failed attempt
belongs to that attempt, so the caller drops it when on_retry says another follows.
When the tries run out the message names their number and the last reason: "the model
server kept failing after 3 tries; last: 503 Service Unavailable (busy)".

The API key is read (`get_secret_value`) only to build a request header. Messages are
built from our own words, status codes and short server excerpts, never from str() of an
httpx exception (those can carry the request), and every message is scrubbed of the key
before it leaves this module.

Stop reasons are given in one vocabulary for both providers: end_turn, tool_use,
max_tokens, and anything else as the server named it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import enum
import functools
import json
import math
import random
import re
import ssl
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import urlsplit

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse
from pydantic import SecretStr

from seedbed.agents.builtin.providers.sse import EventTooLarge, SSEReader
from seedbed.agents.builtin.types import (
    Provider,
    ProviderConfig,
    ProviderError,
    RetrySink,
    TurnResult,
)
from seedbed.agents.text import size_text
from seedbed.agents.urls import is_local

RETRYABLE_STATUSES = frozenset({408, 409, 429})
ERROR_BODY_LIMIT = 64 * 1024
EXCERPT_CHARS = 200
# After the final event, how long to wait for the body to end so the connection can be reused.
DRAIN_SECONDS = 0.25
USER_AGENT = "seedbed"
_EXTRA_PHRASES = {529: "Overloaded"}
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_\-*.]{4,}")


class RetryableError(Exception):
    """One attempt failed in a way the next may not; `reason` is safe to show."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Fed(enum.Enum):
    """What one event was, as the parser that took it (`EventParser.feed`) says.

    KEEP_ALIVE: nothing of the answer (a ping, an empty chunk, an event type the parser
    does not know); the read deadline stays, so a stream of keep-alives alone times out.
    PROGRESS: part of the answer (text, a tool-call fragment, usage, a stop reason, the
    start or stop of the message or of a block); the read deadline moves.
    FINAL: the final event; the answer is complete.
    """

    KEEP_ALIVE = "keep-alive"
    PROGRESS = "progress"
    FINAL = "final"


class EventParser(Protocol):
    """Reads one attempt's events into a TurnResult."""

    final_event: str  # named in the reason when a stream ends before it

    def feed(self, event: ServerSentEvent) -> Fed:
        """Take one event and say what it was (see `Fed`)."""
        ...

    def result(self) -> TurnResult: ...


class HttpProvider(Provider):
    """A provider over HTTP: one client, built on first use in the running loop."""

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = build_client(self.config)
        return self._client

    async def _stream(
        self,
        url: str,
        headers: dict[str, str],
        body: dict[str, object],
        new_parser: Callable[[], EventParser],
        on_retry: RetrySink,
    ) -> TurnResult:
        return await stream_with_retries(
            self._http(), self.config, url, headers, body, new_parser, on_retry
        )

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Loading the CA bundle takes tens of milliseconds: once per process, not per client."""
    return httpx.create_ssl_context()


def build_client(config: ProviderConfig) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        connect=config.connect_timeout,
        read=config.read_timeout,
        write=config.read_timeout,
        pool=config.connect_timeout,
    )
    # A server on this machine (Ollama, LM Studio) is reached directly, never through a
    # proxy from the environment: a proxy cannot reach it, and would see its key.
    return httpx.AsyncClient(
        timeout=timeout,
        headers={"user-agent": USER_AGENT},
        verify=_tls_context(),
        trust_env=not is_local(config.base_url),
    )


def join_url(base_url: str, path: str) -> str:
    """`base_url` + `path` with exactly one slash between them."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def header_secret(key: SecretStr) -> str:
    """The key as a header value; refused (without showing it) when no header can carry it."""
    value = key.get_secret_value().strip()
    if not value or any(not 32 <= ord(char) < 127 for char in value):
        raise ProviderError(
            "the API key contains characters an HTTP header cannot carry "
            "(a line break or a non-ASCII character?); set it again"
        )
    return value


def scrub(text: str, secret: str) -> str:
    if len(secret) >= 4 and secret in text:
        text = text.replace(secret, "[key]")
    return text


def load_chunk(data: str) -> dict[str, object]:
    """One data line's JSON object; a malformed one is worth another attempt."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise RetryableError("the model server sent a malformed chunk (not JSON)") from None
    if not isinstance(chunk, dict):
        raise RetryableError("the model server sent a malformed chunk (not a JSON object)")
    return chunk


def count(value: object) -> int:
    """A token count from JSON; anything that is not a number counts as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(0, int(value))


def status_label(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = _EXTRA_PHRASES.get(status, "")
    return f"{status} {phrase}".strip()


def backoff_delay(
    attempt: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 = the first)."""
    cap = max(0.0, cap)
    if retry_after is not None:
        return min(max(0.0, retry_after), cap)
    ceiling = min(cap, max(0.0, base) * 2.0 ** min(attempt - 1, 60))
    return rand() * ceiling


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from retry-after-ms or retry-after; else None."""
    millis = _non_negative(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _non_negative(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _non_negative(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def error_excerpt(raw: bytes) -> str:
    """A short, one-line excerpt of a server's error message (JSON or plain text)."""
    text = raw.decode("utf-8", "replace").strip()
    message = ""
    try:
        body = json.loads(text)
    except ValueError:
        if text and not text.startswith("<"):  # skip HTML error pages
            message = text
    else:
        message = _json_message(body)
    return shorten(message)


def shorten(message: str) -> str:
    """A server's message on one line, cut short, with anything key-like redacted."""
    message = _KEY_LIKE.sub("[redacted]", " ".join(message.split()))
    if len(message) > EXCERPT_CHARS:
        message = message[: EXCERPT_CHARS - 1] + "…"
    return message


def _json_message(body: object) -> str:
    if isinstance(body, str):
        return body
    if not isinstance(body, dict):
        return ""
    for key in ("error", "message", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            found = _json_message(value)
            if found:
                return found
    return ""


def _is_quota_error(raw: bytes) -> bool:
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    return "insufficient_quota" in (error.get("code"), error.get("type"))


async def stream_with_retries(
    client: httpx.AsyncClient,
    config: ProviderConfig,
    url: str,
    headers: dict[str, str],
    body: dict[str, object],
    new_parser: Callable[[], EventParser],
    on_retry: RetrySink,
) -> TurnResult:
    """POST `body`, read the answer's events with a fresh parser per attempt, retrying
    what is worth retrying; ProviderError when it fails for good."""
    secret = config.api_key.get_secret_value() if config.api_key is not None else ""
    whole = asyncio.timeout(config.max_total_seconds)
    tries = Tries()
    try:
        async with whole:
            return await _tries(client, config, url, headers, body, new_parser, on_retry, tries)
    except TimeoutError:
        if not whole.expired():
            raise
    said = f"the model call took longer than {config.max_total_seconds:g} s in all"
    said += " (the profile's max_call_seconds)"
    if tries.failed:
        said += f", over {tries.failed + 1} tries; before: {tries.last}"
    raise ProviderError(scrub(said, secret)) from None


class Tries:
    """How many attempts of one call failed so far, and the last one's reason."""

    def __init__(self) -> None:
        self.failed = 0
        self.last = ""


async def _tries(
    client: httpx.AsyncClient,
    config: ProviderConfig,
    url: str,
    headers: dict[str, str],
    body: dict[str, object],
    new_parser: Callable[[], EventParser],
    on_retry: RetrySink,
    seen: Tries,
) -> TurnResult:
    secret = config.api_key.get_secret_value() if config.api_key is not None else ""
    tries = max(1, config.max_tries)
    attempt = 1
    while True:
        try:
            return await _attempt(client, config, url, headers, body, new_parser())
        except RetryableError as exc:
            failure = exc
        except ProviderError as exc:
            raise ProviderError(scrub(str(exc), secret)) from None
        if attempt >= tries:
            if tries == 1:
                message = f"the model server failed: {failure.reason}"
            else:
                message = (
                    f"the model server kept failing after {tries} tries; last: {failure.reason}"
                )
            raise ProviderError(scrub(message, secret)) from None
        delay = backoff_delay(attempt, config.backoff_base, config.backoff_max, failure.retry_after)
        seen.failed, seen.last = attempt, scrub(failure.reason, secret)
        on_retry(attempt, seen.last, delay)
        attempt += 1
        await asyncio.sleep(delay)


class _Attempt:
    """What one attempt saw, kept outside the `try` so a late failure can still succeed."""

    def __init__(self, parser: EventParser) -> None:
        self.parser = parser
        self.done = False
        self.keep_alives = False  # keep-alives came since the last progress


def _timeout_reason(config: ProviderConfig, state: _Attempt, cap: asyncio.Timeout) -> str:
    if cap.expired():
        return f"the answer took longer than {config.max_call_seconds:g} s"
    if state.keep_alives:
        return f"the model server sent only keep-alives for {config.read_timeout:g} s"
    return f"no data from the model server for {config.read_timeout:g} s"


async def _attempt(
    client: httpx.AsyncClient,
    config: ProviderConfig,
    url: str,
    headers: dict[str, str],
    body: dict[str, object],
    parser: EventParser,
) -> TurnResult:
    state = _Attempt(parser)
    cap = asyncio.timeout(config.max_call_seconds)  # the whole attempt, connect included
    try:
        async with cap:
            await _read(client, config, url, headers, body, state)
    except TimeoutError:
        if not state.done:
            raise RetryableError(_timeout_reason(config, state, cap)) from None
    except httpx.InvalidURL:
        raise ProviderError("the base URL is not a valid URL") from None
    except httpx.UnsupportedProtocol:
        raise ProviderError("the base URL must start with http:// or https://") from None
    except httpx.LocalProtocolError:
        raise ProviderError("the request could not be sent (an invalid header value?)") from None
    except (httpx.TransportError, httpx.DecodingError) as exc:
        if not state.done:
            raise RetryableError(_transport_reason(exc, config, url)) from None
    if not state.done:
        raise RetryableError(f"the stream ended before its final event ({parser.final_event})")
    return parser.result()


async def _read(
    client: httpx.AsyncClient,
    config: ProviderConfig,
    url: str,
    headers: dict[str, str],
    body: dict[str, object],
    state: _Attempt,
) -> None:
    loop = asyncio.get_running_loop()
    # httpx's own timeouts bound the connect, the send and every read; this one also ends
    # a stream that only trickles keep-alives (comments, pings, empty chunks).
    async with (
        asyncio.timeout(None) as deadline,
        aconnect_sse(client, "POST", url, json=body, headers=dict(headers)) as source,
    ):
        response = source.response
        if not 200 <= response.status_code < 300:
            raise await _status_failure(response, config)
        content_type = response.headers.get("content-type", "").partition(";")[0].strip()
        if content_type.lower() != "text/event-stream":
            raise ProviderError(
                "the model server did not stream its answer "
                f"(content-type {content_type or 'missing'}); check the base URL"
            )
        # Moving the deadline costs a timer; moving it at most every `slack` seconds keeps
        # a 200-event answer cheap, at the price of ending a silent stream after between
        # read_timeout - slack and read_timeout seconds.
        slack = min(1.0, config.read_timeout / 4)
        moved = loop.time()
        deadline.reschedule(moved + config.read_timeout)
        # Read as bytes, not through httpx-sse: it would hold a line of any length.
        reader = SSEReader(config.max_event_bytes)
        stream = response.aiter_bytes()
        # httpx declares an AsyncIterator; it is an async generator, which aclosing closes.
        assert isinstance(stream, AsyncGenerator)
        async with contextlib.aclosing(stream) as chunks:
            async for chunk in chunks:
                try:
                    events = reader.feed(chunk)
                except EventTooLarge as exc:
                    raise ProviderError(
                        f"the model server sent an event larger than {size_text(exc.limit)} "
                        "(the profile's max_event_bytes)"
                    ) from None
                for event in events:
                    if state.done:
                        continue  # whatever follows the final event is ignored
                    fed = state.parser.feed(event)
                    if fed is Fed.KEEP_ALIVE:
                        state.keep_alives = True
                        continue  # not progress: the deadline stays
                    now = loop.time()
                    if fed is Fed.FINAL:
                        state.done = True
                        deadline.reschedule(now + DRAIN_SECONDS)
                        continue
                    state.keep_alives = False
                    if now - moved > slack:
                        moved = now
                        deadline.reschedule(now + config.read_timeout)


async def _status_failure(response: httpx.Response, config: ProviderConfig) -> Exception:
    status = response.status_code
    raw = await _read_capped(response)
    excerpt = error_excerpt(raw)
    label = status_label(status)
    said = f"{label}: {excerpt}" if excerpt else label
    if 300 <= status < 400:
        return ProviderError(f"the model server answered {label} (a redirect); check the base URL")
    if status == 429 and _is_quota_error(raw):
        return ProviderError(f"the account has no quota left ({said})")
    if status in RETRYABLE_STATUSES or status >= 500:
        reason = f"{label} ({excerpt})" if excerpt else label
        return RetryableError(reason, parse_retry_after(response.headers))
    if status in (401, 403):
        if config.api_key is None:
            return ProviderError(f"the model server wants an API key and none is set ({said})")
        return ProviderError(f"the API key was refused ({said})")
    if status == 404:
        return ProviderError(
            f"the model server answered {said}; check the base URL and the model name"
        )
    return ProviderError(f"the model server refused the request ({said})")


async def _read_capped(response: httpx.Response) -> bytes:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= ERROR_BODY_LIMIT:
            break
    return bytes(data[:ERROR_BODY_LIMIT])


def _transport_reason(exc: Exception, config: ProviderConfig, url: str) -> str:
    """Our own words for a network failure: str(exc) of httpx errors is never used."""
    where = _host_port(url)
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect to {where} within {config.connect_timeout:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"no data from the model server for {config.read_timeout:g} s"
    if isinstance(exc, httpx.WriteTimeout):
        return f"sending the request to {where} timed out"
    if isinstance(exc, httpx.PoolTimeout):
        return "no free connection to the model server"
    if isinstance(exc, httpx.ProxyError):
        return "the HTTP proxy refused the connection"
    if isinstance(exc, httpx.ConnectError):
        return _with_os_reason(f"could not connect to {where}", exc)
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the model server closed the connection mid-answer"
    if isinstance(exc, httpx.ReadError):
        return _with_os_reason("the connection broke while reading the answer", exc)
    if isinstance(exc, httpx.WriteError):
        return _with_os_reason("the connection broke while sending the request", exc)
    if isinstance(exc, httpx.DecodingError):
        return "the answer could not be decoded"
    return f"network error ({type(exc).__name__})"


def _with_os_reason(text: str, exc: BaseException) -> str:
    """`text`, plus the operating system's words (e.g. "Connection refused") when known."""
    seen: BaseException | None = exc
    for _ in range(6):
        seen = seen.__cause__ or seen.__context__ if seen is not None else None
        if isinstance(seen, OSError) and seen.strerror:
            return f"{text}: {seen.strerror}"
    return text


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname or '?'}:{port}"
