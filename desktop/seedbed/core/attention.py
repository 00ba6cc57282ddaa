"""What needs the human: which tasks wait for review, and when a change is worth telling.

Pure rules over the domain's tasks, shared by the window (its Needs-you queue and tray
notifications) and the engine process (desktop notifications when no window watches).
"""

from __future__ import annotations

from seedbed.domain.models import Phase, Task, TaskState

FAILED = (Phase.AGENT_FAILED, Phase.CHECKS_FAILED, Phase.CONFLICT, Phase.MERGE_CHECKS_FAILED)


def needs_you_order(tasks: list[Task]) -> list[Task]:
    """Tasks awaiting review, the one waiting longest first, behind those whose agent
    asks a question (it waits, holding its running slot); an approved one whose merge
    is queued or checked needs no one."""
    waiting = [
        t for t in tasks if t.state is TaskState.AWAITING_REVIEW and t.phase is not Phase.MERGING
    ]
    return sorted(waiting, key=lambda t: (t.phase is not Phase.NEEDS_INPUT, t.updated_at, t.id))


def notification_for(before: Task | None, after: Task) -> tuple[str, str] | None:
    """(title, body) when a task has just come to need the user, else None."""
    if after.state is not TaskState.AWAITING_REVIEW or after.phase is Phase.MERGING:
        return None
    if before is not None and before.state is TaskState.AWAITING_REVIEW:
        if before.phase == after.phase:
            return None
    elif before is not None and before.state is not TaskState.RUNNING:
        return None
    title = " ".join(after.title.split())
    if after.phase is Phase.NEEDS_INPUT:
        return f"#{after.id} asks you a question", title
    if after.phase in FAILED:
        what = after.phase.value.replace("_", " ")
        return f"#{after.id} needs you: {what}", title + (f"\n{after.error}" if after.error else "")
    return f"#{after.id} is ready for review", title
