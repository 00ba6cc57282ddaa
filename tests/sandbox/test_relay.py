"""The relay inside a real bubblewrap sandbox with no network of its own: a forwarded
loopback port and HTTP_PROXY both reach the allowed model server through the filtering
proxy, streamed; any other host is refused (403, reported); nothing else gets out. And the
relay as a parent: its child's exit status, the signals it passes on, its arguments."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seedbed.sandbox import relay as relay_module
from seedbed.sandbox.relay import UsageError, parse_args, relay_command
from tests.model_server import ModelServer, answer
from tests.sandbox.conftest import (
    ProxyFactory,
    free_port,
    needs_bwrap,
    port_of,
    relay,
    run,
    sandboxed,
)

CLIENT = str(Path(__file__).with_name("http_client.py"))
PIECES = [f"piece{n} " for n in range(5)]


def environment(**extra: str) -> dict[str, str]:
    """This environment without proxy variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return env | extra


def fetched(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_streamed(lines: list[tuple[float, str]]) -> None:
    """Each piece came on its own, about when the server sent it (0.2 s apart)."""
    times = [next(t for t, line in lines if piece in line) for piece in PIECES]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Sent 0.2 s apart; a gathering proxy would pass them all at the end, at once. (Not
    # every gap: a busy machine may hold one piece back until the next.)
    assert times[-1] - times[0] > 0.4, f"the pieces arrived together: {times}"
    assert sum(gap > 0.1 for gap in gaps) >= 3, f"the pieces arrived together: {times}"


@needs_bwrap
def test_a_forwarded_port_reaches_the_allowed_model_server_streamed(
    start_proxy: ProxyFactory, socket_dir: Path, model_server: ModelServer
):
    port = port_of(model_server)
    proxy = start_proxy(f"127.0.0.1:{port}")
    model_server.script(answer(PIECES, chunk_delay=0.2))
    url = f"{model_server.openai_url}/chat/completions"
    argv = sandboxed(
        socket_dir, ["--forward", f"127.0.0.1:{port}"], [sys.executable, CLIENT, url, "{}"]
    )
    result = fetched(run(argv, env=environment()))
    assert result["status"] == 200
    assert_streamed(result["lines"])
    assert proxy.refused == []
    assert model_server.posts[0].path == "/v1/chat/completions"


@needs_bwrap
def test_http_proxy_reaches_the_allowed_model_server_streamed(
    start_proxy: ProxyFactory, socket_dir: Path, model_server: ModelServer
):
    proxy = start_proxy(f"127.0.0.1:{port_of(model_server)}")
    model_server.script(answer(PIECES, chunk_delay=0.2))
    url = f"{model_server.openai_url}/chat/completions"
    argv = sandboxed(socket_dir, [], [sys.executable, CLIENT, url, "{}"])
    result = fetched(run(argv, env=environment(http_proxy="http://127.0.0.1:3128")))
    assert result["status"] == 200
    assert_streamed(result["lines"])
    assert proxy.refused == []
    (request,) = model_server.posts
    assert request.headers["connection"] == "close"  # it went through the proxy


@needs_bwrap
@pytest.mark.parametrize("how", ["forward", "http_proxy"])
def test_a_server_not_allowed_is_refused_and_reported(
    start_proxy: ProxyFactory,
    socket_dir: Path,
    model_server: ModelServer,
    plain_server: int,
    how: str,
):
    proxy = start_proxy(f"127.0.0.1:{port_of(model_server)}")
    url = f"http://127.0.0.1:{plain_server}/"
    if how == "forward":
        args, env = ["--forward", f"127.0.0.1:{plain_server}"], environment()
    else:
        args, env = [], environment(http_proxy="http://127.0.0.1:3128")
    result = fetched(run(sandboxed(socket_dir, args, [sys.executable, CLIENT, url]), env=env))
    assert result["status"] == 403
    (line,) = [text for _, text in result["lines"]]
    assert line == f"sandbox: refused connect to 127.0.0.1:{plain_server}: not an allowed host\n"
    assert proxy.refused == [("127.0.0.1", plain_server)]


PROBE = textwrap.dedent(
    """
    import socket, sys
    for host, port in [("127.0.0.1", int(sys.argv[1])), ("192.0.2.1", 80)]:
        try:
            socket.create_connection((host, port), timeout=3).close()
            print(host, "connected")
        except OSError as error:
            print(host, type(error).__name__)
    """
)


@needs_bwrap
def test_there_is_no_other_route_out(
    start_proxy: ProxyFactory, socket_dir: Path, plain_server: int
):
    start_proxy()
    probe = [sys.executable, "-c", PROBE, str(plain_server)]
    outside = run(probe)
    assert outside.stdout.splitlines()[0] == "127.0.0.1 connected"  # the probe can connect
    inside = run(sandboxed(socket_dir, [], probe), env=environment())
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.splitlines() == [
        "127.0.0.1 ConnectionRefusedError",
        "192.0.2.1 OSError",  # network unreachable: no route at all
    ]


@needs_bwrap
@pytest.mark.parametrize(
    ("script", "code"),
    [("exit 0", 0), ("exit 3", 3), ("kill -TERM $$", 128 + signal.SIGTERM)],
)
def test_the_childs_exit_status_comes_back(socket_dir: Path, script: str, code: int):
    result = run(sandboxed(socket_dir, [], ["sh", "-c", script]))
    assert result.returncode == code, result.stderr


CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    def caught(signum, frame):
        # os.write: the signal may land while print("ready") is still in its writer.
        os.write(1, f"caught {signal.Signals(signum).name}\\n".encode())
        os._exit(40 + signum)
    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        signal.signal(getattr(signal, name), caught)
    print("ready", flush=True)
    time.sleep(30)
    """
)


def start_relay(socket_dir: Path, child: list[str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        relay(socket_dir, ["--proxy-port", str(free_port())], child),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_the_relay_reaches_its_child(socket_dir: Path, signum: int):
    process = start_relay(socket_dir, [sys.executable, "-c", CHILD])
    process.send_signal(signum)
    out, err = process.communicate(timeout=10)
    assert out == f"caught {signal.Signals(signum).name}\n", err
    assert process.returncode == 40 + signum


def test_a_child_that_a_relayed_signal_kills_gives_128_plus_it(socket_dir: Path):
    process = start_relay(socket_dir, ["sh", "-c", "echo ready; exec sleep 30"])
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=10)
    assert process.returncode == 128 + signal.SIGTERM


def test_a_missing_command_exits_127(socket_dir: Path):
    result = run(relay(socket_dir, ["--proxy-port", str(free_port())], ["no-such-command-here"]))
    assert result.returncode == 127
    assert "no-such-command-here: command not found" in result.stderr


def test_the_child_keeps_the_relays_stdin_and_environment(socket_dir: Path):
    result = run(
        relay(
            socket_dir,
            ["--proxy-port", str(free_port())],
            ["sh", "-c", 'read line; echo "$line $SEEDBED_PROBE"'],
        ),
        input="hello\n",
        env=environment(SEEDBED_PROBE="there"),
    )
    assert (result.returncode, result.stdout) == (0, "hello there\n")


def test_the_arguments_are_parsed():
    options = parse_args(
        ["--proxy-socket", "/s", "--forward", "127.0.0.1:11434", "--forward=[::1]:8080",
         "--proxy-port=3129", "--", "agent", "--flag", "--"]
    )  # fmt: skip
    assert options.proxy_socket == "/s"
    assert options.forwards == [("127.0.0.1", 11434), ("::1", 8080)]
    assert options.proxy_port == 3129
    assert options.argv == ["agent", "--flag", "--"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--", "true"], "--proxy-socket is required"),
        (["--proxy-socket", "/s"], "no command"),
        (["--proxy-socket", "/s", "--"], "no command"),
        (["--proxy-socket", "--", "true"], "needs a value"),
        (["--proxy-socket", "/s", "--forward", "11434", "--", "true"], "HOST:PORT"),
        (["--proxy-socket", "/s", "--forward", "::1:80", "--", "true"], "HOST:PORT"),
        (["--proxy-socket", "/s", "--proxy-port", "0", "--", "true"], "not a port"),
        (["--proxy-socket", "/s", "--verbose", "--", "true"], "unknown option"),
    ],
)
def test_bad_arguments_say_what_is_wrong(args: list[str], says: str):
    with pytest.raises(UsageError, match=says):
        parse_args(args)


def test_the_command_line_built_for_the_relay_says_what_was_asked() -> None:
    argv = relay_command(
        "/run/s/proxy.sock", [("127.0.0.1", 11434), ("::1", 8080)], ["agent", "--", "x"],
        python="/py", proxy_port=3129,
    )  # fmt: skip
    # Isolated from the cwd, no site: the script alone, not the package (quicker to start).
    assert argv[:4] == ["/py", "-I", "-S", relay_module.__file__]
    options = parse_args(argv[4:])
    assert options.proxy_socket == "/run/s/proxy.sock"
    assert options.forwards == [("127.0.0.1", 11434), ("::1", 8080)]
    assert options.proxy_port == 3129
    assert options.argv == ["agent", "--", "x"]


def test_the_relay_runs_as_a_script_without_site_or_the_package() -> None:
    """What it imports at its start: no module of seedbed, nothing of site, no Python
    wrapper of a C module it uses (the relay starts before every sandboxed command)."""
    argv = relay_command("/nowhere/proxy.sock", [], ["true"])
    argv[1:1] = ["-X", "importtime"]  # each import, on stderr
    said = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in said.splitlines() if "|" in line}
    assert "_socket" in imported
    assert not [name for name in imported if name.startswith("seedbed")], imported
    assert not {"site", "os", "signal", "socket", "enum", "typing", "runpy"} & imported, imported
