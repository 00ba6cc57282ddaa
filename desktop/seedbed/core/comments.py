"""Review comments and the "request changes" round they feed.

A developer leaves comments on lines of a task's diff; "request changes" turns the
unsent ones (with the code they quote) and an optional message into the agent's
follow-up prompt, records which version was reviewed (so the next round can show only
what changed since), and marks the comments sent: from then on they are history and
can no longer be edited or deleted.

The prompt is built by a pure function (`follow_up_prompt`) so its wording is tested
without running anything.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Sequence
from itertools import islice
from pathlib import PurePosixPath

from seedbed import vcs
from seedbed.core.changes import diff_files, line_count
from seedbed.core.context import Changed, Context, Done
from seedbed.core.setup import check_text
from seedbed.core.tasks import request_changes
from seedbed.core.workspace import branch_exists, live_worktree
from seedbed.domain import bounds
from seedbed.domain.diffs import Comment, CommentAuthor
from seedbed.domain.errors import SeedbedError, UserError
from seedbed.domain.models import Task, TaskState
from seedbed.store import Store
from seedbed.vcs.worktree_files import open_worktree_file

MAX_BODY_CHARS = 20_000
MAX_QUOTE_CHARS = 20_000
QUOTE_LINES = 40  # lines quoted from the worktree at most, when the caller quotes none
WHOLE_CHANGE = "."  # the path of a comment on the whole change, not one file
_CLOSED = (TaskState.MERGED, TaskState.DISCARDED)


# -- comments ---------------------------------------------------------------------------


def add_comment(
    ctx: Context,
    task_id: int,
    path: str,
    line: int | None,
    end_line: int | None,
    body: str,
    quote: str = "",
) -> Done[Comment]:
    """The developer's comment on `path` (line `line` to `end_line`, or the whole file)."""
    comment = save_comment(ctx.store, task_id, path, line, end_line, body, quote)
    return Done(value=comment, changed=Changed.task(task_id))


def save_comment(
    store: Store,
    task_id: int,
    path: str,
    line: int | None,
    end_line: int | None,
    body: str,
    quote: str = "",
    author: CommentAuthor = CommentAuthor.USER,
) -> Comment:
    """Save a comment on `path` (line `line` to `end_line`, or the whole file).

    Without a quote, the commented lines are quoted from the task's worktree as they are
    now, so the agent later reads the code the comment was about even if it moved since.
    """
    task = store.get_task(task_id)
    if task.state in _CLOSED:
        raise UserError(f"task {task_id} is {task.state.value}: its review is over")
    path = check_path(path)
    if line is None and end_line is not None:
        raise UserError("--end-line needs --line: the selection's first line")
    for field, number in (("line", line), ("end_line", end_line)):
        try:  # the bounds Comment declares: lines count from 1 (the reviewer's too)
            bounds.check(Comment, field, number)
        except ValueError as exc:
            raise UserError(f"line {number} is not a line: it {exc}") from None
    if line is not None and end_line is not None and end_line < line:
        raise UserError(f"the selection ends (line {end_line}) before it starts (line {line})")
    body = check_body(body)
    if path != WHOLE_CHANGE:
        check_in_diff(store, task, path, line, end_line)
    check_text(quote, "the quoted code")
    if len(quote) > MAX_QUOTE_CHARS:
        raise UserError(f"the quoted code is longer than {MAX_QUOTE_CHARS:,} characters")
    if not quote and line is not None:
        quote = quote_from_worktree(task, path, line, end_line)
    return store.add_comment(
        Comment(
            task_id=task_id,
            path=path,
            line=line,
            end_line=end_line,
            quote=quote,
            body=body,
            author=author,
        )
    )


def edit_comment(ctx: Context, comment_id: int, body: str) -> Done[Comment]:
    """Change an unsent comment's text (a sent one is what the agent was told)."""
    comment = ctx.store.update_comment(comment_id, unsent=True, body=check_body(body))
    return Done(value=comment, changed=Changed.task(comment.task_id))


def delete_comment(ctx: Context, comment_id: int) -> Done[None]:
    """Remove an unsent comment (a sent one stays, as the record of the round)."""
    task_id = ctx.store.get_comment(comment_id).task_id
    ctx.store.delete_comment(comment_id, unsent=True)
    return Done(value=None, changed=Changed.task(task_id))


def list_comments(ctx: Context, task_id: int) -> list[Comment]:
    """A task's comments, sent ones too (`seedbed comment list`)."""
    ctx.store.get_task(task_id)
    return ctx.store.list_comments(task_id)


def check_path(path: str) -> str:
    """A path inside the repository, as diffs name files: relative, no `..`, no NUL."""
    check_text(path, "the file path")
    clean = path.strip()
    if not clean:
        raise UserError("the comment needs a file: --file is empty")
    parts = PurePosixPath(clean).parts
    if clean.startswith("/") or ".." in parts:
        raise UserError(f"{path!r} is not a path inside the repository")
    return str(PurePosixPath(*parts))


