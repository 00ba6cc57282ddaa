"""The allowlist's entries: what each form allows, and the entries it refuses to take."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from seedbed.sandbox.allowlist import Allowlist, split_host_port

ENTRIES = (
    "api.openai.com",
    "*.pypi.org:443",
    "127.0.0.1:8080",
    "[::1]:9000",
    "10.0.0.1",
    "Registry.NPMjs.org.",
)


@pytest.mark.parametrize(
    ("host", "port", "allowed"),
    [
        ("api.openai.com", 443, True),
        ("api.openai.com", 80, True),  # a bare name: any port
        ("API.OpenAI.com.", 443, True),  # case and a trailing dot do not matter
        ("evilapi.openai.com", 443, False),
        ("api.openai.com.evil.org", 443, False),
        ("files.pypi.org", 443, True),
        ("a.b.pypi.org", 443, True),  # any depth
        ("pypi.org", 443, False),  # the wildcard is for subdomains only
        ("files.pypi.org", 80, False),
        ("xpypi.org", 443, False),
        ("127.0.0.1", 8080, True),
        ("127.0.0.1", 8081, False),  # another server on the same machine
        ("127.1", 8080, False),  # resolves there, but is not that literal
        ("localhost", 8080, False),
        ("::1", 9000, True),
        ("[0:0::1]", 9000, True),  # the same address, spelt otherwise
        ("::1", 9001, False),
        ("10.0.0.1", 22, True),
        ("registry.npmjs.org", 443, True),
        ("example.org", 443, False),
    ],
)
def test_an_entry_allows_what_it_names_and_nothing_else(host: str, port: int, allowed: bool):
    assert Allowlist(entries=ENTRIES).allows(host, port) is allowed


def test_an_empty_allowlist_allows_nothing():
    assert not Allowlist().allows("127.0.0.1", 80)


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("https://api.openai.com", "not a URL"),
        ("api.openai.com/v1", "not a URL"),
        ("*", "is not a host"),
        ("*.com", "needs a domain with a dot"),
        ("*.*.example.org", "is not a host"),
        ("api*.example.org", "is not a host"),
        ("two words", "is not a host"),
        ("", "is not a host"),
        ("example.org:0", "is not a port"),
        ("example.org:65536", "is not a port"),
        ("example.org:https", "is not a port"),
        ("[::1", "unclosed"),
        ("[::1]x", "not ':port'"),
    ],
)
def test_an_entry_that_names_no_host_is_refused_with_the_reason(entry: str, says: str):
    with pytest.raises(ValidationError, match=says) as caught:
        Allowlist(entries=(entry,))
    assert repr(entry) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.org", ("example.org", None)),
        ("example.org:443", ("example.org", 443)),
        ("::1", ("::1", None)),
        ("[::1]", ("::1", None)),
        ("[2001:db8::1]:8443", ("2001:db8::1", 8443)),
    ],
)
def test_host_and_port_are_split(text: str, expected: tuple[str, int | None]):
    assert split_host_port(text) == expected
