"""A child process in its own process group, read line by line, stoppable as a whole.

Every agent CLI and every setup or check command runs through this: output arrives in
batches of lines (one batch per read, so a flood of lines costs one wake-up per 64 KiB,
not one per line), over-long lines are cut with a count of what was cut, and stop or
timeout ends the whole group: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from seedbed import secrets
from seedbed.domain.errors import UserError
from seedbed.domain.events import Stream
from seedbed.sandbox.bwrap import bwrap_argv, sandbox_environment, sandbox_support
from seedbed.sandbox.plan import SandboxPlan
from seedbed.sandbox.refusals import RefusalWatch

LINE_CAP = 64 * 1024
READ_SIZE = 64 * 1024
# After the main process exits, how long its pipes may stay open (held by something it
# left running in the background) before the rest of its group is killed.
DRAIN_SECONDS = 0.5
EXIT_POLL_SECONDS = 0.05

Line = tuple[Stream, str, int]


class SandboxUnavailable(UserError):
    """A sandboxed profile on a machine where no sandbox can be made: never run bare."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"this profile runs its agent in a sandbox, and none can be made here: {problem}; "
            "or set the profile to run without a sandbox (seedbed profile set NAME "
            "--no-sandbox), knowing its agent then runs with all your rights"
        )


@dataclass
class ProcessSpec:
    """Everything needed to start a process; built by pure `prepare` functions."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    stdin: bytes | None = None
    timeout: float | None = None
    grace: float = 5.0
    line_cap: int = LINE_CAP
    streams: tuple[Stream, Stream] = (Stream.STDOUT, Stream.STDERR)
    sandbox: SandboxPlan | None = None  # run inside this sandbox (bubblewrap)


@dataclass
class LineSplitter:
    """Splits a byte stream into lines, keeping at most `cap` bytes of each."""

    stream: Stream
    cap: int = LINE_CAP
    _pending: bytes = b""
    _cut: int = 0

    def feed(self, chunk: bytes) -> list[Line]:
        parts = chunk.split(b"\n")
        last = parts.pop()
        lines: list[Line] = []
        for part in parts:
            if self._pending:
                part = self._pending + part
                self._pending = b""
            lines.append(self._line(part))
        if last and len(self._pending) >= self.cap:
            self._cut += len(last)  # already full: count, never copy (a 1 GiB line)
        elif last:
            pending = self._pending + last
            if len(pending) > self.cap:
                self._cut += len(pending) - self.cap
                pending = pending[: self.cap]
            self._pending = pending
        return lines

    def finish(self) -> list[Line]:
        if self._pending or self._cut:
            line = self._line(self._pending)
            self._pending = b""
            return [line]
        return []

    def _line(self, data: bytes) -> Line:
        cut = self._cut + max(0, len(data) - self.cap)
        self._cut = 0
        if len(data) > self.cap:
            data = data[: self.cap]
        return (self.stream, data.decode("utf-8", "replace").rstrip("\r"), cut)


@dataclass
class ManagedProcess:
    """A started process group. Iterate `batches()`, then read `exit_code` and `ended_by`."""

    spec: ProcessSpec
    proc: asyncio.subprocess.Process
    ended_by: str = ""  # "", "stop" or "timeout"
    _queue: asyncio.Queue[list[Line] | None] = field(default_factory=asyncio.Queue)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: asyncio.Task[None] | None = None
    _watch: RefusalWatch | None = None

    @classmethod
    async def start(cls, spec: ProcessSpec) -> ManagedProcess:
        """Start it; raises SandboxUnavailable when its sandbox cannot be made here."""
        argv, env = spec.argv, spec.env
        if spec.sandbox is not None:
            support = sandbox_support()
            if not support.works:
                raise SandboxUnavailable(support.problem)
            argv = bwrap_argv(support.bwrap, spec.sandbox, argv)
            env = sandbox_environment(env, spec.sandbox)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=spec.cwd,
            env=env,
            stdin=asyncio.subprocess.PIPE if spec.stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        self = cls(spec, proc)
        if spec.sandbox is not None:
            self._watch = RefusalWatch(spec.sandbox.network)
        assert proc.stdout is not None and proc.stderr is not None
        self._tasks = [
            asyncio.create_task(self._read(proc.stdout, spec.streams[0])),
            asyncio.create_task(self._read(proc.stderr, spec.streams[1])),
        ]
        if spec.stdin is not None:
            self._tasks.append(asyncio.create_task(self._write_stdin(spec.stdin)))
        if spec.timeout is not None:
            self._tasks.append(asyncio.create_task(self._watchdog(spec.timeout)))
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def sandbox_notes(self, batch: list[Line]) -> list[str]:
        """What the sandbox refused it, as its lines tell, not said before (none when it
        runs unsandboxed)."""
        if self._watch is None:
            return []
        return self._watch.notes([text for _stream, text, _cut in batch])

    @property
    def exit_code(self) -> int | None:
        return self.proc.returncode

    async def batches(self) -> AsyncIterator[list[Line]]:
        """Lines as they come, until both pipes close; then reaps the whole group."""
        open_streams = 2
        waiter = asyncio.create_task(self._reap())
        try:
            while open_streams:
                batch = await self._queue.get()
                if batch is None:
                    open_streams -= 1
                elif batch:
                    yield batch
            await waiter
        finally:
            if not waiter.done():
                await self.stop("stop")
                await waiter
            for task in self._tasks:
                task.cancel()
            kill_group(self.pid, signal.SIGKILL)

    async def stop(self, reason: str = "stop") -> None:
        """SIGTERM to the group, SIGKILL after the grace period; idempotent."""
        if self._stopping is None:
            self.ended_by = self.ended_by or reason
            self._stopping = asyncio.create_task(self._terminate())
        await asyncio.shield(self._stopping)

    async def _terminate(self) -> None:
        kill_group(self.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), self.spec.grace)
        kill_group(self.pid, signal.SIGKILL)

    async def _reap(self) -> None:
        # Not just `proc.wait()`: asyncio also waits there for both pipes to close, which
        # a child left running in the background can put off forever. `returncode` is set
        # as soon as the process itself has exited.
        waiting = asyncio.ensure_future(self.proc.wait())
        try:
            while self.proc.returncode is None:
                await asyncio.wait([waiting], timeout=EXIT_POLL_SECONDS)
        finally:
            waiting.cancel()
        # Anything the process left behind that still holds our pipes gets a moment to
        # finish writing, then is killed with the group: nothing is orphaned.
        await asyncio.sleep(0)
        readers = self._tasks[:2]
        _done, pending = await asyncio.wait(readers, timeout=DRAIN_SECONDS)
        if pending:
            kill_group(self.pid, signal.SIGKILL)
            _done, pending = await asyncio.wait(readers, timeout=DRAIN_SECONDS)
        for reader in pending:
            # Held open by a process that left our group (setsid): stop listening to it.
            reader.cancel()

    async def _read(self, pipe: asyncio.StreamReader, stream: Stream) -> None:
        splitter = LineSplitter(stream, self.spec.line_cap)
        try:
            while chunk := await pipe.read(READ_SIZE):
                lines = splitter.feed(chunk)
                if lines:
                    self._queue.put_nowait(lines)
            self._queue.put_nowait(splitter.finish())
        finally:
            self._queue.put_nowait(None)

    async def _write_stdin(self, data: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()

    async def _watchdog(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self.proc.returncode is None:
            await self.stop("timeout")


def kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc.

    Without /proc (not Linux), any process of the group counts, zombies included.
    """
    if not Path("/proc/self").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            # "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


