"""Published events reach the clients subscribed to their topic, and a slow one harms none."""

from __future__ import annotations

import asyncio
import json
import time
from statistics import median

import pytest
from websockets.asyncio.client import unix_connect

from seedbed.api.client import ApiClient
from seedbed.api.hub import MISSED_MESSAGE
from seedbed.api.protocol import EVENT, MISSED, PROTOCOL_VERSION, Notification, subprotocol
from seedbed.api.sync_client import SyncClient
from tests.api.conftest import Echoed


def test_events_reach_the_subscribed_clients_and_no_other(engine) -> None:
    running = engine()

    async def scenario() -> tuple[list[Notification], ...]:
        first = await ApiClient.connect(running.data_dir)
        second = await ApiClient.connect(running.data_dir)
        other = await ApiClient.connect(running.data_dir)
        assert await first.subscribe(["changes"]) == ["changes"]
        assert await second.subscribe(["changes", "log:7"]) == ["changes", "log:7"]
        assert await other.subscribe(["log:8"]) == ["log:8"]
        running.publish("changes", {"task": 7, "change": "moved"})
        running.publish("log:8", {"seq": 1})
        seen = []
        for client in (first, second, other):
            notes = client.notifications()
            seen.append([await asyncio.wait_for(anext(notes), 5)])
        for client in (first, second, other):
            await client.close()
        return tuple(seen)

    first, second, other = asyncio.run(scenario())
    moved = {"topic": "changes", "payload": {"task": 7, "change": "moved"}}
    assert [(n.method, n.params) for n in first] == [(EVENT, moved)]
    assert [(n.method, n.params) for n in second] == [(EVENT, moved)]
    # Per connection events keep their order: had `other` received "changes", it would
    # have come before its own "log:8".
    assert [(n.method, n.params) for n in other] == [
        (EVENT, {"topic": "log:8", "payload": {"seq": 1}})
    ]


def test_unsubscribed_topics_stop_arriving(engine) -> None:
    running = engine()
    with SyncClient.connect(running.data_dir) as client:
        client.subscribe(["changes", "log:1"])
        assert client.unsubscribe(["changes"]) == ["log:1"]
        running.publish("changes", 1)
        running.publish("log:1", 2)
        assert client.receive(timeout=5).params == {"topic": "log:1", "payload": 2}
        with pytest.raises(TimeoutError):
            client.receive(timeout=0.2)


def test_a_callback_gets_the_notifications(engine) -> None:
    running = engine()

    async def scenario() -> list[Notification]:
        got: list[Notification] = []
        arrived = asyncio.Event()

        def on_note(note: Notification) -> None:
            got.append(note)
            arrived.set()

        async with await ApiClient.connect(running.data_dir, on_notification=on_note) as client:
            await client.subscribe(["changes"])
            running.publish("changes", [1, 2])
            await asyncio.wait_for(arrived.wait(), 5)
        return got

    assert [n.params for n in asyncio.run(scenario())] == [{"topic": "changes", "payload": [1, 2]}]


def test_a_client_that_does_not_read_neither_stalls_publish_nor_grows_without_bound(
    engine,
) -> None:
    running = engine(queue_limit=100)
    payload = {"text": "x" * 1000}
    events = 5_000

    async def publish_many() -> list[float]:
        """Publish on the engine's loop, as the engine does; how long each publish() took."""
        took = []
        for number in range(events):
            start = time.perf_counter()
            running.server.publish("log:1", {**payload, "n": number})
            took.append(time.perf_counter() - start)
            if number % 50 == 0:
                await asyncio.sleep(0)  # let the connections' writers run, as a real loop does
        return took

    async def scenario() -> list[dict]:
        async with unix_connect(
            str(running.server.endpoint.path), subprotocols=[subprotocol(PROTOCOL_VERSION)]
        ) as slow:
            await slow.send(
                '{"jsonrpc": "2.0", "id": 1, "method": "subscribe",'
                ' "params": {"topics": ["log:1"]}}'
            )
            assert json.loads(await slow.recv())["result"] == {"topics": ["log:1"]}
            # From here on `slow` reads nothing while the engine publishes 5 MB.
            took = running.loop.run(publish_many(), timeout=30)
            # publish() only queues: a median in microseconds (a busy machine may pause
            # any one call, hence the median).
            assert median(took) < 0.001
            # Another client is answered meanwhile.
            async with await ApiClient.connect(running.data_dir) as other:
                assert (await other.call("echo", {"text": "ok"}, Echoed)).text == "ok"
            # The slow client reads at last: it is told it missed events, then gets the
            # newest ones.
            received = []
            while not received or received[-1]["params"].get("payload", {}).get("n") != events - 1:
                received.append(json.loads(await asyncio.wait_for(slow.recv(), 10)))
            return received

    received = asyncio.run(scenario())
    missed = [note for note in received if note["method"] == MISSED]
    assert missed, "the slow client was not told it missed events"
    assert missed[-1]["params"]["message"] == MISSED_MESSAGE
    assert missed[-1]["params"]["dropped"] > 0
    # What reached it is far less than what was published: the rest was dropped.
    assert len(received) < events / 2


def test_a_notification_the_client_cannot_handle_never_ends_its_connection(engine) -> None:
    """A handler that fails on one notification (a payload it does not expect) leaves the
    connection up: the next notifications arrive and calls are answered."""
    running = engine()
    handled: list[object] = []

    def on_notification(note: Notification) -> None:
        payload = note.params.get("payload") or {}
        handled.append(payload["n"])  # KeyError on the first one: it has no "n"

    async def scenario() -> bool:
        client = await ApiClient.connect(running.data_dir, on_notification=on_notification)
        await client.subscribe(["changes"])
        running.publish("changes", {"unexpected": True})
        running.publish("changes", {"n": 2})
        deadline = time.monotonic() + 5
        while not handled and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await client.hello()  # still answered
        lost = client.lost
        await client.close()
        return lost

    assert asyncio.run(scenario()) is False
    assert handled == [2]
