"""Plan first: a planner run reads the repository (it changes nothing: what it leaves is
undone) and answers with a plan in Markdown, or with a split into smaller tasks; the
developer approves, edits or sends back the plan before any code is written (Qt-free)."""

from __future__ import annotations

import json
import re

from pydantic import Field, ValidationError

from seedbed.domain.models import Model, Task

_FENCE = re.compile(r"```json\s*\n(.*?)```", re.DOTALL)
MAX_SPLIT = 12  # smaller tasks one plan may propose


class SplitTask(Model):
    title: str = Field(min_length=1, max_length=200)
    prompt: str = ""


class Split(Model):
    split: list[SplitTask] = Field(min_length=2, max_length=MAX_SPLIT)


def plan_prompt(task: Task, comment: str = "") -> str:
    """What the planner run is asked (`comment`: the developer's word on its last plan)."""
    again = ""
    if comment.strip():
        again = (
            f"\n\nYour previous plan:\n\n{task.plan.strip()}\n\nThe developer's comment on "
            f"it:\n\n{comment.strip()}\n\nWrite the plan again with that in mind."
        )
    return (
        "Plan this task before anyone writes code. Read the repository (do not change any "
        "file), find where the change goes and what could break, then answer with the plan "
        "in Markdown: the files to change and how, the order of the steps, how to check the "
        "result. Be specific: an implementer with no time to read the code follows it.\n\n"
        "If the task is really several independent pieces of work, you may instead propose "
        "smaller tasks: answer with a ```json fence holding "
        '{"split": [{"title": "…", "prompt": "…"}, …]} (2 to '
        f"{MAX_SPLIT} tasks, each one a whole change on its own).\n\n"
        f"The task: {task.title.strip()}\n\n{task.prompt.strip()}{again}"
    )


def parse_split(answer: str) -> Split | None:
    """A proposed split, from the last ```json fence that holds one; None: a plan."""
    for text in reversed(_FENCE.findall(answer)):
        try:
            return Split.model_validate(json.loads(text))
        except (ValueError, ValidationError):
            continue
    return None


def split_note(children: list[Task]) -> str:
    """The parent's plan once it was split: where the work went."""
    lines = [f"- #{child.id} {child.title}" for child in children]
    return "Split into smaller tasks, each on the board as Planned:\n\n" + "\n".join(lines)
