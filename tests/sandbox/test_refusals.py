"""What the sandbox refused, read from what programs print about it."""

from __future__ import annotations

import pytest

from seedbed.domain.models import SandboxNetwork
from seedbed.sandbox.refusals import MAX_NOTES, RefusalWatch


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ("sh: 1: cannot create /home/me/escaped: Read-only file system", "/home/me/escaped"),
        ("touch: cannot touch '/home/me/x': Read-only file system", "/home/me/x"),
        ("OSError: [Errno 30] Read-only file system: '/srv/data/y.txt'", "/srv/data/y.txt"),
        (
            "fatal: Unable to create '/r/.git/refs/heads/main.lock': Read-only file system",
            "/r/.git/refs/heads/main.lock",
        ),
    ],
)
def test_a_refused_write_is_named_by_its_path(line: str, path: str) -> None:
    [note] = RefusalWatch(SandboxNetwork.NONE).notes([line])
    assert note.startswith(f"sandbox: refused writing {path} (read-only")


def test_each_refusal_is_said_once_and_only_so_many_in_all() -> None:
    watch = RefusalWatch(SandboxNetwork.NONE)
    line = "touch: cannot touch '/a': Read-only file system"
    assert len(watch.notes([line, line])) == 1
    assert watch.notes([line]) == []
    many = [f"touch: cannot touch '/p{n}': Read-only file system" for n in range(50)]
    assert len(watch.notes(many)) == MAX_NOTES - 1


def test_no_network_is_said_only_where_the_profile_has_none() -> None:
    line = "curl: (6) Could not resolve host: example.org"
    assert RefusalWatch(SandboxNetwork.NONE).notes([line]) == [
        "sandbox: refused a network connection (the profile's network is none)"
    ]
    assert RefusalWatch(SandboxNetwork.FULL).notes([line]) == []
    assert RefusalWatch(SandboxNetwork.NONE).notes(["all good: read-only data loaded"]) == []
