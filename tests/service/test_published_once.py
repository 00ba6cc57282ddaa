"""What the engine process publishes: each change told once, each event's seq once, the
last one included, gathered into a few notifications (service/publisher.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from seedbed.api.protocol import Notification
from seedbed.api.sync_client import SyncClient
from seedbed.service.publisher import Publisher
from seedbed.service.topics import EVENTS, TASKS
from seedbed.store import Store
from tests.conftest import SeedbedCli
from tests.service.conftest import Engines
from tests.service.test_engine_process import NEVER_IDLE, wait_for

WATCHER_LOOKS_S = 1.0  # the store watcher looks every 0.25 s: four looks


def listen(client: SyncClient, seconds: float) -> list[Notification]:
    heard: list[Notification] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            heard.append(client.receive(timeout=left))
        except TimeoutError:
            break
    return heard


def told_tasks(notes: list[Notification]) -> list[int]:
    """Every task id named by the "tasks" notifications, as often as named."""
    return [
        task_id
        for note in notes
        if note.params["topic"] == TASKS
        for task_id in note.params["payload"]["task_ids"]
    ]


def told_seqs(notes: list[Notification], run_id: int) -> list[int]:
    seqs: list[int] = []
    for note in notes:
        if note.params["topic"] != EVENTS:
            continue
        for run in note.params["payload"]["runs"]:
            if run["run_id"] == run_id:
                seqs += range(run["first"], run["last"] + 1)
    return seqs


def test_a_move_is_told_once(
    engines: Engines, seedbed: SeedbedCli, project: str, data_dir: Path
) -> None:
    one = int(seedbed.ok("task", "add", "--project", project, "--title", "One").out)
    two = int(seedbed.ok("task", "add", "--project", project, "--title", "Two").out)
    engines.start(env=NEVER_IDLE)
    with SyncClient.connect(data_dir) as client:
        client.subscribe([TASKS])
        listen(client, WATCHER_LOOKS_S)  # the watcher's baseline
        client.call("tasks.move_before", {"task_id": two, "before_id": one})
        # The verb tells it (both moved), and the watcher sees the store change: each
        # is told once all the same.
        assert sorted(told_tasks(listen(client, WATCHER_LOOKS_S))) == [one, two]
        # A write the engine did not make (another connection's) is told too, once.
        store = Store.open(data_dir)
        try:
            store.update_task(one, title="Uno")
        finally:
            store.close()
        assert told_tasks(listen(client, WATCHER_LOOKS_S)) == [one]


def test_every_event_of_a_run_is_told_once(
    engines: Engines, seedbed: SeedbedCli, project: str, data_dir: Path
) -> None:
    script = "for i in $(seq 1 400); do echo line $i; done"
    seedbed.ok("profile", "add", "printer", "--kind", "command", "--command", script)
    task = int(
        seedbed.ok("task", "add", "--project", project, "--title", "P", "--profile", "printer").out
    )
    engines.start(env=NEVER_IDLE)
    with SyncClient.connect(data_dir) as client:
        client.subscribe([EVENTS, TASKS])
        client.call("tasks.start_task", {"task_id": task})
        notes: list[Notification] = []

        def ended() -> bool:
            notes.extend(listen(client, 0.2))
            detail = client.call("task_detail.task_detail", {"task_id": task})
            return bool(detail["state"] == "awaiting_review")

        wait_for(ended, 30, "the run ended")
        notes += listen(client, WATCHER_LOOKS_S)
        runs = client.call("reads.list_runs", {"task_id": task})
        run_id = runs[-1]["id"]
        count = client.call("transcript.log_row_count", {"run_id": run_id})
    seqs = told_seqs(notes, run_id)
    assert seqs == sorted(set(seqs)), "a seq was told twice"
    assert seqs[0] == 0 and seqs == list(range(len(seqs)))
    assert len(seqs) >= count  # rows are the events shown: every one was told
    events = [n for n in notes if n.params["topic"] == EVENTS]
    assert len(events) < 400 / 4, "the events were not gathered"
    # Each tells the run's log rows as they were then: growing, the last one exact.
    told_rows = [
        run["rows"]
        for n in events
        for run in n.params["payload"]["runs"]
        if run["run_id"] == run_id
    ]
    assert None not in told_rows and told_rows == sorted(told_rows)
    assert told_rows[-1] == count


def publisher_heard(every_s: float, feed: Any) -> list[tuple[str, Any]]:
    published: list[tuple[str, Any]] = []

    async def main() -> None:
        publisher = Publisher(
            lambda topic, payload: published.append((topic, payload)), None, every_s
        )
        running = asyncio.create_task(publisher.run())
        await feed(publisher)
        running.cancel()
        await publisher.flush()

    asyncio.run(main())
    return published


def test_two_sources_overlapping_tell_each_seq_once() -> None:
    async def feed(publisher: Publisher) -> None:
        for first, last in [(0, 9), (0, 4), (3, 12), (10, 15)]:
            # the engine's own (0..9, 10..15) and the watcher's, late (0..4, 3..12)
            publisher.events(7, 1, first, last)
            await asyncio.sleep(0.03)  # each published before the next arrives
        publisher.events(7, 2, 0, 0)
        publisher.events(7, 1, 0, 15)

    published = publisher_heard(0.01, feed)
    ranges = [
        (r.run_id, r.first, r.last) for topic, p in published if topic == EVENTS for r in p.runs
    ]
    assert ranges == [(1, 0, 9), (1, 10, 12), (1, 13, 15), (2, 0, 0)]


def test_a_burst_is_gathered_into_few_notifications() -> None:
    async def feed(publisher: Publisher) -> None:
        for i in range(200):
            publisher.task(i % 20)
            publisher.events(i % 20, i % 20, i, i)
            await asyncio.sleep(0.001)

    published = publisher_heard(0.1, feed)
    tasks = [p for topic, p in published if topic == TASKS]
    assert sorted({t for p in tasks for t in p.task_ids}) == list(range(20))
    # ≥ 0.2 s of hints, at most one notification of a topic each 0.1 s (and the first)
    assert 2 <= len(tasks) <= 6


def test_a_flush_that_fails_is_tried_again_and_the_publisher_goes_on() -> None:
    """A storage error while the watcher takes a task in (the database busy, say) loses
    nothing: the tasks taken out are put back and told on the next try."""
    published: list[tuple[str, Any]] = []
    failures = [sqlite3.OperationalError("database is locked")]

    async def absorb(_task_ids: set[int], _projects: bool) -> None:
        if failures:
            raise failures.pop()

    async def main() -> None:
        publisher = Publisher(lambda topic, payload: published.append((topic, payload)), absorb)
        running = asyncio.create_task(publisher.run())
        publisher.task(3)
        publisher.events(3, 1, 0, 4)
        deadline = time.monotonic() + 5
        while not any(topic == TASKS for topic, _p in published):
            assert time.monotonic() < deadline, "the tasks were never told after the failure"
            await asyncio.sleep(0.02)
        publisher.task(4)  # and it goes on telling what comes after
        while not any(topic == TASKS and 4 in p.task_ids for topic, p in published):
            assert time.monotonic() < deadline, "the publisher stopped after the failure"
            await asyncio.sleep(0.02)
        running.cancel()

    asyncio.run(main())
    assert [p.task_ids for topic, p in published if topic == TASKS] == [[3], [4]]
    assert [(r.first, r.last) for topic, p in published if topic == EVENTS for r in p.runs] == [
        (0, 4)
    ]
