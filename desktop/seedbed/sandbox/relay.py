"""The sandbox's side of the network: loopback ports inside, the filtering proxy behind them.

    python -m seedbed.sandbox.relay --proxy-socket PATH [--forward HOST:PORT ...]
        [--proxy-port 3128] -- ARGV...

A sandbox made with `--unshare-net` has only its own loopback; the one way out is the
proxy's Unix socket, bound into it. This listens on 127.0.0.1:<proxy-port> and relays each
connection byte for byte to that socket, so `HTTP_PROXY=http://127.0.0.1:3128` works
inside; and for each `--forward HOST:PORT` it listens on that loopback address and tunnels
each connection through the proxy with `CONNECT HOST:PORT`, so a client configured with a
model server at http://127.0.0.1:PORT reaches the one outside without honouring any proxy
variable (a refused one gets the proxy's 403). Then it runs ARGV as its child (same
stdin, stdout, stderr and environment), passes SIGTERM, SIGINT and SIGHUP on to it, and
exits with its exit status (128 + the signal when a signal ended it).

It starts before every sandboxed command, so it imports only the standard library's
cheapest parts: threads and blocking sockets, one thread per direction of each
connection, from the C modules `_socket` and `_thread` (the `socket` and `threading`
wrappers, with their enums, would double its start-up time), and no argparse, asyncio or
anything of seedbed.
"""

from __future__ import annotations

import _socket
import _thread
import contextlib
import os
import signal
import sys

USAGE = (
    "usage: python -m seedbed.sandbox.relay --proxy-socket PATH"
    " [--forward HOST:PORT ...] [--proxy-port PORT] -- ARGV..."
)
RELAYED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PIPE_BYTES = 64 * 1024
HEAD_BYTES = 64 * 1024


class UsageError(ValueError):
    """Arguments the relay cannot run with; its text says which."""


class Options:
    """What the command line asked for."""

    def __init__(
        self,
        proxy_socket: str,
        forwards: list[tuple[str, int]],
        proxy_port: int,
        argv: list[str],
    ) -> None:
        self.proxy_socket = proxy_socket
        self.forwards = forwards
        self.proxy_port = proxy_port
        self.argv = argv


def parse_args(args: list[str]) -> Options:
    proxy_socket: str | None = None
    forwards: list[tuple[str, int]] = []
    proxy_port = 3128
    rest = list(args)
    while rest and rest[0] != "--":
        option = rest.pop(0)
        name, sep, value = option.partition("=")
        if name not in ("--proxy-socket", "--forward", "--proxy-port"):
            raise UsageError(f"unknown option {option!r}")
        if not sep:
            if not rest or rest[0] == "--":
                raise UsageError(f"{name} needs a value")
            value = rest.pop(0)
        if name == "--proxy-socket":
            proxy_socket = value
        elif name == "--forward":
            forwards.append(parse_address(value))
        else:
            proxy_port = parse_port(value)
    if proxy_socket is None:
        raise UsageError("--proxy-socket is required")
    if len(rest) < 2:
        raise UsageError("no command after --")
    return Options(proxy_socket, forwards, proxy_port, rest[1:])


