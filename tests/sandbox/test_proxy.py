"""The filtering proxy on a real Unix socket: what it lets through (CONNECT tunnels and
plain-HTTP requests to the scripted model server), streamed as it comes; what it refuses
and how it says so; clients that send too little or too much; closing."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import stat
import time
from pathlib import Path

import pytest

from seedbed.sandbox.http_head import BadRequest, close_response_head, parse_request
from seedbed.sandbox.proxy import ProxyLimits, inward, named
from tests.model_server import ModelServer, answer
from tests.sandbox.conftest import ProxyFactory, free_port, port_of

# --- the request head, parsed and rewritten ----------------------------------------------


def test_connect_names_host_and_port():
    request = parse_request(b"CONNECT api.openai.com:443 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (request.method, request.host, request.port) == ("CONNECT", "api.openai.com", 443)
    assert request.upstream_head == b""
    v6 = parse_request(b"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n")
    assert (v6.host, v6.port) == ("::1", 8443)


def test_a_plain_request_is_rewritten_for_the_origin_server():
    head = (
        b"POST http://127.0.0.1:8080/v1/chat?x=1 HTTP/1.1\r\n"
        b"Host: somewhere.else\r\n"
        b"Proxy-Connection: keep-alive\r\n"
        b"Proxy-Authorization: Basic abc\r\n"
        b"Connection: keep-alive, X-Private\r\n"
        b"X-Private: dropped\r\n"
        b"Content-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"\r\n"
    )
    request = parse_request(head)
    assert (request.method, request.host, request.port) == ("POST", "127.0.0.1", 8080)
    assert request.upstream_head == (
        b"POST /v1/chat?x=1 HTTP/1.1\r\n"
        b"Host: 127.0.0.1:8080\r\n"
        b"Content-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"Connection: close\r\n"
        b"\r\n"
    )


def test_a_plain_request_without_a_path_or_port_gets_the_defaults():
    request = parse_request(b"GET http://Example.org HTTP/1.1\r\n\r\n")
    assert (request.host, request.port) == ("Example.org", 80)
    assert request.upstream_head.startswith(b"GET / HTTP/1.1\r\nHost: Example.org\r\n")


@pytest.mark.parametrize(
    ("head", "says"),
    [
        (b"GET /v1/models HTTP/1.1\r\n\r\n", "absolute http:// URI"),
        (b"GET https://example.org/ HTTP/1.1\r\n\r\n", "https goes through CONNECT"),
        (b"GET http://user@example.org/ HTTP/1.1\r\n\r\n", "user name"),
        (b"CONNECT example.org:x HTTP/1.1\r\n\r\n", "not a port"),
        (b"CONNECT  HTTP/1.1\r\n\r\n", "no host"),
        (b"hello\r\n\r\n", "request line"),
        (b"GET http://a/ HTTP/1.1\r\nX: 1\r\n  folded\r\n\r\n", "folded"),
        (b"GET http://a/ HTTP/1.1\r\nno colon\r\n\r\n", "without a name"),
    ],
)
def test_a_request_the_proxy_cannot_serve_says_why(head: bytes, says: str):
    with pytest.raises(BadRequest, match=says):
        parse_request(head)


def test_the_response_head_closes_the_connection():
    head = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nA: b\r\n\r\n"
    assert close_response_head(head) == b"HTTP/1.1 200 OK\r\nA: b\r\nConnection: close\r\n\r\n"


# --- the proxy on its socket ---------------------------------------------------------------


def connect(path: Path) -> socket.socket:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    client.connect(str(path))
    return client


def read_all(client: socket.socket) -> bytes:
    received = b""
    while data := client.recv(65536):
        received += data
    return received


def read_head(client: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        data = client.recv(1)
        assert data, f"the connection ended after {received!r}"
        received += data
    return received


def post(port: int) -> bytes:
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    ).encode()


def test_the_socket_is_the_users_only(start_proxy: ProxyFactory, socket_dir: Path):
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(socket_dir / "proxy.sock"))  # a stale socket of an earlier run
    stale.close()
    proxy = start_proxy()
    assert stat.S_IMODE(os.stat(proxy.socket_path).st_mode) == 0o600
    proxy.close()
    assert not proxy.socket_path.exists()


def test_a_tunnel_streams_the_answer_as_it_comes(
    start_proxy: ProxyFactory, model_server: ModelServer
):
    port = port_of(model_server)
    proxy = start_proxy(f"127.0.0.1:{port}")
    pieces = [f"piece{n} " for n in range(5)]
    model_server.script(answer(pieces, chunk_delay=0.2))
    with connect(proxy.socket_path) as client:
        client.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
        assert read_head(client) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        client.sendall(post(port))
        start = time.monotonic()
        seen: dict[str, float] = {}
        received = b""
        while len(seen) < len(pieces):
            data = client.recv(65536)
            assert data, f"the stream ended after {received!r}"
            received += data
            for piece in pieces:
                if piece.encode() in received:
                    seen.setdefault(piece, time.monotonic() - start)
    times = [seen[piece] for piece in pieces]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Sent 0.2 s apart; a gathering proxy would pass them all at the end, at once. (Not
    # every gap: a busy machine may hold one piece back until the next.)
    assert times[-1] - times[0] > 0.4, f"pieces arrived together: {times}"
    assert sum(gap > 0.1 for gap in gaps) >= 3, f"pieces arrived together: {times}"
    assert proxy.refused == []


def test_a_plain_request_is_forwarded_once_and_closed(
    start_proxy: ProxyFactory, model_server: ModelServer
):
    port = port_of(model_server)
    proxy = start_proxy(f"127.0.0.1:{port}")
    model_server.script(answer(["hello"]))
    with connect(proxy.socket_path) as client:
        client.sendall(
            f"POST http://127.0.0.1:{port}/v1/chat/completions HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nProxy-Connection: keep-alive\r\n"
            "Content-Length: 2\r\n\r\n{}".encode()
        )
        received = read_all(client)  # ends: the proxy closes after the answer
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert head.lower().count(b"connection:") == 1
    assert b"\r\nConnection: close" in head
    assert b"hello" in body and body.endswith(b"0\r\n\r\n")
    (request,) = model_server.posts
    assert request.path == "/v1/chat/completions"
    assert request.headers["connection"] == "close"
    assert "proxy-connection" not in request.headers


@pytest.mark.parametrize("how", ["connect", "plain"])
def test_a_host_not_allowed_gets_403_naming_it_and_is_reported(
    start_proxy: ProxyFactory, model_server: ModelServer, plain_server: int, how: str
):
    proxy = start_proxy(f"127.0.0.1:{port_of(model_server)}")
    request = (
        f"CONNECT 127.0.0.1:{plain_server} HTTP/1.1\r\n\r\n"
        if how == "connect"
        else f"GET http://127.0.0.1:{plain_server}/ HTTP/1.1\r\n\r\n"
    )
    with connect(proxy.socket_path) as client:
        client.sendall(request.encode())
        received = read_all(client)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 Forbidden")
    assert body.decode() == (
        f"sandbox: refused connect to 127.0.0.1:{plain_server}: not an allowed host\n"
    )
    assert proxy.refused == [("127.0.0.1", plain_server)]


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("169.254.169.254", True),  # a cloud's metadata service
        ("fe80::1%eth0", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("10.1.2.3", False),  # a LAN's package mirror, say: the user named it
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
    ],
)
def test_which_addresses_are_this_machines_own(address: str, inside: bool):
    assert inward(address) is inside


def test_only_a_name_is_held_to_addresses_outside():
    assert named("models.example.org") and named("vm")
    assert not named("localhost") and not named("127.0.0.1") and not named("::1")


def loopback_name() -> str:
    """A name of this machine (not `localhost`) that resolves to its loopback: its host
    name does on Debian-like systems (/etc/hosts: 127.0.1.1)."""
    for name in (socket.gethostname(), socket.getfqdn()):
        with contextlib.suppress(OSError):
            found = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)
            if found and all(inward(str(info[4][0])) for info in found):
                return name
    pytest.skip("no name of this machine other than localhost resolves to its loopback")


def test_an_allowed_name_that_resolves_to_loopback_is_refused(
    start_proxy: ProxyFactory, model_server: ModelServer
):
    """DNS rebinding: whoever answers for an allowed name could point it at 127.0.0.1,
    where the model server (or anything else) listens; the proxy does not follow."""
    name, port = loopback_name(), port_of(model_server)
    proxy = start_proxy(f"{name}:{port}", f"localhost:{port}")
    with connect(proxy.socket_path) as client:
        client.sendall(f"CONNECT {name}:{port} HTTP/1.1\r\n\r\n".encode())
        received = read_all(client)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 Forbidden"), received
    assert body.decode().startswith(f"sandbox: refused connect to {name}:{port}: it resolves to")
    assert proxy.refused == [(name, port)]
    # `localhost`, named in the allowed hosts, means this machine on purpose.
    model_server.script(answer(["fine"]))
    with connect(proxy.socket_path) as client:
        client.sendall(f"CONNECT localhost:{port} HTTP/1.1\r\n\r\n".encode())
        assert read_head(client) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        client.sendall(post(port))
        received = b""
        while b"[DONE]" not in received:
            data = client.recv(65536)
            assert data, f"the answer ended early: {received!r}"
            received += data
        assert b"fine" in received
    assert proxy.refused == [(name, port)]


def test_an_allowed_host_that_does_not_answer_gets_502(start_proxy: ProxyFactory):
    closed_port = free_port()
    proxy = start_proxy(f"127.0.0.1:{closed_port}")
    with connect(proxy.socket_path) as client:
        client.sendall(f"CONNECT 127.0.0.1:{closed_port} HTTP/1.1\r\n\r\n".encode())
        received = read_all(client)
    assert received.startswith(b"HTTP/1.1 502 Bad Gateway")
    assert f"127.0.0.1:{closed_port}".encode() in received
    assert proxy.refused == []


def test_a_client_that_sends_no_request_is_let_go(start_proxy: ProxyFactory):
    proxy = start_proxy(limits=ProxyLimits(head_seconds=0.3))
    with connect(proxy.socket_path) as client:
        client.sendall(b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n")  # and never the blank line
        start = time.monotonic()
        received = read_all(client)
    assert received.startswith(b"HTTP/1.1 408")
    assert 0.2 < time.monotonic() - start < 3


def test_a_head_too_long_is_refused(start_proxy: ProxyFactory):
    proxy = start_proxy(limits=ProxyLimits(head_bytes=4096))
    with connect(proxy.socket_path) as client:
        client.sendall(b"GET http://a/ HTTP/1.1\r\n" + b"X-Long: " + b"x" * 8192 + b"\r\n")
        received = read_all(client)
    assert received.startswith(b"HTTP/1.1 431")


def test_a_bad_request_gets_400(start_proxy: ProxyFactory):
    proxy = start_proxy("example.org")
    with connect(proxy.socket_path) as client:
        client.sendall(b"GET /relative HTTP/1.1\r\nHost: example.org\r\n\r\n")
        received = read_all(client)
    assert received.startswith(b"HTTP/1.1 400")
    assert proxy.refused == []


def test_closing_ends_the_open_tunnels(start_proxy: ProxyFactory, model_server: ModelServer):
    port = port_of(model_server)
    proxy = start_proxy(f"127.0.0.1:{port}")
    with connect(proxy.socket_path) as client:
        client.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
        read_head(client)
        proxy.close()
        assert client.recv(1) == b""
    assert not proxy.socket_path.exists()


# --- connections handed over (what the relay does) -----------------------------------------


def hand_over(path: Path, line: bytes, fd: int) -> None:
    with connect(path) as proxy:
        socket.send_fds(proxy, [line], [fd])


def test_a_handed_over_connection_is_tunnelled_without_an_answer_of_the_proxys(
    start_proxy: ProxyFactory, model_server: ModelServer
):
    port = port_of(model_server)
    proxy = start_proxy(f"127.0.0.1:{port}")
    model_server.script(answer(["handed"]))
    ours, theirs = socket.socketpair()
    with ours, theirs:
        hand_over(proxy.socket_path, f"connect 127.0.0.1:{port}\n".encode(), theirs.fileno())
        theirs.close()  # the proxy has its own copy now
        ours.settimeout(10)
        ours.sendall(post(port))
        ours.shutdown(socket.SHUT_WR)
        received = read_all(ours)
    assert received.startswith(b"HTTP/1.1 200 OK")  # the server's, not "Connection established"
    assert b"handed" in received
    assert proxy.refused == []


def test_a_handed_over_proxy_client_is_served_and_a_refusal_reported(
    start_proxy: ProxyFactory, plain_server: int
):
    proxy = start_proxy("example.org")
    ours, theirs = socket.socketpair()
    with ours, theirs:
        hand_over(proxy.socket_path, b"proxy\n", theirs.fileno())
        theirs.close()
        ours.settimeout(10)
        ours.sendall(f"GET http://127.0.0.1:{plain_server}/ HTTP/1.1\r\n\r\n".encode())
        received = read_all(ours)
    assert received.startswith(b"HTTP/1.1 403 Forbidden")
    assert proxy.refused == [("127.0.0.1", plain_server)]


def test_a_handed_over_thing_that_is_no_stream_socket_is_dropped(
    start_proxy: ProxyFactory, model_server: ModelServer
):
    port = port_of(model_server)
    proxy = start_proxy(f"127.0.0.1:{port}")
    read_end, write_end = os.pipe()
    try:
        hand_over(proxy.socket_path, f"connect 127.0.0.1:{port}\n".encode(), write_end)
        os.close(write_end)
        assert os.read(read_end, 100) == b""  # the proxy closed its copy, wrote nothing
    finally:
        os.close(read_end)
    model_server.script(answer(["still here"]))
    with connect(proxy.socket_path) as client:
        client.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
        read_head(client)
        client.sendall(post(port))
        client.shutdown(socket.SHUT_WR)
        assert b"still here" in read_all(client)
