"""Calls of verbs over a real socket: results, the verbs' own errors, refused requests."""

from __future__ import annotations

import asyncio
import json
import os
import threading

import pytest
from pydantic import ValidationError
from websockets.asyncio.client import unix_connect

from seedbed import __version__
from seedbed.api.client import ApiClient
from seedbed.api.errors import EngineFailed, ProtocolMismatch
from seedbed.api.protocol import (
    PROTOCOL_VERSION,
    ErrorCode,
    Hello,
    parse_client_bound,
    subprotocol,
)
from seedbed.api.sync_client import SyncClient
from seedbed.domain.errors import Busy, NotFound, OperationError, SeedbedError, UserError
from tests.api.conftest import GATE, Echo, Echoed


def test_a_blocking_verb_round_trips_on_a_worker_thread(engine) -> None:
    running = engine()
    with SyncClient.connect(running.data_dir) as client:
        result = client.call("echo", Echo(text="ab", times=3), Echoed)
    assert result.text == "ababab"
    # Blocking verbs leave the engine's loop free: they run on a worker thread.
    assert result.thread not in {"engine-loop", threading.current_thread().name}


def test_waiting_verbs_never_hold_up_the_others(engine) -> None:
    """More calls of a waiting verb (an approve queued behind others) than the default
    pool has threads: a quick verb still answers at once, and the waiting ones run in
    their own pool."""
    running = engine()
    GATE.clear()

    async def scenario() -> tuple[Echoed, list[Echoed]]:
        async with await ApiClient.connect(running.data_dir) as client:
            waiting = [
                asyncio.create_task(client.call("wait", Echo(text=str(i)), Echoed))
                for i in range((os.cpu_count() or 1) + 8)
            ]
            await asyncio.sleep(0.2)  # every one of them is waiting now
            quick = await asyncio.wait_for(client.call("echo", Echo(text="now"), Echoed), 5)
            assert not any(task.done() for task in waiting)
            GATE.set()
            return quick, list(await asyncio.gather(*waiting))

    try:
        quick, waited = asyncio.run(scenario())
    finally:
        GATE.set()
    assert quick.text == "now"
    assert all(result.thread.startswith("seedbed-waiting") for result in waited)


def test_an_async_verb_runs_on_the_engine_loop(engine) -> None:
    running = engine()

    async def scenario() -> Echoed:
        async with await ApiClient.connect(running.data_dir) as client:
            return await client.call("async_echo", {"text": "hi"}, Echoed)

    assert asyncio.run(scenario()) == Echoed(text="HI", thread="engine-loop")


def test_without_a_result_type_the_result_is_plain_json(engine) -> None:
    running = engine()
    with SyncClient.connect(running.data_dir) as client:
        result = client.call("echo", {"text": "x"})
    assert type(result) is dict
    assert result["text"] == "x"


def test_hello_says_who_answers(engine) -> None:
    running = engine()
    with SyncClient.connect(running.data_dir) as client:
        hello = client.hello()
    assert hello == Hello(
        engine_version=__version__,
        protocol=PROTOCOL_VERSION,
        data_dir=str(running.data_dir),
        pid=os.getpid(),
    )


@pytest.mark.parametrize(
    ("verb", "raised", "message"),
    [
        ("refuse", UserError, "task 7 cannot move from merged to running"),
        ("missing", NotFound, "no task with id 7"),
        ("busy", Busy, "task 7 is being merged"),
        ("failed", OperationError, "the merge of task 7 conflicts in README.md"),
        ("crash", EngineFailed, "the engine failed in 'crash': RuntimeError: disk on fire"),
    ],
)
def test_a_verbs_error_reaches_the_client_as_the_same_kind_and_sentence(
    engine, verb: str, raised: type[SeedbedError], message: str
) -> None:
    running = engine()
    with SyncClient.connect(running.data_dir) as client:
        with pytest.raises(raised) as caught:
            client.call(verb, {"task_id": 7})
        assert type(caught.value) is raised
        assert str(caught.value) == message
        # The connection outlives an error.
        assert client.call("echo", {"text": "still here"}, Echoed).text == "still here"


def test_an_async_client_gets_the_same_errors(engine) -> None:
    running = engine()

    async def scenario() -> None:
        async with await ApiClient.connect(running.data_dir) as client:
            with pytest.raises(NotFound, match=r"^no task with id 3$"):
                await client.call("missing", {"task_id": 3})

    asyncio.run(scenario())


