"""The Agent: trailer and adding trailers to a message, checked against git's own parser."""

from __future__ import annotations

import subprocess

import pytest

from seedbed.domain.models import AgentKind, AgentProfile, ProviderKind
from seedbed.domain.trailers import add_trailers, agent_trailer


def git_trailers(message: str) -> list[str]:
    """The trailers git itself finds in `message`."""
    done = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_the_agent_trailer_names_profile_kind_and_model() -> None:
    builtin = AgentProfile(
        name="Fast one", kind=AgentKind.BUILTIN, provider=ProviderKind.OPENAI, model="gpt-5"
    )
    script = AgentProfile(name="script\nwith a newline", kind=AgentKind.COMMAND, command="true")
    assert agent_trailer(builtin) == "Agent: Fast one (builtin, gpt-5)"
    assert agent_trailer(script) == "Agent: script with a newline (command)"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Subject\n", "Subject\n\nAgent: a (command)\n"),
        ("Subject", "Subject\n\nAgent: a (command)\n"),
        ("Subject\n\nBody text.\n\n\n", "Subject\n\nBody text.\n\nAgent: a (command)\n"),
        # A subject that looks like a trailer is still the subject.
        ("Fix: the parser\n", "Fix: the parser\n\nAgent: a (command)\n"),
        # A body paragraph ending in a colon line is not a trailer block …
        (
            "Subject\n\nWhy it changed.\nNote: see below\n",
            "Subject\n\nWhy it changed.\nNote: see below\n\nAgent: a (command)\n",
        ),
        # … a trailer block is extended, not split.
        (
            "Subject\n\nBody.\n\nSigned-off-by: Ann <ann@example.com>\n",
            "Subject\n\nBody.\n\nSigned-off-by: Ann <ann@example.com>\nAgent: a (command)\n",
        ),
        ("Subject\n\nAgent: a (command)\n", "Subject\n\nAgent: a (command)\n"),
    ],
)
def test_add_trailers(message: str, expected: str) -> None:
    result = add_trailers(message, ["Agent: a (command)"])
    assert result == expected
    assert "Agent: a (command)" in git_trailers(result)


def test_several_trailers_are_added_once_each_and_git_reads_them_all() -> None:
    trailers = ["Agent: a (command)", "Agent: b (codex, o3)", "Agent: a (command)"]
    result = add_trailers("Subject\n\nBody.\n", trailers)
    assert result == "Subject\n\nBody.\n\nAgent: a (command)\nAgent: b (codex, o3)\n"
    assert git_trailers(result) == ["Agent: a (command)", "Agent: b (codex, o3)"]


def test_no_trailers_leave_the_message_as_it_is() -> None:
    assert add_trailers("Subject\n\n# not a comment\n", []) == "Subject\n\n# not a comment\n"
