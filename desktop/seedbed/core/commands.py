"""Running a project's own command (its setup or its checks) in a worktree, its output
recorded in the run's log."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from seedbed.agents.process import (
    RUN_MARKER_VARIABLE,
    ManagedProcess,
    ProcessSpec,
    keyless_environment,
)
from seedbed.core.recorder import EventRecorder
from seedbed.domain.events import ErrorEvent, OutputEvent, StatusEvent, Stream
from seedbed.sandbox.plan import SandboxPlan

CHECK_TAIL_BYTES = 4000


async def project_command(
    command: str,
    worktree: Path,
    timeout: float,
    stream: Stream,
    recorder: EventRecorder,
    ids: tuple[int, int],
    marker: str,
    started: Callable[[ManagedProcess | None], None] = lambda _process: None,
    sandbox: SandboxPlan | None = None,
) -> tuple[int | None, list[str]]:
    """Run a project command (setup or checks) through /bin/sh in `worktree`, its lines
    recorded; its exit code (None when it was stopped or timed out) and its last lines.
    `ids` (task, run) and the run's `marker` mark its processes, so recovery finds them;
    `started` hears of the process (to stop it) and of its end (None); `sandbox`: where
    it runs (None: with the user's rights). Raises SandboxUnavailable."""
    env = keyless_environment()
    env["SEEDBED_TASK_ID"], env["SEEDBED_RUN_ID"] = (str(n) for n in ids)
    env[RUN_MARKER_VARIABLE] = marker
    spec = ProcessSpec(
        argv=["/bin/sh", "-c", command],
        cwd=worktree,
        env=env,
        timeout=timeout,
        streams=(stream, stream),
        sandbox=sandbox,
    )
    process = await ManagedProcess.start(spec)
    started(process)
    lines: list[str] = []
    try:
        async for batch in process.batches():
            recorder.add(
                OutputEvent.model_construct(ts=time.time(), stream=s, line=text, cut=cut)
                for s, text, cut in batch
            )
            recorder.add(
                StatusEvent(ts=time.time(), phase=stream.value, message=note)
                for note in process.sandbox_notes(batch)
            )
            lines.extend(text for _s, text, _cut in batch)
            del lines[:-200]
    finally:
        started(None)
    if process.ended_by == "timeout":
        recorder.add([ErrorEvent(ts=time.time(), message=f"{stream.value} command timed out")])
    return process.exit_code, lines


def tail(lines: list[str], limit: int = CHECK_TAIL_BYTES) -> str:
    text = "\n".join(lines)
    return text[-limit:]
