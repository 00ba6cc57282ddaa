"""Finding and reaching the engine: versions, tokens, the socket's place, its end."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from seedbed.api.client import ApiClient
from seedbed.api.endpoint import RECORD_NAME, SOCKET_NAME, TOKEN_NAME, TcpEndpoint, UnixEndpoint
from seedbed.api.errors import AccessRefused, EngineStopped, EngineUnavailable, ProtocolMismatch
from seedbed.api.protocol import PROTOCOL_VERSION
from seedbed.api.registry import Registry
from seedbed.api.server import ApiServer
from seedbed.api.socket_path import SUN_PATH_MAX
from seedbed.api.sync_client import SyncClient
from seedbed.domain.errors import Busy
from tests.api.conftest import Echoed
from tests.api.relay import forwarded


def test_the_socket_is_in_the_data_dir_and_only_the_user_may_use_it(engine, data_dir) -> None:
    running = engine()
    path = data_dir / SOCKET_NAME
    assert running.server.endpoint == UnixEndpoint(path=path)
    info = os.lstat(path)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert not (data_dir / RECORD_NAME).exists()
    running.close()
    assert not path.exists()


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_no_engine_is_said_plainly(data_dir, client_kind: str) -> None:
    with pytest.raises(EngineUnavailable) as caught:
        if client_kind == "sync":
            SyncClient.connect(data_dir)
        else:
            asyncio.run(ApiClient.connect(data_dir))
    assert str(caught.value) == f"no engine is running for {data_dir}"


def test_a_newer_client_is_told_to_restart_the_engine(engine, data_dir) -> None:
    engine(protocol=1)
    with pytest.raises(ProtocolMismatch) as caught:
        SyncClient.connect(data_dir, client_name="window", protocol=2)
    assert str(caught.value) == (
        f"this window (protocol 2) is newer than the engine (protocol 1) of {data_dir}: "
        "restart the engine"
    )


def test_an_older_client_is_told_it_is_older(engine, data_dir) -> None:
    engine(protocol=2)

    async def scenario() -> None:
        await ApiClient.connect(data_dir, client_name="window", protocol=1)

    with pytest.raises(ProtocolMismatch) as caught:
        asyncio.run(asyncio.wait_for(scenario(), 5))  # a clear error, never a hang
    assert str(caught.value) == (
        f"this window (protocol 1) is older than the engine (protocol 2) of {data_dir}: "
        "restart this window with the newer Seedbed"
    )


def test_a_client_of_a_closed_engine_is_told_it_stopped(engine, data_dir) -> None:
    running = engine()

    async def scenario() -> list[str]:
        client = await ApiClient.connect(data_dir)
        await client.subscribe(["changes"])
        waiting = asyncio.create_task(client.call("never"))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(running.close)
        errors = []
        for attempt in (
            waiting,
            client.call("echo", {"text": "x"}),
            anext(client.notifications()),
        ):
            with pytest.raises(EngineStopped) as caught:
                await asyncio.wait_for(attempt, 5)
            errors.append(str(caught.value))
        await client.close()
        return errors

    assert asyncio.run(scenario()) == [f"the engine of {data_dir} stopped (connection closed)"] * 3


ENGINE_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from seedbed.api.registry import Registry
    from seedbed.api.server import ApiServer

    async def main():
        server = ApiServer(Registry(), Path(sys.argv[1]))
        await server.serve_unix()
        print("serving", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def test_an_engine_killed_with_sigkill_is_said_stopped_and_its_socket_replaced(
    data_dir, engine
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", ENGINE_SCRIPT, str(data_dir)], stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout.readline().strip() == "serving"
            client = SyncClient.connect(data_dir)
            assert client.hello().pid == process.pid
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
            with pytest.raises(EngineStopped, match=r"stopped \(connection closed\)$"):
                client.call("hello")
            client.close()
        finally:
            process.kill()
    # It left its socket behind; the next engine replaces it.
    assert (data_dir / SOCKET_NAME).exists()
    with pytest.raises(EngineUnavailable, match=r"^no engine is running for "):
        SyncClient.connect(data_dir)
    engine()
    with SyncClient.connect(data_dir) as client:
        assert client.hello().pid == os.getpid()


def test_a_stale_socket_file_is_replaced(engine, data_dir) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(data_dir / SOCKET_NAME))
    stale.close()  # what a dead engine leaves: the file, nobody listening
    engine()
    with SyncClient.connect(data_dir) as client:
        assert client.call("echo", {"text": "new"}, Echoed).text == "new"


def test_a_live_engines_socket_is_refused_and_left_alone(engine, data_dir) -> None:
    engine()
    with pytest.raises(Busy) as caught:
        engine()
    assert str(caught.value) == f"an engine already serves {data_dir}"
    with SyncClient.connect(data_dir) as client:
        assert client.call("echo", {"text": "first"}, Echoed).text == "first"


def test_a_file_in_the_way_of_the_socket_is_not_removed(engine, data_dir) -> None:
    (data_dir / SOCKET_NAME).write_text("mine")
    with pytest.raises(Exception, match="is in the way of the engine's socket"):
        engine()
    assert (data_dir / SOCKET_NAME).read_text() == "mine"


def test_a_data_dir_too_deep_for_a_socket_gets_a_short_private_path(
    engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = Path(os.environ.get("TMPDIR", "/tmp")) / f"sb-rt-{os.getpid()}"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 5)
    deep.mkdir(parents=True)
    assert len(os.fsencode(deep / SOCKET_NAME)) > SUN_PATH_MAX
    try:
        running = engine(directory=deep)
        path = running.server.endpoint.path
        assert path.is_relative_to(runtime)
        assert len(os.fsencode(path)) <= SUN_PATH_MAX
        assert stat.S_IMODE(os.lstat(path.parent).st_mode) == 0o700
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
        assert (deep / RECORD_NAME).exists()
        # A client given only the data dir finds it.
        with SyncClient.connect(deep) as client:
            assert client.hello().data_dir == str(deep)
        running.close()
        assert not path.exists()
    finally:
        for leftover in sorted(runtime.rglob("*"), reverse=True):
            leftover.rmdir() if leftover.is_dir() else leftover.unlink()
        runtime.rmdir()


def test_tcp_needs_the_token_the_engine_wrote(engine, data_dir) -> None:
    running = engine(tcp=True)
    endpoint = running.server.endpoint
    assert isinstance(endpoint, TcpEndpoint)
    assert endpoint.host == "127.0.0.1"
    token_file = data_dir / TOKEN_NAME
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text()
    # The right token, read from the data dir: served.
    with SyncClient.connect(data_dir) as client:
        assert client.call("echo", {"text": "tcp"}, Echoed).text == "tcp"

    async def with_token(given: str | None) -> None:
        client = await ApiClient.connect(data_dir, endpoint=endpoint, token=given)
        await client.close()

    asyncio.run(with_token(token))
    with pytest.raises(AccessRefused, match="refused this client's token"):
        asyncio.run(with_token(token[:-1] + ("A" if token[-1] != "A" else "B")))
    token_file.unlink()  # no token to present at all
    with pytest.raises(AccessRefused, match="refused this command's token"):
        SyncClient.connect(data_dir)


def test_a_unix_engine_with_a_token_checks_it_too(engine, data_dir) -> None:
    engine(token="s3cret")
    with pytest.raises(AccessRefused):
        SyncClient.connect(data_dir)
    with SyncClient.connect(data_dir, token="s3cret") as client:
        assert client.hello().protocol == PROTOCOL_VERSION


def test_connecting_takes_little_time(engine, data_dir) -> None:
    """A sanity bound: a refused or absent engine answers at once, never after a timeout."""
    ApiServer(Registry(), data_dir)  # built, never serving
    start = time.perf_counter()
    with pytest.raises(EngineUnavailable):
        SyncClient.connect(data_dir)
    assert time.perf_counter() - start < 2


def test_a_forwarded_socket_reaches_the_engine(engine, data_dir, tmp_path: Path) -> None:
    """What `ssh -L local.sock:remote.sock` does: a socket elsewhere relaying the bytes."""
    running = engine()
    with forwarded(data_dir / SOCKET_NAME, tmp_path / "fwd.sock") as relay_path:
        here = tmp_path / "local-name"  # how this client names the engine in its sentences
        with SyncClient.connect(here, endpoint=UnixEndpoint(path=relay_path)) as client:
            assert client.hello().data_dir == str(data_dir)
            client.subscribe(["changes"])
            running.publish("changes", "through the tunnel")
            assert client.receive(timeout=5).params["payload"] == "through the tunnel"


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_an_engine_closing_as_the_connection_opens_is_said_unavailable(
    data_dir: Path, client_kind: str
) -> None:
    """An engine stopping accepts, then closes before the handshake (a client's write
    then breaks): one sentence, not a websockets traceback (seen in a test's teardown)."""
    path = data_dir / "closing.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def close_at_once() -> None:
        conn, _ = listener.accept()
        conn.close()

    import threading

    closer = threading.Thread(target=close_at_once)
    closer.start()
    endpoint = UnixEndpoint(path=path)
    try:
        with pytest.raises(EngineUnavailable) as caught:
            if client_kind == "sync":
                time.sleep(0)  # the connect races the close, as at an engine's stop
                SyncClient.connect(data_dir, endpoint=endpoint).close()
            else:
                asyncio.run(_connect_and_close(data_dir, endpoint))
        assert "engine" in str(caught.value)
    finally:
        closer.join(5)
        listener.close()


async def _connect_and_close(data_dir: Path, endpoint: UnixEndpoint) -> None:
    client = await ApiClient.connect(data_dir, endpoint=endpoint)
    await client.close()
