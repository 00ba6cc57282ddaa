"""`seedbed engine serve|start|status|stop`: the engine process of a data dir."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from seedbed.api.endpoint import ENGINE_SOCKET_ENV, describe, forwarded_endpoint
from seedbed.cli.text import EXIT_FAILED, EXIT_OK
from seedbed.core.context import Context
from seedbed.core.data_dir import owning, settings
from seedbed.domain.errors import UserError
from seedbed.paths import resolve_data_dir
from seedbed.service import launch
from seedbed.service.engine_process import EngineProcess, idle_exit_seconds


def engine_command(args: argparse.Namespace, out: TextIO) -> int:
    data_dir = resolve_data_dir(args.data_dir)
    as_json = bool(getattr(args, "json", False))

    def emit(data: Any, text: str) -> None:
        out.write((json.dumps(data, indent=2) if as_json else text) + "\n")
        out.flush()

    forwarded = forwarded_endpoint(getattr(args, "engine_socket", None))
    if forwarded is not None and args.act != "status":
        raise UserError(
            f"the engine at {describe(forwarded)} (--engine-socket or {ENGINE_SOCKET_ENV}) "
            f"is started and stopped on its own machine: `seedbed engine {args.act}` there"
        )
    if args.act == "serve":
        return serve(data_dir, paused=bool(getattr(args, "paused", False)))
    if args.act == "start":
        started = time.monotonic()
        hello = launch.answering(data_dir)
        already = hello is not None
        if hello is None:
            hello = launch.wait_answering(data_dir, launch.start_detached(data_dir))
        seconds = time.monotonic() - started
        emit(
            {**hello.model_dump(mode="json"), "already_running": already, "seconds": seconds},
            f"engine already running (pid {hello.pid})"
            if already
            else f"engine started (pid {hello.pid}) in {seconds:.2f} s; "
            f"it logs to {launch.log_path(data_dir)}",
        )
        return EXIT_OK
    if args.act == "status":
        status = launch.status(data_dir, forwarded)
        if status is None:
            where = describe(forwarded) if forwarded else data_dir
            emit({"running": False, "data_dir": str(data_dir)}, f"no engine runs for {where}")
            return EXIT_FAILED
        others = max(0, status.clients - 1)  # not counting this command
        lines = [
            f"engine running for {status.data_dir}",
            f"  pid        {status.pid}",
            f"  version    {status.version}",
            f"  socket     {status.socket}",
            f"  uptime     {uptime(status.uptime_s)}",
            f"  running    {len(status.running_tasks)} task(s)"
            + (f": {', '.join(map(str, status.running_tasks))}" if status.running_tasks else ""),
            f"  queued     {status.queued_tasks} task(s)",
            f"  clients    {others} connected",
        ]
        emit({"running": True, **status.model_dump(mode="json")}, "\n".join(lines))
        return EXIT_OK
    # stop
    pid = launch.stop(data_dir)
    if pid is None:
        emit({"stopped": False, "data_dir": str(data_dir)}, f"no engine runs for {data_dir}")
        return EXIT_OK
    emit({"stopped": True, "pid": pid}, f"engine (pid {pid}) stopped")
    return EXIT_OK


def serve(data_dir: Path, paused: bool = False) -> int:
    """The engine in the foreground until stopped: what `engine start` runs detached.
    A `paused` one starts no queued task (a window that only takes a screenshot)."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Not every connection of every client: what the engine itself does, and failures.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    ctx = Context.open(data_dir)
    with owning(ctx, wait=1.0):
        process = EngineProcess(
            ctx.store,
            data_dir,
            settings(ctx).max_parallel,
            idle_exit_s=idle_exit_seconds(data_dir),
        )
        process.engine.paused = paused
        asyncio.run(process.run())
    return EXIT_OK


def uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"
