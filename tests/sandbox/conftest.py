"""Fixtures of the sandbox's network tests: a real filtering proxy on a Unix socket (its
loop in a thread of its own, as the engine's is), a plain HTTP server the allowlist does
not name, and the bubblewrap command line that runs the relay inside a sandbox with no
network of its own."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from seedbed.sandbox.allowlist import Allowlist
from seedbed.sandbox.proxy import FilteringProxy, ProxyLimits
from tests.model_server import ModelServer

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is missing")


class RunningProxy:
    """A FilteringProxy serving on its own loop thread; `refused` is what it reported."""

    def __init__(self, socket_path: Path, allowed: Allowlist, limits: ProxyLimits) -> None:
        self.socket_path = socket_path
        self.refused: list[tuple[str, int]] = []
        self._refused_lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.proxy = FilteringProxy(allowed, self._on_refused, limits)
        self.call(self.proxy.start(socket_path))

    def _on_refused(self, host: str, port: int) -> None:
        with self._refused_lock:
            self.refused.append((host, port))

    def call(self, coroutine: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.call(self.proxy.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()


ProxyFactory = Callable[..., RunningProxy]


@pytest.fixture
def socket_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short directory for the proxy's socket (a Unix socket's path has ~100 bytes)."""
    return tmp_path_factory.mktemp("px")


@pytest.fixture
def start_proxy(socket_dir: Path) -> Iterator[ProxyFactory]:
    """`start_proxy(*entries, limits=None)`: a proxy allowing those hosts, on
    `socket_dir/proxy.sock`; closed at the end."""
    started: list[RunningProxy] = []

    def start(*entries: str, limits: ProxyLimits | None = None) -> RunningProxy:
        proxy = RunningProxy(
            socket_dir / "proxy.sock", Allowlist(entries=entries), limits or ProxyLimits()
        )
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.close()


class _Plain(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b"the plain server's secret\n"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def plain_server() -> Iterator[int]:
    """A plain HTTP server on 127.0.0.1 (not the model server); its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Plain)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def free_port() -> int:
    """A port free on this machine's loopback now, for a relay run outside a sandbox
    (which must not take 3128, the default, from whatever else uses it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_of(server: ModelServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def sandboxed(socket_dir: Path, relay_args: list[str], argv: list[str]) -> list[str]:
    """The relay, with `relay_args`, running `argv` in a bubblewrap sandbox that has no
    network but its own loopback and the proxy's socket directory."""
    return [
        "bwrap",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--unshare-net",
        "--unshare-pid",
        "--die-with-parent",
        "--bind", str(socket_dir), str(socket_dir),
        "--",
        *relay(socket_dir, relay_args, argv),
    ]  # fmt: skip


def relay(socket_dir: Path, relay_args: list[str], argv: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "seedbed.sandbox.relay",
        "--proxy-socket",
        str(socket_dir / "proxy.sock"),
        *relay_args,
        "--",
        *argv,
    ]


def run(argv: list[str], timeout: float = 30, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


@pytest.fixture
def other_server(plain_server: int) -> str:
    """The plain server's URL: an HTTP server on 127.0.0.1 that is not the model server."""
    return f"http://127.0.0.1:{plain_server}/"
