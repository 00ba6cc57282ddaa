"""HTTP/1.1 proxy request heads, read and rewritten: what the filtering proxy parses.

Pure functions over bytes; `proxy.py` does the I/O.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from seedbed.sandbox.allowlist import split_host_port

# Hop-by-hop headers (RFC 9110 7.6.1) and the proxy's own: never passed on. (Transfer-Encoding
# stays: the body goes through as it is, framed as the client framed it.)
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "upgrade",
}


class ProxyRequest(BaseModel):
    """A parsed request head: where it goes, and (plain HTTP) the head to send there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str
    host: str  # no brackets around an IPv6 literal
    port: int
    upstream_head: bytes = b""  # empty for CONNECT


class BadRequest(ValueError):
    """A request the proxy cannot serve; its text is the 400's body."""


def parse_request(head: bytes) -> ProxyRequest:
    """The request `head` (request line and headers, through the blank line) asks for.
    For plain HTTP, `upstream_head` is the head rewritten for the origin server: origin-form
    target, Host from the URI, hop-by-hop headers dropped, `Connection: close`."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"not an HTTP/1.x request line: {lines[0][:200]!r}")
    method, target, version = parts
    if method == "CONNECT":
        host, port = _authority(target)
        return ProxyRequest(method=method, host=host, port=port or 443)
    scheme, sep, rest = target.partition("://")
    if not sep or scheme.lower() != "http":
        raise BadRequest(
            f"a proxy request needs an absolute http:// URI (https goes through CONNECT),"
            f" not {target[:200]!r}"
        )
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, path = rest[:end], rest[end:]
    host, port = _authority(authority)
    if not path.startswith("/"):
        path = "/" + path
    headers = _headers(lines[1:])
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() not in HOP_BY_HOP | named | {"host"}
    ]
    out = [f"{method} {path} {version}", f"Host: {authority}"]
    out += [f"{name}: {value}" for name, value in kept]
    out += ["Connection: close", "", ""]
    return ProxyRequest(
        method=method, host=host, port=port or 80, upstream_head="\r\n".join(out).encode("latin-1")
    )


def close_response_head(head: bytes) -> bytes:
    """An origin server's response head with its connection headers replaced by
    `Connection: close` (the proxy ends the connection after this response)."""
    lines = head.decode("latin-1").split("\r\n")
    headers = _headers(lines[1:])
    kept = [(n, v) for n, v in headers if n.lower() not in {"connection", "keep-alive"}]
    out = [lines[0], *(f"{name}: {value}" for name, value in kept), "Connection: close", "", ""]
    return "\r\n".join(out).encode("latin-1")


def refusal_body(host: str, port: int) -> str:
    return f"sandbox: refused connect to {authority_text(host, port)}: not an allowed host\n"


def _authority(text: str) -> tuple[str, int | None]:
    if not text or "@" in text:
        raise BadRequest(f"no host (or a user name in it): {text[:200]!r}")
    try:
        host, port = split_host_port(text)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    if not host or any(c.isspace() or c in "/\\%" for c in host):
        raise BadRequest(f"not a host: {host[:200]!r}")
    return host, port


def authority_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _headers(lines: list[str]) -> list[tuple[str, str]]:
    headers = []
    for line in lines:
        if not line:
            continue
        if line[0] in " \t":
            raise BadRequest("a folded header line (obsolete, refused)")
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"a header line without a name: {line[:200]!r}")
        headers.append((name, value.strip()))
    return headers


def response(status: str, body: str) -> bytes:
    """A whole short answer of the proxy's own, after which it closes the connection."""
    data = body.encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(data)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + data
