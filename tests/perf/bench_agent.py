"""agent_overhead_ms_per_turn: the built-in agent's own CPU time per model turn.

A scripted model server runs in a separate process (so its time is not counted) and
answers every call with the same streamed answer: 200 chunks of text and a tool call
(`list_files`) whose arguments are split across deltas. The agent's loop runs for real
(provider, SSE parsing, events, the tool, the growing conversation) and we take this
process's CPU time per turn, less the time spent executing the tool (the tool's work,
not the turn's overhead): `agent_turn_cpu_ms`.

Part of that is the HTTP client itself: httpx, h11 and httpx-sse handling 200 chunks,
measured alone on the same stream as `agent_http_floor_ms`. What Seedbed adds on top,
`agent_overhead_ms_per_turn`, is the difference of the two medians.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from harness import Figures, benchmark, log, make_repo, median, temp_dir

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from tests.model_server import ModelServer, answer
    pieces = ["word%d " % n for n in range(190)]
    with ModelServer() as server:
        server.script(*[
            answer(pieces, tool_calls=[("call_%d" % n, "list_files", {{"path": "src"}})],
                   usage=(2000, 300), arg_split=2)
            for n in range({turns})
        ])
        print(server.openai_url, flush=True)
        sys.stdin.read()
    """
)


async def _floor(base_url: str, turns: int) -> list[float]:
    """CPU per answer of httpx + httpx-sse alone, reading and JSON-decoding every event."""
    import httpx
    from httpx_sse import aconnect_sse

    times: list[float] = []
    body = {"model": "bench", "messages": [], "stream": True}
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(turns):
            start = time.process_time()
            async with aconnect_sse(
                client, "POST", f"{base_url}/chat/completions", json=body
            ) as source:
                async for event in source.aiter_sse():
                    if event.data != "[DONE]":
                        json.loads(event.data)
            times.append((time.process_time() - start) * 1000)
    return times


async def _run(worktree: Path, base_url: str, turns: int) -> list[float]:
    from seedbed.agents.base import RunRequest
    from seedbed.agents.builtin import tools
    from seedbed.agents.builtin.loop import BuiltinRuntime
    from seedbed.domain.events import UsageEvent
    from seedbed.domain.models import AgentKind, AgentProfile, ProviderKind, RunKind

    profile = AgentProfile(
        name="bench",
        kind=AgentKind.BUILTIN,
        provider=ProviderKind.OPENAI,
        model="bench",
        base_url=base_url,
        max_turns=turns,
        context_window=1_000_000,
    )
    request = RunRequest(
        task_id=1,
        run_id=1,
        run_number=1,
        kind=RunKind.IMPLEMENT,
        title="bench",
        prompt="bench",
        worktree=worktree,
    )
    tool_time = [0.0]
    call = tools.Toolbox.call

    async def timed_call(self: tools.Toolbox, name: str, arguments: str) -> tools.ToolResult:
        start = time.process_time()
        try:
            return await call(self, name, arguments)
        finally:
            tool_time[0] += time.process_time() - start

    tools.Toolbox.call = timed_call  # type: ignore[method-assign]
    try:
        run = await BuiltinRuntime(profile).start(request)
        marks = [time.process_time()]
        async for batch in run.events():
            if any(isinstance(event, UsageEvent) for event in batch):
                marks.append(time.process_time() - tool_time[0])
    finally:
        tools.Toolbox.call = call  # type: ignore[method-assign]
    return [(b - a) * 1000 for a, b in itertools.pairwise(marks)]


@benchmark("agent_overhead_ms_per_turn", order=40)
def agent_overhead_ms_per_turn(quick: bool) -> Figures:
    turns = 30 if quick else 150
    with temp_dir("agent") as tmp:
        worktree = make_repo(tmp / "repo", 50)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER.format(root=str(REPO_ROOT), turns=2 * turns + 1)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            log(f"{turns} turns of a 200-chunk answer with a tool call from {url}")
            per_turn = asyncio.run(_run(worktree, url, turns))
            floor = asyncio.run(_floor(url, turns))
        finally:
            server.communicate("", timeout=30)
    turn_ms = median(per_turn[2:])
    floor_ms = median(floor[2:])
    return {
        "agent_overhead_ms_per_turn": round(turn_ms - floor_ms, 2),
        "agent_turn_cpu_ms": round(turn_ms, 2),
        "agent_http_floor_ms": round(floor_ms, 2),
    }
