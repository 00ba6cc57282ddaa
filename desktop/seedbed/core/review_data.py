"""What the diff reviewer shows for a task, read in blocking calls (Qt-free).

`load_review` gathers the parsed diff (merge-base → branch, or → the working tree while
the task runs), the executor's last words, the reviewer agent's verdict, the checks and
the notes of the radar.

A big diff takes a while to parse (a 20,000-line diff: about 150 ms), so a window opens
with `load_outline` first: the file list from `git diff --numstat` and only the first
file parsed; the whole of it follows. `load_file` parses one file of an outline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pydantic import Field

from seedbed.core.context import Context
from seedbed.core.merging import base_moved_since_checks
from seedbed.core.radar import budget_note, overlapping_tasks
from seedbed.core.review_agent import ReviewVerdict, parse_verdict
from seedbed.core.transcript import final_words
from seedbed.core.workspace import branch_exists, live_worktree, no_branch, worktree_path
from seedbed.domain.checks import shown_checks
from seedbed.domain.diffs import Comment, FileDiff, first_in_tree, tree_key
from seedbed.domain.errors import SeedbedError, UserError
from seedbed.domain.models import CheckResult, Model, Run, RunKind, Task
from seedbed.domain.slug import one_line
from seedbed.store import Store
from seedbed.vcs import diff as vcs_diff
from seedbed.vcs.runner import PATHS_RAW, run_git
from seedbed.vcs.worktree_files import read_worktree_file

MAX_LINES = 20_000  # diff lines per file shown before "too large: show anyway"
MESSAGE_CHARS = 600  # of the executor's summary in the prefilled commit message, at most
MESSAGE_LINES = 8  # and lines: a command agent's stdout is no commit message
EXECUTOR_RUNS = (RunKind.IMPLEMENT, RunKind.FIX)
_PARAGRAPH_BREAK = re.compile(r"\r?\n[ \t]*\r?\n")


class ReviewData(Model):
    """Everything the reviewer window shows of one task at one moment."""

    task: Task
    files: list[FileDiff] = Field(default_factory=list)
    live: bool = Field(False, description="Running: merge-base → the working tree.")
    since: str | None = Field(None, description="The reviewed commit the diff starts from.")
    summary: str = Field(
        "", description="The executor's last answer: its latest implement or fix run's."
    )
    review: ReviewVerdict | None = Field(
        None, description="The reviewer agent's verdict on the latest change, if it gave one."
    )
    review_answer: str = Field(
        "", description="The reviewer agent's last answer, when it held no verdict."
    )
    checks: CheckResult = Field(default_factory=CheckResult)
    base_moved: int | None = Field(
        None, description="Commits the base gained since the checks ran (None: unknown)."
    )
    run_id: int | None = Field(None, description="The last run (its events refresh the view).")
    budget_note: str = ""
    overlaps: list[str] = Field(default_factory=list)
    comments: list[Comment] = Field(default_factory=list)
    diff_range: vcs_diff.DiffRange | None = Field(
        None, description="The two states diffed: later reads of this review use them too."
    )
    outline: bool = Field(False, description="Files not parsed yet; the rest follows.")


def _range(
    store: Store, task: Task, since_reviewed: bool
) -> tuple[vcs_diff.DiffRange, bool, str | None]:
    """The two states to diff, whether that is the live working tree, and the reviewed
    commit it starts from when it does."""
    project = store.get_project(task.project_id)
    if task.branch is None:
        raise no_branch(task)
    reviewed = task.reviewed_commit
    live = live_worktree(task)
    if since_reviewed and reviewed:
        if live is not None:
            return vcs_diff.worktree_range_since(live, reviewed), True, reviewed
        return vcs_diff.commit_range(project.path, reviewed, task.branch), False, reviewed
    if live is not None:
        return vcs_diff.worktree_range(live, task.base_branch), True, None
    try:  # one git: a branch that is gone is looked for only when that fails
        found = vcs_diff.branch_range(project.path, task.base_branch, f"refs/heads/{task.branch}")
    except SeedbedError:
        if not branch_exists(project, task):
            gone = f"the branch {task.branch} of task {task.id} no longer exists"
            raise UserError(gone) from None
        raise
    return found, False, None


def _radar_notes(store: Store, task: Task, files: list[FileDiff]) -> tuple[str, list[str]]:
    """The diff budget note and the other active tasks that change the same files."""
    budget = store.get_project(task.project_id).diff_budget
    note = budget_note(sum(f.insertions + f.deletions for f in files), budget)
    mine = {f.path for f in files} | {f.old_path for f in files if f.old_path}
    try:
        # This task's files are known already: no second diff of it.
        found = overlapping_tasks(Context(store), task.project_id, known={task.id: mine}).get(
            task.id, []
        )
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


def _with_run(store: Store, data: ReviewData) -> ReviewData:
    """The last run's id and checks, the executor's summary and the reviewer's verdict
    added. Each from its own runs: the reviewer's answer (a JSON verdict) is not what
    the executor did, and a planner's is the plan."""
    runs: list[Run] = store.list_runs(data.task.id)
    if runs:
        last = runs[-1]
        data.run_id = last.id
        data.checks = shown_checks(runs)
    for run in reversed(runs):
        if run.kind in EXECUTOR_RUNS:
            data.summary = final_words(store, run.id)  # a command's: what it printed
            if data.summary:
                break
    executed = [n for n, run in enumerate(runs) if run.kind in EXECUTOR_RUNS]
    # A review of an older change says nothing of the one shown now.
    after = runs[executed[-1] + 1 :] if executed else runs
    reviews = [run for run in after if run.kind is RunKind.REVIEW]
    if reviews:
        answer = final_words(store, reviews[-1].id)
        data.review = parse_verdict(answer)
        data.review_answer = answer if data.review is None else ""
    return data


