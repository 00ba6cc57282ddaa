"""A Unix-socket connection as the MCP SDK's stdio transport reads and writes files: a
line a message, both ways (the SDK's `stdio_server(stdin=…, stdout=…)` is the same
framing for either end). The engine's server serves a run's connections with it, and the
built-in agent, which runs in the engine, reaches its run's server with it directly (no
shim process). Standard library only: the SDK is loaded by whoever uses these."""

from __future__ import annotations

import asyncio


class LineReader:
    """A connection's reading side as the SDK's stdio transport reads a file: lines."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> LineReader:
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._reader.readline()
        except (ValueError, ConnectionError):  # a line over the limit; a reset
            raise StopAsyncIteration from None
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", "replace")


class LineWriter:
    """A connection's writing side as the SDK's stdio transport writes a file."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()
