"""Server-sent events read from raw bytes with a cap on each event's size.

httpx-sse keeps a whole line in memory however long it grows: one 1 GiB line from a
hostile or broken server grew the engine by gigabytes. `SSEReader` is fed the body's
bytes as they arrive and never holds more than `max_bytes` of one line or one event
(its data lines together) plus one network read: past that it raises `EventTooLarge`.
Pure: no I/O, so every odd case of the format is tested without a server.

The format (https://html.spec.whatwg.org/multipage/server-sent-events.html): lines end
in CRLF, LF or CR; a blank line dispatches the event; `:` starts a comment; the fields
are `event`, `data` (repeatable, joined by newlines), `id` and `retry`.
"""

from __future__ import annotations

import re

from httpx_sse import ServerSentEvent

from seedbed.agents.text import size_text

_LINE_END = re.compile(rb"[\r\n]")
_CR = 13
_LF = 10


class EventTooLarge(Exception):
    """A line or an event over the cap; `limit` is the cap in bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an event larger than {size_text(limit)}")
        self.limit = limit


class SSEReader:
    """Bytes in, whole events out; a line or an event past `max_bytes` is EventTooLarge."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already searched for a line end
        self._event = ""
        self._data: list[str] = []
        self._data_bytes = 0
        self._id = ""
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        buffer = self._buffer
        buffer += chunk
        events: list[ServerSentEvent] = []
        start = 0
        position = self._scanned
        while match := _LINE_END.search(buffer, position):
            end = match.start()
            if buffer[end] == _CR and end + 1 == len(buffer):
                position = end  # a CR last: the LF of a CRLF may be in the next chunk
                break
            after = end + 2 if buffer[end] == _CR and buffer[end + 1] == _LF else end + 1
            event = self._line(bytes(buffer[start:end]))
            if event is not None:
                events.append(event)
            start = position = after
        else:
            position = len(buffer)
        del buffer[:start]
        self._scanned = position - start
        if len(buffer) > self.max_bytes:
            raise EventTooLarge(self.max_bytes)
        return events

    def _line(self, raw: bytes) -> ServerSentEvent | None:
        if not raw:
            return self._dispatch()
        if raw.startswith(b":"):
            return None  # a comment: a keep-alive
        line = raw.decode("utf-8", "replace")
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data_bytes += len(raw)
            if self._data_bytes > self.max_bytes:
                raise EventTooLarge(self.max_bytes)
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not (self._event or self._data or self._id or self._retry is not None):
            return None
        event = ServerSentEvent(
            event=self._event, data="\n".join(self._data), id=self._id, retry=self._retry
        )
        # As the format says, the last event id carries over to the next event.
        self._event, self._data, self._data_bytes, self._retry = "", [], 0, None
        return event