def prefilled_message(task: Task, summary: str) -> str:
    """The commit message the reviewer offers: the task's title on one line, then the first
    paragraph of the executor's summary, cut to a few lines (a command agent's summary
    is everything it printed)."""
    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(summary.strip()) if p.strip()]
    # A lone heading ("## Summary") names the paragraph after it.
    while len(paragraphs) > 1 and "\n" not in paragraphs[0] and paragraphs[0].startswith("#"):
        paragraphs.pop(0)
    paragraph = paragraphs[0] if paragraphs else ""
    lines = paragraph.splitlines()
    body = "\n".join(line.rstrip() for line in lines[:MESSAGE_LINES])
    cut = len(lines) > MESSAGE_LINES
    if len(body) > MESSAGE_CHARS:
        body, cut = body[:MESSAGE_CHARS].rsplit(" ", 1)[0].rstrip(), True
    body += "…" if cut and body else ""
    return one_line(task.title) + (f"\n\n{body}" if body else "") + "\n"


def load_review(
    ctx: Context,
    task_id: int,
    since_reviewed: bool = False,
    uncapped: frozenset[str] = frozenset(),
) -> ReviewData:
    """The task's diff, summary, checks, notes and comments (blocking: git runs).

    Files in `uncapped` are shown whole even when too large (the user asked for them)."""
    store = ctx.store
    task = store.get_task(task_id)
    diff_range, live, since = _range(store, task, since_reviewed)
    files = vcs_diff.parsed(diff_range, MAX_LINES)
    if any(f.too_large and f.path in uncapped for f in files):
        shown = vcs_diff.parsed(diff_range, paths=sorted(uncapped), whole=True)
        whole = {f.path: f for f in shown}
        files = [whole.get(f.path, f) if f.path in uncapped else f for f in files]
    note, overlaps = _radar_notes(store, task, files)
    data = ReviewData(
        task=task,
        files=files,
        live=live,
        since=since,
        budget_note=note,
        overlaps=overlaps,
        comments=store.list_comments(task_id),
        diff_range=diff_range,
    )
    return _with_base(store, _with_run(store, data))


def _with_base(store: Store, data: ReviewData) -> ReviewData:
    """How far the base moved since the checks ran (git: off the GUI thread)."""
    project = store.get_project(data.task.project_id)
    data.base_moved = base_moved_since_checks(project, data.task, store.list_runs(data.task.id))
    return data


def load_outline(
    ctx: Context,
    task_id: int,
    since_reviewed: bool | None,
    first: Callable[[list[FileDiff]], FileDiff | None],
) -> ReviewData:
    """The task's files from `git diff --numstat` (outlines), the one `first` picks
    parsed, the summary, checks, budget and comments; no radar (it diffs other tasks).
    `first` runs here, off the GUI thread: a pure function of the list.

    `since_reviewed` None: as the task stands, since its last review when it had one (a
    window opening asks so, without first reading the task)."""
    store = ctx.store
    task = store.get_task(task_id)
    diff_range, live, since = _range(store, task, since_reviewed is not False)
    files = vcs_diff.outline(diff_range)
    chosen = first(files)
    if chosen is not None and not chosen.binary:
        found = _parse_one(diff_range, chosen)
        files = [found if f is chosen and found is not None else f for f in files]
    budget = store.get_project(task.project_id).diff_budget
    data = ReviewData(
        task=task,
        files=files,
        live=live,
        since=since,
        budget_note=budget_note(sum(f.insertions + f.deletions for f in files), budget),
        comments=store.list_comments(task_id),
        diff_range=diff_range,
        outline=True,
    )
    return _with_base(store, _with_run(store, data))


def load_outline_in_tree_order(
    ctx: Context, task_id: int, since_reviewed: bool | None = None, parse_first: bool = True
) -> ReviewData:
    """`load_outline` with the file the reviewer's tree shows first parsed (a verb); none
    is with `parse_first` False (the window reads it beside: `load_first_in_tree_order`),
    but for a live diff, which that leaves out."""
    live = live_worktree(ctx.store.get_task(task_id)) is not None
    chooser = first_in_tree if parse_first or live else _none
    return load_outline(ctx, task_id, since_reviewed, chooser)


def _none(_files: list[FileDiff]) -> FileDiff | None:
    return None