def check_in_diff(
    store: Store, task: Task, path: str, line: int | None, end_line: int | None
) -> None:
    """A comment is about the task's change: its file is in the diff and its lines are
    in that file as the task left it (a deleted or binary file takes whole-file ones)."""
    changes = diff_files(store, task)
    change = next((c for c in changes if c.path == path), None)
    if change is None:
        listed = ", ".join(c.path for c in changes[:5]) + (", …" if len(changes) > 5 else "")
        raise UserError(
            f"{path} is not in task {task.id}'s diff"
            + (f" (it changes {listed})" if changes else " (it changes nothing)")
        )
    if line is None:
        return
    if change.status == "D" or change.binary:
        what = "deleted" if change.status == "D" else "binary"
        raise UserError(f"{path} is {what} in task {task.id}'s diff: comment on the whole file")
    count = line_count(store, task, path)
    last = end_line or line
    if count is not None and last > count:
        raise UserError(f"line {last} is outside {path}, which has {count} lines")


def check_body(body: str) -> str:
    check_text(body, "the comment")
    if not body.strip():
        raise UserError("the comment is empty: say what should change")
    if len(body) > MAX_BODY_CHARS:
        raise UserError(f"the comment is longer than {MAX_BODY_CHARS:,} characters")
    return body


def quote_from_worktree(task: Task, path: str, line: int, end_line: int | None) -> str:
    """The lines a comment is about, read from the task's worktree; empty when the file
    or the worktree is gone, or not a file (a link is quoted as git has it: its target)."""
    if task.worktree is None:
        return ""
    stream = open_worktree_file(task.worktree, path)
    if stream is None:
        return ""
    last = min(end_line or line, line + QUOTE_LINES - 1)
    try:
        with io.TextIOWrapper(stream, encoding="utf-8", errors="replace") as file:
            lines = list(islice(file, line - 1, last))
    except OSError:
        return ""
    return "".join(lines).rstrip("\n")[:MAX_QUOTE_CHARS]


# -- the follow-up prompt ---------------------------------------------------------------


def comment_location(comment: Comment) -> str:
    """`path`, `path:line` or `path:line-end`, as the agent and the lists show it."""
    if comment.line is None:
        return comment.path
    if comment.end_line is None or comment.end_line == comment.line:
        return f"{comment.path}:{comment.line}"
    return f"{comment.path}:{comment.line}-{comment.end_line}"


def fence(code: str) -> str:
    """`code` in a Markdown fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}\n{code}\n{marks}"


def comment_order(comment: Comment) -> tuple[str, int, int, int]:
    """Files in name order, then lines top to bottom (a whole-file comment first)."""
    return (comment.path, comment.line or 0, comment.end_line or 0, comment.id)


def follow_up_prompt(comments: Sequence[Comment], message: str) -> str:
    """The agent's follow-up prompt: the message, then each comment with where it is,
    the code it quotes and what it says. Without comments it is the message itself."""
    if not comments:
        return message
    parts = [message.strip()] if message.strip() else []
    count = f"{len(comments)} review comment" + ("s" if len(comments) > 1 else "")
    parts.append(
        f"{count} on your changes; address each one. Line numbers are those of the "
        "files as you left them."
    )
    for number, comment in enumerate(sorted(comments, key=comment_order), start=1):
        by = " (from the reviewer agent)" if comment.author is CommentAuthor.REVIEWER else ""
        block = [f"{number}. {comment_location(comment)}{by}"]
        if comment.quote:
            block.append(fence(comment.quote))
        block.append(comment.body.strip())
        parts.append("\n".join(block))
    return "\n\n".join(parts)


# -- request changes --------------------------------------------------------------------


def request_changes_with_comments(ctx: Context, task_id: int, message: str = "") -> Done[Task]:
    """Send the task back to its agent with the unsent, unresolved comments and the
    message (either may be missing, not both); remember the branch tip that was reviewed
    and mark the comments sent."""
    store = ctx.store
    comments = [c for c in store.list_comments(task_id, unsent_only=True) if not c.resolved]
    check_text(message, "the message")
    tip = reviewed_tip(store, store.get_task(task_id))
    task = request_changes(store, task_id, follow_up_prompt(comments, message))
    store.mark_comments_sent([c.id for c in comments], time.time())
    if tip is not None:
        task = store.update_task(task_id, reviewed_commit=tip)
    return Done(value=task, changed=Changed.task(task_id))


def reviewed_tip(store: Store, task: Task) -> str | None:
    """The commit the developer is looking at: the task branch's tip, if it has one."""
    if task.branch is None:
        return None
    repo = store.get_project(task.project_id).path
    try:
        if not vcs.branch_exists(repo, task.branch):
            return None
        return vcs.rev_parse(repo, f"refs/heads/{task.branch}")
    except SeedbedError:
        return None


def diff_since_review(ctx: Context, task_id: int) -> str:
    """What changed since the version the developer last sent back: reviewed commit →
    the branch (or, while the agent works, → the working tree)."""
    store = ctx.store
    task = store.get_task(task_id)
    if task.reviewed_commit is None:
        raise UserError(
            f"task {task_id} has not been sent back with changes requested: "
            "there is no earlier review to compare with"
        )
    live = live_worktree(task)
    if live is not None:
        return vcs.worktree_diff_text(live, task.reviewed_commit)
    project = store.get_project(task.project_id)
    if task.branch is None or not branch_exists(project, task):
        raise UserError(f"task {task_id} has no branch: it was deleted")
    return vcs.diff_text(project.path, task.reviewed_commit, task.branch)
