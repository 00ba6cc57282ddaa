"""The stdio end of Seedbed's MCP server: what an agent CLI starts as its MCP server.

It connects to the run's MCP socket (the engine serves Seedbed's MCP server there) and
carries bytes both ways, stdin to the socket and the socket to stdout, until the engine
closes the connection: the protocol is the engine's business, this only joins the pipes
(socat's STDIO UNIX-CONNECT, without asking users to install socat). It runs inside the
run's sandbox when there is one, where the socket's directory is bound, and starts fast:
standard library only, C modules (`_socket`, `_thread`), no argparse.

    python -I -m seedbed.talkback.shim SOCKET      (the bundle: seedbed --mcp-shim SOCKET)
"""

from __future__ import annotations

import _socket
import _thread
import os
import sys

FROZEN_FLAG = "--mcp-shim"  # the bundle's first argument that makes it the shim
CHUNK = 64 * 1024


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _carry_stdin(sock: _socket.socket) -> None:
    """stdin to the socket; its end is passed on as a half-close."""
    try:
        while data := os.read(0, CHUNK):
            sock.sendall(data)
        sock.shutdown(_socket.SHUT_WR)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m seedbed.talkback.shim SOCKET\n")
        return 2
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(argv[0])
    except OSError as error:
        sys.stderr.write(f"seedbed: cannot reach the run's MCP socket {argv[0]}: {error}\n")
        return 1
    _thread.start_new_thread(_carry_stdin, (sock,))
    try:
        while data := sock.recv(CHUNK):
            _write_all(1, data)
    except OSError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