class FirstFile(Model):
    """The file a reviewer shows first, parsed, the range it was read from, and the
    changed files without their counts (`vcs.diff.changed_paths`: sent as JSON arrays,
    which read back in a fraction of the time of as many FileDiffs)."""

    file: FileDiff | None = None
    diff_range: vcs_diff.DiffRange | None = None
    files: list[vcs_diff.ListedFile] = Field(default_factory=list)


def listed_outlines(files: list[vcs_diff.ListedFile]) -> list[FileDiff]:
    """The listed files as outlines without counts. (Checked: pydantic's
    `model_construct` was 20-40 times slower here, inspecting the `default_factory`
    signatures of every model it builds.)"""
    return [
        FileDiff(
            path=f.path,
            old_path=f.old_path,
            status=f.status,
            old_blob=f.old_blob,
            new_blob=f.new_blob,
            outline=True,
        )
        for f in files
    ]


def load_first_in_tree_order(
    ctx: Context, task_id: int, since_reviewed: bool | None = None
) -> FirstFile:
    """The file `load_outline_in_tree_order` parses, read beside it (a verb), and the
    list it was picked from: `git diff --raw`, which reads no file, so the window shows
    the list and lays this file out while the outline's counts are read. Nothing for
    a live diff (its working tree would be snapshot twice), a diff without files, or
    when it cannot be read (the outline says why)."""
    store = ctx.store
    try:
        task = store.get_task(task_id)
        if live_worktree(task) is not None:
            return FirstFile()
        diff_range, _live, _since = _range(store, task, since_reviewed is not False)
        files = vcs_diff.changed_paths(diff_range)
        chosen = min(files, key=lambda f: tree_key(f.path), default=None)
        found = None
        if chosen is not None:
            picked = FileDiff(path=chosen.path, old_path=chosen.old_path, status=chosen.status)
            found = _parse_one(diff_range, picked)
    except SeedbedError:
        return FirstFile()
    return FirstFile(file=found, diff_range=diff_range, files=files)


def with_first_file(data: ReviewData, first: FirstFile) -> ReviewData:
    """The outline with the file read beside it in place of its entry, when both read
    the same two states (else as it is: its file is read when shown)."""
    found = first.file
    if found is None or first.diff_range is None or first.diff_range != data.diff_range:
        return data
    files = [found if f.outline and f.path == found.path else f for f in data.files]
    return data.model_copy(update={"files": files})


def _parse_one(diff_range: vcs_diff.DiffRange, file: FileDiff) -> FileDiff | None:
    paths = [file.path] + ([file.old_path] if file.old_path else [])
    found = vcs_diff.parsed(diff_range, MAX_LINES, paths)
    return next((f for f in found if f.path == file.path), None)


def load_file(ctx: Context, diff_range: vcs_diff.DiffRange | None, file: FileDiff) -> FileDiff:
    """An outline's file of the review read over `diff_range`, parsed (blocking: git
    runs, on the engine's machine, where the repository is); the file as it is when it is
    not an outline or cannot be found."""
    if not file.outline or file.binary or diff_range is None:
        return file
    return _parse_one(diff_range, file) or file


def load_comments(ctx: Context, task_id: int) -> list[Comment]:
    return ctx.store.list_comments(task_id)


# -- the new side of a reviewed file, read whole so a folded region can be opened -----


def split_source(text: str) -> list[str]:
    """A file's lines as the diff names them: split on LF only, CR of CRLF dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_new_lines(ctx: Context, data: ReviewData, path: str) -> list[str]:
    """`path` as the diff's new side has it: the very commit or tree the diff ended at
    (`git show <new>:<path>`; for a live diff, the snapshot of the working tree it was
    made from), else the working tree or the branch tip. Empty when it cannot be read
    (the fold then stays folded). Blocking."""
    try:
        return _read_new(ctx, data, path)
    except (OSError, SeedbedError):
        return []


def read_blob(ctx: Context, cwd: Path, blob: str) -> str | None:
    """A blob's text by its id (blocking; on the engine's machine, where the repository
    is); None when it cannot be read. It needs no store: the blob is named by the diff
    the review already read (its cwd and ids)."""
    try:
        out = run_git(cwd, "cat-file", "blob", blob)
    except (OSError, SeedbedError):
        return None
    return out.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _read_new(ctx: Context, data: ReviewData, path: str) -> list[str]:
    task = data.task
    if data.diff_range is not None:
        cwd, new = data.diff_range.cwd, data.diff_range.new
        out = run_git(cwd, *PATHS_RAW, "show", "--no-textconv", f"{new}:{path}")
        return split_source(out.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    if data.live and (worktree := worktree_path(task)) is not None:
        # What the agent left is not followed: a link shows its target, as git has it.
        raw = read_worktree_file(worktree, path)
        return [] if raw is None else split_source(raw.decode("utf-8", "replace"))
    if task.branch is None:
        return []
    repo = ctx.store.get_project(task.project_id).path
    out = run_git(repo, *PATHS_RAW, "show", "--no-textconv", f"{task.branch}:{path}")
    return split_source(out.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
