"""The bounded SSE reader: every line ending, split anywhere, and the cap."""

from __future__ import annotations

import pytest

from seedbed.agents.builtin.providers.sse import EventTooLarge, SSEReader
from seedbed.agents.text import size_text

STREAM = b"event: a\r\ndata: 1\r\n\r\n: ping\n\ndata: x\ndata: y\r\rid: 7\nretry: 5\ndata: z\n\n"


def read(data: bytes, size: int, cap: int = 1000) -> list[tuple[str, str, str, int | None]]:
    reader = SSEReader(cap)
    events = []
    for start in range(0, len(data), size):
        events += reader.feed(data[start : start + size])
    return [(e.event, e.data, e.id, e.retry) for e in events]


@pytest.mark.parametrize("size", range(1, len(STREAM) + 1))
def test_events_split_anywhere_read_the_same(size: int) -> None:
    assert read(STREAM, size) == [
        ("a", "1", "", None),
        ("message", "x\ny", "", None),
        ("message", "z", "7", 5),
    ]


def test_a_line_past_the_cap_is_refused_before_it_ends() -> None:
    reader = SSEReader(100)
    reader.feed(b"data: " + b"x" * 90)
    with pytest.raises(EventTooLarge) as raised:
        reader.feed(b"x" * 20)
    assert raised.value.limit == 100


def test_an_event_of_many_short_lines_past_the_cap_is_refused() -> None:
    reader = SSEReader(100)
    with pytest.raises(EventTooLarge):
        for _ in range(10):
            reader.feed(b"data: 123456789012345\n")


def test_sizes_read_as_people_say_them() -> None:
    assert [size_text(n) for n in (1000, 65536, 8 << 20, 1 << 30, 1_500_000)] == [
        "1000 bytes", "64 KiB", "8 MiB", "1 GiB", "1.4 MiB"
    ]  # fmt: skip
