"""Text every agent runtime shapes the same way: the task as a message, bounded logs."""

from __future__ import annotations

import json

from seedbed.agents.base import RunRequest
from seedbed.domain.models import RunKind

LOG_LIMIT = 4000


def size_text(size: int) -> str:
    """A byte count as people say it: "8 MiB", "64 KiB", "1000 bytes"."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB"
    return f"{size} bytes"


def bounded(text: str, limit: int = LOG_LIMIT) -> str:
    """Text for the log, cut (with a note) so one event never holds a whole file."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[… {len(text) - limit} more characters not logged]"


def bounded_arguments(arguments: object) -> dict[str, object]:
    """A tool call's arguments for the log, long strings cut."""
    if not isinstance(arguments, dict):
        return {"value": bounded(json.dumps(arguments))}
    return {
        str(key): bounded(value) if isinstance(value, str) else value
        for key, value in arguments.items()
    }


def task_message(request: RunRequest, resume: bool) -> str:
    """What an agent CLI is asked: the whole task on a first run (title, prompt, approved
    plan, and the requested changes when no session could be resumed); the follow-up
    alone when the session that knows the task is resumed."""
    if resume or request.kind in (RunKind.REVIEW, RunKind.PLAN):  # their prompt says it all
        return request.follow_up
    title, prompt = request.title.strip(), request.prompt.strip()
    parts = [title, prompt if prompt != title else ""]
    if request.plan.strip():
        parts.append("Follow this approved plan:\n\n" + request.plan.strip())
    if request.follow_up.strip():
        parts.append("Requested changes to the work so far:\n\n" + request.follow_up.strip())
    return "\n\n".join(part for part in parts if part)
