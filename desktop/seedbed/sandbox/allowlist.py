"""Which hosts a sandboxed run may reach through the filtering proxy.

An entry is `host` (any port), `host:port`, `*.domain` (any subdomain of `domain`, at any
depth, not `domain` itself; `*.domain:port` too), or an IPv4/IPv6 literal (`10.0.0.1`,
`10.0.0.1:8080`, `::1`, `[::1]:8080`). Names match case-insensitively and without a
trailing dot; an IP entry matches the same address however the request spells it. A
request is matched on the name it asked for, never on what that name resolves to: an
allowed name may resolve anywhere, and a number that only resolves to an allowed address
(`127.1`, `2130706433`) is not that address.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator

# A DNS name as clients send it: labels of letters, digits, '-' and '_' (some internal
# names have one), dot-separated.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AllowRule(BaseModel):
    """One parsed entry: a name (or, with `subdomains`, a domain) or an address; a port or
    any (None)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    address: str | None = None  # the canonical text of an IP literal
    subdomains: bool = False
    port: int | None = None

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and port != self.port:
            return False
        address = parse_address(host)
        if self.address is not None:
            return address is not None and str(address) == self.address
        if address is not None or self.name is None:
            return False
        name = normalize_name(host)
        if self.subdomains:
            return name.endswith("." + self.name)
        return name == self.name


class Allowlist(BaseModel):
    """The hosts a run may connect to, as the user (and the profile) wrote them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entries: tuple[str, ...] = ()
    _rules: tuple[AllowRule, ...] = PrivateAttr(default=())

    @field_validator("entries")
    @classmethod
    def _entries_parse(cls, entries: tuple[str, ...]) -> tuple[str, ...]:
        for entry in entries:
            parse_entry(entry)
        return tuple(entry.strip() for entry in entries)

    def model_post_init(self, context: object, /) -> None:
        self._rules = tuple(parse_entry(entry) for entry in self.entries)

    def allows(self, host: str, port: int) -> bool:
        return any(rule.matches(host, port) for rule in self._rules)


def normalize_name(host: str) -> str:
    return host.strip().lower().removesuffix(".")


def parse_address(host: str) -> Address | None:
    """The IP address `host` is a literal of (brackets allowed around IPv6), or None."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def split_host_port(text: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal, as (host, port).
    The host keeps no brackets. Raises ValueError for a bad port or bracket."""
    text = text.strip()
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ValueError(f"{text!r}: an unclosed '['")
        host, rest = text[1:close], text[close + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError(f"{text!r}: something after ']' that is not ':port'")
        return host, parse_port(rest[1:], text)
    if text.count(":") > 1:
        return text, None  # a bare IPv6 literal has no port
    if ":" in text:
        host, port = text.split(":")
        return host, parse_port(port, text)
    return text, None


def parse_port(port: str, text: str) -> int:
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: {port!r} is not a port (1-65535)")
    return int(port)


def parse_entry(entry: str) -> AllowRule:
    """The rule an allowlist entry says; ValueError naming the entry when it says none."""
    if "/" in entry:
        raise ValueError(f"{entry!r}: a host, not a URL (no scheme or path)")
    host, port = split_host_port(entry)
    address = parse_address(host)
    if address is not None:
        return AllowRule(address=str(address), port=port)
    name = normalize_name(host)
    subdomains = name.startswith("*.")
    if subdomains:
        name = name[2:]
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{entry!r} is not a host, host:port, *.domain or IP address"
            " (no scheme, path or other wildcard)"
        )
    if subdomains and "." not in name:
        raise ValueError(f"{entry!r}: a wildcard needs a domain with a dot (*.example.org)")
    return AllowRule(name=name, subdomains=subdomains, port=port)
