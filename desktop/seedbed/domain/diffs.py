"""A parsed diff and review comments: what the reviewer shows and what it sends back.

Pure data; parsing lives in `vcs/diffparse.py`, intraline spans in `domain/intraline.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import Field

from seedbed.domain.models import SQLITE_MAX_INT, Model, RowId


class LineKind(StrEnum):
    CONTEXT = " "
    ADDED = "+"
    REMOVED = "-"


class DiffLine(Model):
    kind: LineKind
    text: str = Field(description="The line without its +/-/space prefix or line ending.")
    old_no: int | None = Field(None, description="Line number in the old file (1-based).")
    new_no: int | None = Field(None, description="Line number in the new file (1-based).")
    no_newline: bool = Field(False, description="The file ends here without a newline.")
    crlf: bool = Field(False, description="The line ended in CRLF.")


class Hunk(Model):
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    header: str = Field("", description="The text after the second @@ (a function name).")
    lines: list[DiffLine] = Field(default_factory=list)


class FileDiff(Model):
    """One file of a unified diff."""

    path: str = Field(description="The new path (the old one for a deleted file).")
    old_path: str | None = Field(None, description="Set when the file was renamed or copied.")
    status: str = Field(description="A added, M modified, D deleted, R renamed, C copied, T type.")
    binary: bool = False
    insertions: int = 0
    deletions: int = 0
    similarity: int | None = Field(None, description="Rename/copy similarity in percent.")
    old_mode: str | None = None
    new_mode: str | None = None
    old_blob: str | None = Field(None, description="The old side's blob id (none when added).")
    new_blob: str | None = Field(None, description="The new side's blob id (none when deleted).")
    hunks: list[Hunk] = Field(default_factory=list)
    too_large: bool = Field(
        False, description="Hunks left out because the file's diff is too big to show at once."
    )
    outline: bool = Field(
        False, description="Only path, status and counts: the hunks are not read yet."
    )


def tree_key(path: str) -> tuple[tuple[int, str, str], ...]:
    """Sorts paths in the reviewer's tree order, top to bottom: in each directory its
    subdirectories first, then its files, each alphabetical."""
    *dirs, name = path.split("/")
    parts = [(0, part.casefold(), part) for part in dirs]
    parts.append((1, name.casefold(), name))
    return tuple(parts)


def first_in_tree(files: Sequence[FileDiff]) -> FileDiff | None:
    """The file the reviewer's tree shows first."""
    return min(files, key=lambda f: tree_key(f.path), default=None)


class CommentAuthor(StrEnum):
    USER = "user"
    REVIEWER = "reviewer"  # the reviewer agent (issue 7)


class Comment(Model):
    """A review comment on a file's line (or lines), sent back with "request changes"."""

    id: RowId = 0
    task_id: int
    path: str
    line: int | None = Field(
        None, ge=1, le=SQLITE_MAX_INT, description="New-file line (1-based); None: the whole file."
    )
    end_line: int | None = Field(
        None, ge=1, le=SQLITE_MAX_INT, description="Last line of a multi-line selection."
    )
    quote: str = Field("", description="The code the comment is about, as it was then.")
    body: str
    author: CommentAuthor = CommentAuthor.USER
    sent: bool = Field(False, description="Sent to the agent with a request for changes.")
    resolved: bool = False
    created_at: float = 0.0