def test_a_result_that_does_not_fit_its_type_fails_in_the_engine_naming_the_verb(engine) -> None:
    running = engine()
    with SyncClient.connect(running.data_dir) as client, pytest.raises(EngineFailed) as caught:
        client.call("wrong_result", {"task_id": 1})
    assert str(caught.value).startswith("the engine failed in 'wrong_result'")


def test_an_unknown_verb_is_named(engine) -> None:
    running = engine()
    with SyncClient.connect(running.data_dir) as client, pytest.raises(ProtocolMismatch) as caught:
        client.call("task.frobnicate", {})
    assert str(caught.value) == (
        "the engine has no verb 'task.frobnicate': restart it if it is older than this client"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"text": "x", "times": 11}, "echo: times: Input should be less than or equal to 10"),
        ({"times": 2}, "echo: text: Field required"),
        ({"text": ["x"]}, "echo: text: Input should be a valid string"),
    ],
)
def test_bad_params_name_the_verb_and_the_field(engine, params: dict, message: str) -> None:
    running = engine()
    with SyncClient.connect(running.data_dir) as client, pytest.raises(UserError) as caught:
        client.call("echo", params)
    assert str(caught.value) == message


def test_the_wire_carries_json_rpc_codes(engine) -> None:
    """What another client (in another language) sees: JSON-RPC 2.0 as specified."""
    running = engine()

    async def exchange(*messages: str) -> list[dict]:
        async with unix_connect(
            str(running.server.endpoint.path), subprotocols=[subprotocol(PROTOCOL_VERSION)]
        ) as ws:
            replies = []
            for message in messages:
                await ws.send(message)
                replies.append(json.loads(await ws.recv()))
            return replies

    replies = asyncio.run(
        exchange(
            '{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"text": "a"}}',
            '{"jsonrpc": "2.0", "id": "b", "method": "nope"}',
            '{"jsonrpc": "2.0", "id": 3, "method": "echo", "params": {}}',
            "{not json",
            '{"id": 4, "method": "echo"}',
        )
    )
    assert replies[0]["id"] == 1
    assert replies[0]["result"]["text"] == "a"
    assert (replies[1]["id"], replies[1]["error"]["code"]) == ("b", ErrorCode.METHOD_NOT_FOUND)
    assert replies[2]["error"]["code"] == ErrorCode.INVALID_PARAMS
    assert replies[2]["error"]["data"] == {"kind": "user", "verb": "echo", "field": "text"}
    assert (replies[3]["id"], replies[3]["error"]["code"]) == (None, ErrorCode.PARSE_ERROR)
    assert (replies[4]["id"], replies[4]["error"]["code"]) == (4, ErrorCode.INVALID_REQUEST)


def test_a_sync_client_works_from_a_plain_thread(engine) -> None:
    running = engine()
    seen: list[object] = []

    def work() -> None:
        with SyncClient.connect(running.data_dir) as client:
            seen.append(client.call("echo", {"text": "t"}, Echoed).text)
            client.subscribe(["changes"])
            running.publish("changes", {"task": 5})
            seen.append(client.receive(timeout=5).params)

    worker = threading.Thread(target=work, name="plain")
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    assert seen == ["t", {"topic": "changes", "payload": {"task": 5}}]


def test_one_sync_client_shared_by_threads_answers_each_its_own(engine) -> None:
    running = engine()
    results: dict[int, str] = {}
    with SyncClient.connect(running.data_dir) as client:

        def work(number: int) -> None:
            for _ in range(20):
                results[number] = client.call("echo", {"text": str(number)}, Echoed).text

        workers = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(10)
    assert results == {n: str(n) for n in range(4)}


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ('{"jsonrpc": "2.0", "id": 1, "result": [1, 2]}', "Response"),
        (
            '{"jsonrpc": "2.0", "id": null, "error": {"code": -32001, "message": "no",'
            ' "data": {"kind": "user"}}}',
            "ErrorResponse",
        ),
        ('{"jsonrpc": "2.0", "method": "event", "params": {"topic": "tasks"}}', "Notification"),
        ('{"jsonrpc": "2.0", "id": 1, "result": 1, "error": 2}', None),  # both
        ('{"jsonrpc": "2.0", "id": 1, "method": "event"}', None),  # a note has no id
        ("[1]", None),
    ],
)
def test_what_the_engine_sends_is_read_by_its_keys(message: str, kind: str | None) -> None:
    if kind is None:
        with pytest.raises(ValidationError):
            parse_client_bound(message)
    else:
        assert type(parse_client_bound(message)).__name__ == kind