def parse_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `[V6]:PORT` as (host, port), the host without brackets."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or (":" in host and not text.startswith("[")):
        raise UsageError(f"--forward {text!r}: expected HOST:PORT (or [V6]:PORT)")
    return host, parse_port(port)


def parse_port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{text!r} is not a port (1-65535)")
    return int(text)


def authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen(host: str, port: int) -> _socket.socket:
    family = _socket.AF_INET6 if ":" in host else _socket.AF_INET
    listener = _socket.socket(family, _socket.SOCK_STREAM)
    try:
        listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def serve(listener: _socket.socket, proxy_socket: str, target: str | None) -> None:
    """Accept forever; each connection goes to the proxy in its own threads (through a
    CONNECT to `target` when there is one, byte for byte otherwise)."""
    while True:
        # What socket.socket.accept wraps (accept4 with SOCK_CLOEXEC: the child never
        # inherits a connection); typeshed leaves it out of _socket's stub.
        fd, _ = listener._accept()  # type: ignore[attr-defined]
        client = _socket.socket(listener.family, listener.type, fileno=fd)
        client.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        _thread.start_new_thread(relay_connection, (client, proxy_socket, target))


def relay_connection(client: _socket.socket, proxy_socket: str, target: str | None) -> None:
    upstream = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        upstream.connect(proxy_socket)
        if target is not None and not open_tunnel(upstream, client, target):
            return
        outbound_done = _thread.allocate_lock()
        outbound_done.acquire()
        _thread.start_new_thread(pump, (client, upstream, outbound_done))
        pump(upstream, client)
        outbound_done.acquire()
    except OSError as error:
        sys.stderr.write(f"seedbed relay: the proxy at {proxy_socket}: {error}\n")
    finally:
        upstream.close()
        client.close()


def open_tunnel(upstream: _socket.socket, client: _socket.socket, target: str) -> bool:
    """Ask the proxy for a tunnel to `target`. True when it is open (any bytes that came
    after the proxy's answer already passed on to `client`); otherwise the proxy's answer
    (its 403, say) goes to the client as it is, and False."""
    upstream.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        data = upstream.recv(PIPE_BYTES)
        if not data or len(received) > HEAD_BYTES:
            return False
        received += data
    head, _, after = received.partition(b"\r\n\r\n")
    if head.split(b" ", 2)[1:2] != [b"200"]:
        client.sendall(received)
        while data := upstream.recv(PIPE_BYTES):
            client.sendall(data)
        return False
    if after:
        client.sendall(after)
    return True


def pump(
    source: _socket.socket, sink: _socket.socket, done: _thread.LockType | None = None
) -> None:
    """Pass bytes as they come; at the end of `source`, half-close `sink`. A broken side
    shuts both down, so the other direction's pump ends too. `done` is released at the
    end."""
    try:
        while data := source.recv(PIPE_BYTES):
            sink.sendall(data)
        sink.shutdown(_socket.SHUT_WR)
    except OSError:
        for side in (source, sink):
            with contextlib.suppress(OSError):
                side.shutdown(_socket.SHUT_RDWR)
    finally:
        if done is not None:
            done.release()


def run_child(argv: list[str]) -> int:
    """Run `argv`, relaying the signals to it; its exit status, shell-style."""
    try:
        pid = os.posix_spawnp(
            argv[0],
            argv,
            os.environ,
            setsigmask=(),
            # Python ignores SIGPIPE (and SIGXFSZ); the child gets the defaults, as
            # subprocess's restore_signals gives them.
            setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
        )
    except FileNotFoundError:
        sys.stderr.write(f"seedbed relay: {argv[0]}: command not found\n")
        return 127
    except PermissionError as error:
        sys.stderr.write(f"seedbed relay: {argv[0]}: {error.strerror}\n")
        return 126

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in RELAYED:
        signal.signal(signum, forward)
    # Signals that came while the child was starting are delivered now, and passed on.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, RELAYED)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def main(args: list[str]) -> int:
    try:
        options = parse_args(args)
    except UsageError as error:
        sys.stderr.write(f"seedbed relay: {error}\n{USAGE}\n")
        return 2
    # Blocked before any thread starts, so every thread inherits the mask and the signals
    # reach the main thread, interrupting its wait for the child.
    signal.pthread_sigmask(signal.SIG_BLOCK, RELAYED)
    wanted: list[tuple[str, int, str | None]] = [("127.0.0.1", options.proxy_port, None)]
    wanted += [(host, port, authority(host, port)) for host, port in options.forwards]
    for host, port, target in wanted:
        try:
            listener = listen(host, port)
        except OSError as error:
            sys.stderr.write(f"seedbed relay: cannot listen on {authority(host, port)}: {error}\n")
            return 2
        _thread.start_new_thread(serve, (listener, options.proxy_socket, target))
    return run_child(options.argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
