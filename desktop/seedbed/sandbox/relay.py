"""The sandbox's side of the network: loopback ports inside, the filtering proxy behind them.

    python -I -S .../seedbed/sandbox/relay.py --proxy-socket PATH
        [--forward HOST:PORT ...] [--proxy-port 3128] -- ARGV...

A sandbox made with `--unshare-net` has only its own loopback; the one way out is the
proxy's Unix socket, bound into it. This listens on 127.0.0.1:<proxy-port>, so that
`HTTP_PROXY=http://127.0.0.1:3128` works inside, and on each `--forward HOST:PORT` (a
loopback address), so that a client configured with a model server at
http://127.0.0.1:PORT reaches the one outside without honouring any proxy variable. Then
it runs ARGV as its child (same stdin, stdout, stderr and environment), passes SIGTERM,
SIGINT and SIGHUP on to it, and exits with its exit status (128 + the signal when a
signal ended it).

It does not carry the bytes: it hands each accepted connection over to the proxy, passing
the socket itself through the Unix socket (SCM_RIGHTS) with one line saying what it is
for, `proxy` (a client of the proxy: it speaks HTTP proxy) or `connect HOST:PORT` (to be
tunnelled there, as a CONNECT would, refused with the proxy's 403). The proxy then reads
and writes that socket directly, so a streamed answer crosses one hop, not two, and the
relay needs no thread per connection.

It starts before every sandboxed command, so it imports only the standard library's
C modules: `_socket`, `_thread`, `_signal` and `posix` (the `socket`, `threading`,
`signal` and `os` wrappers, with their enums and collections, would add half to its
start-up), and no argparse, asyncio or anything of seedbed. It runs as a script, not a
module of the package (`-m` would import seedbed and runpy), with `-S`: no site, no
`.pth` file of the environment read.
"""

from __future__ import annotations

import _socket
import _thread
import posix
import sys

TYPE_CHECKING = False  # not typing's: importing typing would cost more than the rest
if TYPE_CHECKING:  # typeshed has no stub of the C module; `signal` re-exports it
    import signal as _signal
else:
    import _signal

USAGE = (
    "usage: python -I -S relay.py --proxy-socket PATH"
    " [--forward HOST:PORT ...] [--proxy-port PORT] -- ARGV..."
)
RELAYED = (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP)
PROXY_PORT = 3128
FROZEN_FLAG = "--sandbox-relay"  # the bundle's first argument that makes it the relay


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


def relay_command(
    proxy_socket: str,
    forwards: list[tuple[str, int]],
    argv: list[str],
    python: str = sys.executable,
    proxy_port: int = PROXY_PORT,
) -> list[str]:
    """The command line that runs `argv` behind the relay (for inside a sandbox whose
    `proxy_socket` is the proxy's); `forwards` are (host, port) loopback addresses."""
    options = [f"--forward={authority(host, port)}" for host, port in forwards]
    if proxy_port != PROXY_PORT:
        options.append(f"--proxy-port={proxy_port}")
    if getattr(sys, "frozen", False):  # the bundle: itself, told to be the relay
        return [
            sys.executable,
            FROZEN_FLAG,
            f"--proxy-socket={proxy_socket}",
            *options,
            "--",
            *argv,
        ]
    return [
        # -I: the worktree (the current directory) and PYTHON* variables stay out of it;
        # -S: no site (its .pth files), the script needing nothing but the C modules.
        python, "-I", "-S", __file__, f"--proxy-socket={proxy_socket}",
        *options, "--", *argv,
    ]  # fmt: skip


def parse_args(args: list[str]) -> Options:
    proxy_socket: str | None = None
    forwards: list[tuple[str, int]] = []
    proxy_port = PROXY_PORT
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
    """Accept forever, handing each connection over to the proxy."""
    while True:
        # What socket.socket.accept wraps (accept4 with SOCK_CLOEXEC: the child never
        # inherits a connection); typeshed leaves it out of _socket's stub.
        fd, _ = listener._accept()  # type: ignore[attr-defined]
        try:
            hand_over(fd, proxy_socket, target)
        except OSError as error:
            sys.stderr.write(f"seedbed relay: the proxy at {proxy_socket}: {error}\n")
        finally:
            posix.close(fd)


def hand_over(fd: int, proxy_socket: str, target: str | None) -> None:
    """Pass the accepted connection `fd` to the proxy, with what it is for: a tunnel to
    `target` (a forwarded port), or a client of the proxy itself."""
    line = f"connect {target}\n" if target is not None else "proxy\n"
    rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fd.to_bytes(4, sys.byteorder))]
    proxy = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        proxy.connect(proxy_socket)
        proxy.sendmsg([line.encode()], rights)
    finally:
        proxy.close()


def run_child(argv: list[str]) -> int:
    """Run `argv`, relaying the signals to it; its exit status, shell-style."""
    try:
        pid = posix.posix_spawnp(
            argv[0],
            argv,
            posix.environ,
            setsigmask=(),
            # Python ignores SIGPIPE (and SIGXFSZ); the child gets the defaults, as
            # subprocess's restore_signals gives them.
            setsigdef=(_signal.SIGPIPE, _signal.SIGXFSZ),
        )
    except FileNotFoundError:
        sys.stderr.write(f"seedbed relay: {argv[0]}: command not found\n")
        return 127
    except PermissionError as error:
        sys.stderr.write(f"seedbed relay: {argv[0]}: {error.strerror}\n")
        return 126

    def forward(signum: int, _frame: object) -> None:
        try:
            posix.kill(pid, signum)
        except ProcessLookupError:  # it has just ended: its status says so
            return

    for signum in RELAYED:
        _signal.signal(signum, forward)
    # Signals that came while the child was starting are delivered now, and passed on.
    _signal.pthread_sigmask(_signal.SIG_UNBLOCK, RELAYED)
    _, status = posix.waitpid(pid, 0)
    code = posix.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def main(args: list[str]) -> int:
    try:
        options = parse_args(args)
    except UsageError as error:
        sys.stderr.write(f"seedbed relay: {error}\n{USAGE}\n")
        return 2
    # Blocked before any thread starts, so every thread inherits the mask and the signals
    # reach the main thread, interrupting its wait for the child.
    _signal.pthread_sigmask(_signal.SIG_BLOCK, RELAYED)
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
