"""What `ssh -L local.sock:remote.sock` does, with no sshd: a socket elsewhere relaying
the bytes of each connection to the engine's socket and back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.api.conftest import LoopThread


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@contextlib.contextmanager
def forwarded(target: Path, at: Path) -> Iterator[Path]:
    """A socket at `at` relaying to the socket `target` until the block ends; then, as
    when ssh exits, its connections end too and the socket file goes."""
    loop = LoopThread()
    open_ends: set[asyncio.StreamWriter] = set()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        far_reader, far_writer = await asyncio.open_unix_connection(str(target))
        open_ends.update((writer, far_writer))
        await asyncio.gather(_pipe(reader, far_writer), _pipe(far_reader, writer))

    async def end() -> None:
        server.close()
        for writer in open_ends:
            writer.close()
        await server.wait_closed()

    server = loop.run(asyncio.start_unix_server(relay, str(at)))
    try:
        yield at
    finally:
        loop.run(end())
        loop.stop()
        at.unlink(missing_ok=True)
