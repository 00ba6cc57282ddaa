"""What the diff reviewer shows for a task, read in one blocking call (Qt-free).

`load_review` gathers the parsed diff (merge-base → branch, or → the working tree while
the task runs), the agent's last words, the checks and the notes of the radar.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field

from seedbed.domain.diffs import Comment, FileDiff
from seedbed.domain.errors import SeedbedError, UserError
from seedbed.domain.models import CheckResult, Model, Run, Task, TaskState
from seedbed.engine.radar import budget_note, overlapping_tasks
from seedbed.store import Store
from seedbed.vcs import diff as vcs_diff
from seedbed.vcs.git import branch_exists

MAX_LINES = 20_000  # diff lines per file shown before "too large: show anyway"
UNCAPPED = 1 << 40
SUMMARY_PAGE = 200  # log rows read per step when looking back for the last answer
SUMMARY_ROWS = 5000  # and how far back at most


class ReviewData(Model):
    """Everything the reviewer window shows of one task at one moment."""

    task: Task
    files: list[FileDiff] = Field(default_factory=list)
    live: bool = Field(False, description="Running: merge-base → the working tree.")
    since: str | None = Field(None, description="The reviewed commit the diff starts from.")
    summary: str = Field("", description="The last run's last complete answer.")
    checks: CheckResult = Field(default_factory=CheckResult)
    run_id: int | None = Field(None, description="The last run (its events refresh the view).")
    budget_note: str = ""
    overlaps: list[str] = Field(default_factory=list)
    comments: list[Comment] = Field(default_factory=list)


def last_answer(store: Store, run_id: int) -> str:
    """The run's last non-delta text event, looked for backwards through its log rows
    (streamed pieces have no row; whole answers do)."""
    end = store.count_log_rows(run_id)
    first = end
    while first > 0 and end - first < SUMMARY_ROWS:
        first = max(0, first - SUMMARY_PAGE)
        rows = store.read_log_rows(run_id, first, SUMMARY_PAGE)
        for _row, _seq, data in reversed(rows):
            event = json.loads(data)
            if event.get("kind") == "text" and not event.get("delta"):
                return str(event.get("text", "")).strip()
    return ""


def _diff(
    store: Store, task: Task, since_reviewed: bool, cap: int = MAX_LINES
) -> tuple[list[FileDiff], bool, str | None]:
    project = store.get_project(task.project_id)
    if task.branch is None:
        raise UserError(f"task {task.id} has no branch yet: it has not run")
    reviewed = task.reviewed_commit
    if since_reviewed and reviewed:
        return vcs_diff.range_diff(project.path, reviewed, task.branch, cap), False, reviewed
    if task.state is TaskState.RUNNING and task.worktree and task.worktree.exists():
        return vcs_diff.worktree_review_diff(task.worktree, task.base_branch, cap), True, None
    if not branch_exists(project.path, task.branch):
        raise UserError(f"the branch {task.branch} of task {task.id} no longer exists")
    return vcs_diff.review_diff(project.path, task.base_branch, task.branch, cap), False, None


def _radar_notes(store: Store, task: Task, files: list[FileDiff]) -> tuple[str, list[str]]:
    """The diff budget note and the other active tasks that change the same files."""
    budget = store.get_project(task.project_id).diff_budget
    note = budget_note(sum(f.insertions + f.deletions for f in files), budget)
    mine = {f.path for f in files} | {f.old_path for f in files if f.old_path}
    try:
        # This task's files are known already: no second diff of it.
        found = overlapping_tasks(store, task.project_id, known={task.id: mine}).get(task.id, [])
    except SeedbedError:
        found = []
    overlaps = []
    for other_id, paths in found:
        try:
            title = store.get_task(other_id).title
        except SeedbedError:
            continue
        overlaps.append(f"Task {other_id} ({title}) also changes {', '.join(paths)}")
    return note, overlaps


def load_review(
    store: Store,
    task_id: int,
    since_reviewed: bool = False,
    uncapped: frozenset[str] = frozenset(),
) -> ReviewData:
    """The task's diff, summary, checks, notes and comments (blocking: git runs).

    Files in `uncapped` are shown whole even when too large (the user asked for them)."""
    task = store.get_task(task_id)
    files, live, since = _diff(store, task, since_reviewed)
    if any(f.too_large and f.path in uncapped for f in files):
        whole = {f.path: f for f in _diff(store, task, since_reviewed, UNCAPPED)[0]}
        files = [whole.get(f.path, f) if f.path in uncapped else f for f in files]
    runs: list[Run] = store.list_runs(task_id)
    last = runs[-1] if runs else None
    note, overlaps = _radar_notes(store, task, files)
    return ReviewData(
        task=task,
        files=files,
        live=live,
        since=since,
        summary=last_answer(store, last.id) if last else "",
        checks=last.checks if last else CheckResult(),
        run_id=last.id if last else None,
        budget_note=note,
        overlaps=overlaps,
        comments=store.list_comments(task_id),
    )


def load_comments(store: Store, task_id: int) -> list[Comment]:
    return store.list_comments(task_id)


def worktree_path(task: Task) -> Path | None:
    """The folder "Open worktree" shows, when it is there."""
    return task.worktree if task.worktree is not None and task.worktree.exists() else None