RUN_MARKER_VARIABLE = "SEEDBED_RUN"


def run_marker(data_dir: Path, run_id: int) -> str:
    """What marks every process of one run, in its environment: the data dir and the run.
    Run ids repeat across data dirs; one data dir's recovery must never take another's
    processes (a second instance, a test suite beside a real engine) for its own."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return f"{digest}:{run_id}"


def base_environment() -> dict[str, str]:
    """The environment children inherit: ours, minus what would confuse git in a worktree."""
    env = dict(os.environ)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    return env


def withheld_variables(env: Mapping[str, str]) -> list[str]:
    """The names of the variables of `env` that carry a key Seedbed's agents use
    (secrets.provider_variables), sorted: what keyless_environment leaves out."""
    withheld = secrets.provider_variables()
    return sorted(name for name in env if name in withheld)


def withheld_note() -> str:
    """The log line naming (never showing) the keys a run's checks, setup command and
    command agent go without; "" when the engine holds none."""
    names = withheld_variables(base_environment())
    if not names:
        return ""
    return (
        "withheld from the setup and check commands and command agents: "
        + ", ".join(names)
        + " (a command profile gets a key it names with --key-name)"
    )


def keyless_environment() -> dict[str, str]:
    """`base_environment` without the provider keys Seedbed's agents use: what a check, a
    setup command or a command agent gets, which has no business with them (a check
    that prints its environment would put them in the log). The project's own keys
    (STRIPE_API_KEY…) stay. A command profile that needs a key names it (`key_name`)
    and gets that one alone."""
    env = base_environment()
    for name in withheld_variables(env):
        del env[name]
    return env
