"""The reviewer agent: after the checks pass, a fresh run of the task's reviewer profile
reads the task, its plan and the diff, and answers with a verdict (Qt-free, pure).

The verdict is the last JSON object of its final answer, best in a ```json fence:

    {"verdict": "approve" | "request_changes", "summary": "…",
     "comments": [{"path": "src/a.py", "line": 12, "body": "…"}]}

An answer without one is no verdict: the task waits for the developer, and says why.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum

from pydantic import Field, ValidationError

from seedbed.core.comments import save_comment
from seedbed.domain.diffs import Comment, CommentAuthor
from seedbed.domain.errors import SeedbedError
from seedbed.domain.models import Model, Task
from seedbed.store import Store

MAX_DIFF_CHARS = 60_000  # of the diff in the reviewer's prompt; the rest is cut, and said
_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL)


class Verdict(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"


class ReviewNote(Model):
    path: str
    line: int | None = Field(None, ge=1, description="New-file line; none: the whole file.")
    body: str = Field(min_length=1)


class ReviewVerdict(Model):
    verdict: Verdict
    summary: str = ""
    comments: list[ReviewNote] = Field(default_factory=list)


def review_prompt(task: Task, diff: str) -> str:
    """What the reviewer run is asked: the task, the plan, the diff, the answer's form."""
    cut = ""
    if len(diff) > MAX_DIFF_CHARS:
        diff, cut = diff[:MAX_DIFF_CHARS], "\n(The diff is longer; read the files for the rest.)"
    plan = f"\n\nThe approved plan:\n\n{task.plan.strip()}" if task.plan.strip() else ""
    return (
        "You are reviewing another agent's change before a human sees it. Do not change "
        "any file: read, run read-only commands if you must, and judge.\n\n"
        f"The task: {task.title.strip()}\n\n{task.prompt.strip()}{plan}\n\n"
        f"The change (git diff against the base branch):\n\n```diff\n{diff}\n```{cut}\n\n"
        "Approve it when it does the task correctly and completely, with no bug, missing "
        "piece or needless change you can point to. Otherwise request changes, with one "
        "comment per problem on the file and line (of the new file) it concerns.\n\n"
        "End your answer with exactly one JSON object in a ```json fence:\n"
        '{"verdict": "approve" or "request_changes", "summary": "one sentence", '
        '"comments": [{"path": "file", "line": 12, "body": "what is wrong and what to do"}]}'
    )


def parse_verdict(answer: str) -> ReviewVerdict | None:
    """The verdict in the reviewer's final answer: the last fenced JSON block that is
    one, else the last {...} that is; None when there is none."""
    fenced = [m.group(1) for m in _FENCE.finditer(answer)]
    for text in [*reversed(fenced), *_objects_from_the_end(answer)]:
        verdict = _verdict(text)
        if verdict is not None:
            return verdict
    return None


def _objects_from_the_end(answer: str) -> list[str]:
    """Texts starting at each "{", the last first (json.raw_decode stops at its end)."""
    found, start = [], answer.rfind("{")
    while start >= 0:
        found.append(answer[start:])
        start = answer.rfind("{", 0, start)
    return found


def _verdict(text: str) -> ReviewVerdict | None:
    try:
        data, _end = json.JSONDecoder().raw_decode(text.strip())
        return ReviewVerdict.model_validate(data)
    except (ValueError, ValidationError):
        return None


def review_note(review: ReviewVerdict) -> str:
    """The verdict as the log says it."""
    word = "approved" if review.verdict is Verdict.APPROVE else "asked for changes"
    count = len(review.comments)
    comments = f" ({count} comment{'s' if count != 1 else ''})" if count else ""
    summary = f": {review.summary.strip()}" if review.summary.strip() else ""
    return f"the reviewer {word}{comments}{summary}"


def save_review_comments(store: Store, task: Task, review: ReviewVerdict) -> list[Comment]:
    """The reviewer's comments, saved as the reviewer's (quoted from the worktree). One
    that cannot be saved (a path outside the repository, say) is said in the summary's
    place rather than lost: it becomes a comment on the whole change."""
    saved: list[Comment] = []
    for note in review.comments:
        try:
            saved.append(
                save_comment(
                    store,
                    task.id,
                    note.path,
                    note.line,
                    None,
                    note.body,
                    author=CommentAuthor.REVIEWER,
                )
            )
        except SeedbedError:
            body = f"(on {note.path}{f':{note.line}' if note.line else ''}) {note.body}"
            saved.append(
                save_comment(store, task.id, ".", None, None, body, author=CommentAuthor.REVIEWER)
            )
    if not saved and review.verdict is Verdict.REQUEST_CHANGES:
        summary = review.summary.strip() or "The reviewer asked for changes."
        saved.append(
            save_comment(store, task.id, ".", None, None, summary, author=CommentAuthor.REVIEWER)
        )
    return saved
