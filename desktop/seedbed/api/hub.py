"""Pushing published events to the clients subscribed to their topic, never waiting on one.

`publish` only appends to each subscriber's bounded queue; a task per connection (`pump`)
writes the queue to its socket. A client that stops reading fills its own queue and
nothing else: on overflow the queue is cleared and replaced by one "missed" notice, which
tells the client to reload what it shows.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from seedbed.api.protocol import EVENT, MISSED, EventParams, MissedParams, Notification

MISSED_MESSAGE = "you missed events: reload"


def event_text(topic: str, payload: Any) -> str:
    """The notification of one event, serialized once for every subscriber."""
    params = EventParams(topic=topic, payload=payload).model_dump(mode="json")
    return Notification(method=EVENT, params=params).model_dump_json()


def missed_text(dropped: int) -> str:
    params = MissedParams(message=MISSED_MESSAGE, dropped=dropped).model_dump(mode="json")
    return Notification(method=MISSED, params=params).model_dump_json()


class Subscriber:
    """One connection's topics and its queue of notifications not yet written."""

    def __init__(self, send: Callable[[str], Awaitable[None]], limit: int) -> None:
        self.topics: set[str] = set()
        self.dropped = 0
        self._send = send
        self._limit = limit
        self._pending: deque[str] = deque()
        self._ready = asyncio.Event()

    def offer(self, text: str) -> None:
        if len(self._pending) >= self._limit:
            self.dropped += len(self._pending) + 1
            self._pending.clear()
            self._pending.append(missed_text(self.dropped))
        else:
            self._pending.append(text)
        self._ready.set()

    async def pump(self) -> None:
        """Write the queue to the socket as the client reads it; returns when it is closed.
        Raises what `send` raises (the connection closed)."""
        while True:
            await self._ready.wait()
            while self._pending:
                await self._send(self._pending.popleft())
            self._ready.clear()


class Hub:
    """Every connection's Subscriber; used on the server's loop only."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def add(self, subscriber: Subscriber) -> None:
        self._subscribers.add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribed(self, topic: str) -> int:
        """Subscribers of `topic`. Also read off the loop: the copy is taken in one step
        under the GIL, so it is a snapshot, never a set changing under its iteration."""
        return sum(1 for s in tuple(self._subscribers) if topic in s.topics)

    def publish(self, topic: str, payload: Any) -> None:
        listeners = [s for s in self._subscribers if topic in s.topics]
        if not listeners:
            return
        text = event_text(topic, payload)
        for subscriber in listeners:
            subscriber.offer(text)
