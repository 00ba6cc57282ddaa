"""The new side of a reviewed file, read whole so a folded region can be opened
(blocking: run it through `host.call`; no Qt here)."""

from __future__ import annotations

from pathlib import Path

from seedbed.core.review_data import ReviewData
from seedbed.domain.errors import SeedbedError
from seedbed.store import Store
from seedbed.ui.review.layout import split_source
from seedbed.vcs.runner import PATHS_RAW, run_git


def read_new_lines(store: Store, data: ReviewData, path: str) -> list[str]:
    """`path` as the diff's new side has it: the very commit or tree the diff ended at
    (`git show <new>:<path>`; for a live diff, the snapshot of the working tree it was
    made from), else the working tree or the branch tip. Empty when it cannot be read
    (the fold then stays folded)."""
    try:
        return _read(store, data, path)
    except (OSError, SeedbedError):
        return []


def read_blob(cwd: Path, blob: str) -> str | None:
    """A blob's text by its id (blocking); None when it cannot be read."""
    try:
        out = run_git(cwd, "cat-file", "blob", blob)
    except (OSError, SeedbedError):
        return None
    return out.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _read(store: Store, data: ReviewData, path: str) -> list[str]:
    task = data.task
    if data.diff_range is not None:
        cwd, new = data.diff_range.cwd, data.diff_range.new
        out = run_git(cwd, *PATHS_RAW, "show", "--no-textconv", f"{new}:{path}")
        return split_source(out.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    if data.live and task.worktree is not None and task.worktree.exists():
        raw = (Path(task.worktree) / path).read_bytes()
        return split_source(raw.decode("utf-8", "replace"))
    if task.branch is None:
        return []
    repo = store.get_project(task.project_id).path
    out = run_git(repo, *PATHS_RAW, "show", "--no-textconv", f"{task.branch}:{path}")
    return split_source(out.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
