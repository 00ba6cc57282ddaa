"""api_call_ms: one round trip of a trivial verb through the engine's API.

A real engine process serves the API on a Unix socket in a temp data dir, with one
blocking verb (`ping`: run on a worker thread, as every core verb is). This process calls
it 2,000 times (300 with --quick) with the sync client (the command line's) and with the
async client (the window's), after a warm-up; the medians are `api_call_sync_ms` and
`api_call_async_ms`, and `api_call_ms` is the slower of the two. Target: at most 20.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from harness import Figures, benchmark, log, median, temp_dir

ENGINE = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from pydantic import BaseModel
    from seedbed.api.registry import Registry
    from seedbed.api.server import ApiServer

    class Nothing(BaseModel):
        pass

    async def main():
        registry = Registry()
        registry.add("ping", Nothing, int, lambda params: 1)
        server = ApiServer(registry, Path(sys.argv[1]))
        await server.serve_unix()
        print("serving", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def _sync_round_trips(data_dir: Path, calls: int) -> list[float]:
    from seedbed.api.sync_client import SyncClient

    times: list[float] = []
    with SyncClient.connect(data_dir) as client:
        for _ in range(50):
            client.call("ping")
        for _ in range(calls):
            start = time.perf_counter()
            client.call("ping")
            times.append(time.perf_counter() - start)
    return times


async def _async_round_trips(data_dir: Path, calls: int) -> list[float]:
    from seedbed.api.client import ApiClient

    times: list[float] = []
    async with await ApiClient.connect(data_dir) as client:
        for _ in range(50):
            await client.call("ping")
        for _ in range(calls):
            start = time.perf_counter()
            await client.call("ping")
            times.append(time.perf_counter() - start)
    return times


@benchmark("api_call_ms", order=60)
def api_call_ms(quick: bool) -> Figures:
    calls = 300 if quick else 2_000
    with temp_dir("api") as tmp:
        data_dir = tmp / "data"
        data_dir.mkdir()
        with subprocess.Popen(
            [sys.executable, "-c", ENGINE, str(data_dir)], stdout=subprocess.PIPE, text=True
        ) as engine:
            try:
                if engine.stdout is None or engine.stdout.readline().strip() != "serving":
                    raise RuntimeError("the engine process did not start serving")
                sync_ms = median(_sync_round_trips(data_dir, calls)) * 1000
                async_ms = median(asyncio.run(_async_round_trips(data_dir, calls))) * 1000
            finally:
                engine.terminate()
                engine.wait(10)
    log(f"{calls} calls each: sync {sync_ms:.3f} ms, async {async_ms:.3f} ms (median)")
    return {
        "api_call_ms": round(max(sync_ms, async_ms), 3),
        "api_call_sync_ms": round(sync_ms, 3),
        "api_call_async_ms": round(async_ms, 3),
    }
