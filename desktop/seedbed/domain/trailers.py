"""Commit trailers: the `Agent:` line naming who wrote a commit's changes, and adding
trailers to a message the way git reads them (`git interpret-trailers`)."""

from __future__ import annotations

import re

from seedbed.domain.models import AgentProfile
from seedbed.domain.slug import one_line

AGENT_KEY = "Agent"
# `Key: value`, as git recognises a trailer line; an indented line continues the one above.
_TRAILER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*:[ \t]*\S.*")
_CONTINUATION = re.compile(r"[ \t]+\S.*")


def agent_trailer(profile: AgentProfile) -> str:
    """`Agent: <profile> (<kind>[, <model>])` for the agent profile that wrote a change."""
    detail = ", ".join(part for part in (profile.kind.value, one_line(profile.model, 200)) if part)
    return f"{AGENT_KEY}: {one_line(profile.name, 200)} ({detail})"


def _is_trailer_block(paragraph: list[str]) -> bool:
    return (
        bool(paragraph)
        and bool(_TRAILER.fullmatch(paragraph[0]))
        and all(_TRAILER.fullmatch(line) or _CONTINUATION.fullmatch(line) for line in paragraph)
    )


def add_trailers(message: str, trailers: list[str]) -> str:
    """`message` with `trailers` at its end: in its own trailer block when its last
    paragraph is one (never the subject's paragraph), else in a new paragraph after a
    blank line. A trailer the message has already is not added again."""
    lines = message.rstrip().split("\n")
    new = [t for t in dict.fromkeys(trailers) if t not in lines]
    if not new:
        return message
    blank = [i for i, line in enumerate(lines) if not line.strip()]
    last = lines[blank[-1] + 1 :] if blank else []  # the subject's paragraph never counts
    separator = [] if _is_trailer_block(last) else [""]
    return "\n".join([*lines, *separator, *new]) + "\n"
