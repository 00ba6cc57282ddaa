"""sandbox_proxy_overhead: a streamed model answer through the sandbox's network, against
the same answer fetched directly.

A scripted model server runs in its own process and answers every call with the same
OpenAI chat stream of 200 text deltas, each its own HTTP chunk, sent as fast as it can
(the worst case for a proxy: every chunk costs it the same, and there is no wait between
them to hide that in). One client process fetches
it over and over on one kept-alive connection (as an agent's HTTP client does) and times
each answer from the request to its last byte. Run directly, it talks to the server;
run in a bubblewrap sandbox with no network of its own, it talks to the relay's forwarded
port, which tunnels through the filtering proxy (on a loop thread of this process, as in
the engine) to the server. `sandbox_proxy_overhead` is the ratio of the two medians
(target: at most 1.1); the medians themselves are `sandbox_proxy_answer_ms` and
`sandbox_direct_answer_ms`. `sandbox_proxy_overhead_paced` is the same ratio for chunks
1 ms apart, closer to a model's pace (a fast one streams a token every 5-20 ms).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from harness import Figures, benchmark, log, median, temp_dir

from seedbed.sandbox.allowlist import Allowlist
from seedbed.sandbox.proxy import FilteringProxy

REPO_ROOT = Path(__file__).resolve().parents[2]
CHUNKS = 200

SERVER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from tests.model_server import ModelServer, answer
    pieces = ["word%d " % n for n in range({chunks})]
    with ModelServer() as server:
        server.script(*[
            answer(pieces, usage=(2000, 300), chunk_delay={delay}) for n in range({answers})
        ])
        print(server.url, flush=True)
        sys.stdin.read()
    """
)

CLIENT = textwrap.dedent(
    """
    import http.client, json, sys, time
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    connection = http.client.HTTPConnection(host, port, timeout=30)
    body = json.dumps({"model": "bench", "messages": [], "stream": True})
    headers = {"content-type": "application/json"}
    times = []
    for _ in range(count):
        start = time.perf_counter()
        connection.request("POST", "/v1/chat/completions", body, headers)
        response = connection.getresponse()
        data = response.read()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status == 200 and data.endswith(b"data: [DONE]\\n\\n"), data[-200:]
    print(json.dumps(times))
    """
)


class _ProxyThread:
    """The filtering proxy on its own loop thread."""

    def __init__(self, socket_path: Path, allowed: Allowlist) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.proxy = FilteringProxy(allowed, lambda host, port: log(f"refused {host}:{port}"))
        asyncio.run_coroutine_threadsafe(self.proxy.start(socket_path), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def _fetch(argv: list[str]) -> list[float]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the client failed ({result.returncode}): {result.stderr[-2000:]}")
    times: list[float] = json.loads(result.stdout)
    return times


def _measure(tmp: Path, answers: int, rounds: int, chunk_delay: float) -> tuple[float, float]:
    """Median ms of one answer: direct, then through relay and proxy."""
    total = 2 * rounds * answers
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER.format(root=str(REPO_ROOT), chunks=CHUNKS, answers=total, delay=chunk_delay),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    proxy: _ProxyThread | None = None
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        port = url.rsplit(":", 1)[1]
        socket_dir = tmp / f"net-{chunk_delay}"
        socket_dir.mkdir()
        proxy = _ProxyThread(socket_dir / "proxy.sock", Allowlist(entries=(f"127.0.0.1:{port}",)))
        client = [sys.executable, "-c", CLIENT, "127.0.0.1", port, str(answers)]
        sandboxed = [
            "bwrap",
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--unshare-net",
            "--unshare-pid",
            "--die-with-parent",
            "--bind", str(socket_dir), str(socket_dir),
            "--",
            sys.executable, "-m", "seedbed.sandbox.relay",
            "--proxy-socket", str(socket_dir / "proxy.sock"),
            "--forward", f"127.0.0.1:{port}",
            "--",
            *client,
        ]  # fmt: skip
        log(
            f"{rounds} rounds of {answers} answers of {CHUNKS} chunks"
            f" ({chunk_delay * 1000:g} ms apart) each way, from {url}"
        )
        direct: list[float] = []
        proxied: list[float] = []
        # Alternated, so that a busy moment of the machine falls on both sides.
        for _ in range(rounds):
            direct += _fetch(client)[1:]  # the first answer pays the connect
            proxied += _fetch(sandboxed)[1:]
    finally:
        if proxy is not None:
            proxy.close()
        server.communicate("", timeout=30)
    return median(direct), median(proxied)


@benchmark("sandbox_proxy_overhead", order=45)
def sandbox_proxy_overhead(quick: bool) -> Figures:
    with temp_dir("sandbox") as tmp:
        direct_ms, proxied_ms = _measure(tmp, 30 if quick else 200, 3, 0.0)
        paced_direct_ms, paced_proxied_ms = _measure(tmp, 5 if quick else 10, 2, 0.001)
    log(f"one answer: {direct_ms:.2f} ms direct, {proxied_ms:.2f} ms through relay and proxy")
    log(f"paced: {paced_direct_ms:.1f} ms direct, {paced_proxied_ms:.1f} ms through them")
    return {
        "sandbox_proxy_overhead": round(proxied_ms / direct_ms, 3),
        "sandbox_proxy_answer_ms": round(proxied_ms, 2),
        "sandbox_direct_answer_ms": round(direct_ms, 2),
        "sandbox_proxy_overhead_paced": round(paced_proxied_ms / paced_direct_ms, 3),
    }
