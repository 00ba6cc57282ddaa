"""Parsed and unified diffs: merge-base → branch, or → the live working tree."""

from __future__ import annotations

import contextlib
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from seedbed.domain.diffs import FileDiff
from seedbed.domain.errors import OperationError
from seedbed.domain.models import DiffStat, FileChange, Model
from seedbed.vcs.diffparse import NO_CAPS, parse_diff
from seedbed.vcs.git import merge_base, merge_base_and_tip, rev_parse
from seedbed.vcs.runner import DIFF_OPTIONS, PATHS_RAW, GitError, run_git

# Diffs


class _Record(NamedTuple):
    """One file of `git diff --raw --numstat -z`."""

    status: str
    old_path: str | None
    path: str
    old_blob: str
    new_blob: str
    insertions: str  # "-" for a binary file
    deletions: str


def _parse_records(out: str) -> list[_Record]:
    """Parse `git diff --raw --numstat -z`: all raw records, then numstat in the same order."""
    fields = out.split("\0")
    raw: list[tuple[str, str | None, str, str, str]] = []
    counts: list[tuple[str, str]] = []
    i = 0
    while i < len(fields):
        field = fields[i]
        if not field:
            i += 1
        elif field.startswith(":"):
            _old_mode, _new_mode, old_blob, new_blob, letters = field[1:].split()
            letter = letters[0]
            if letter in "RC":
                raw.append((letter, fields[i + 1], fields[i + 2], old_blob, new_blob))
                i += 3
            else:
                raw.append((letter, None, fields[i + 1], old_blob, new_blob))
                i += 2
        else:
            insertions, deletions, path = field.split("\t", 2)
            counts.append((insertions, deletions))
            i += 1 if path else 3  # a rename's paths follow in two fields of their own
    if len(raw) != len(counts):
        raise OperationError("could not parse git diff output")
    return [_Record(*r, *c) for r, c in zip(raw, counts, strict=True)]


def _parse_changes(out: str) -> list[FileChange]:
    return _parse_changes_from(_parse_records(out))


def _parse_changes_from(records: list[_Record]) -> list[FileChange]:
    return [
        FileChange(
            path=r.path,
            old_path=r.old_path,
            status=r.status,
            insertions=0 if r.insertions == "-" else int(r.insertions),
            deletions=0 if r.deletions == "-" else int(r.deletions),
            binary=r.insertions == "-",
        )
        for r in records
    ]


def _diff_text(cwd: Path, old: str, new: str, env: Mapping[str, str] | None = None) -> str:
    out = run_git(cwd, *PATHS_RAW, "diff", *DIFF_OPTIONS, old, new, env=env)
    return out.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _diff_records(
    cwd: Path, old: str, new: str, env: Mapping[str, str] | None = None
) -> list[_Record]:
    out = run_git(
        cwd,
        *PATHS_RAW,
        "diff",
        *DIFF_OPTIONS,
        "--raw",
        "--no-abbrev",
        "--numstat",
        "-z",
        old,
        new,
        env=env,
    )
    return _parse_records(out)


def _diff_files(
    cwd: Path, old: str, new: str, env: Mapping[str, str] | None = None
) -> list[FileChange]:
    return _parse_changes_from(_diff_records(cwd, old, new, env))


def _stat(changes: list[FileChange]) -> DiffStat:
    return DiffStat(
        files=len(changes),
        insertions=sum(c.insertions for c in changes),
        deletions=sum(c.deletions for c in changes),
    )


def diff_text(repo: Path, base: str, branch: str) -> str:
    """Unified diff of what `branch` changed since it left `base` (merge-base → branch)."""
    return _diff_text(repo, *merge_base_and_tip(repo, base, branch))


def diff_files(repo: Path, base: str, branch: str) -> list[FileChange]:
    return _diff_files(repo, *merge_base_and_tip(repo, base, branch))


def diff_stat(repo: Path, base: str, branch: str) -> DiffStat:
    return _stat(diff_files(repo, base, branch))


INDEX_LIMIT = 1 << 30  # a real index is far smaller; a larger one is not copied
GITLINK_MODE = "160000"  # a submodule's commit: never looked up by write-tree


def _plain_file(path: Path, limit: int) -> bool:
    """Whether `path` itself is a regular file of at most `limit` bytes (an agent may
    leave its index a link to /dev/zero, or a FIFO: the engine must not read those)."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size <= limit


def _worktree_tree(worktree: Path, env: Mapping[str, str] | None = None) -> str:
    """A tree of the working tree, untracked files included, built in a throwaway index.

    The agent may be using the real index at the same moment, so it is never touched.
    """
    index = run_git(worktree, "rev-parse", "--path-format=absolute", "--git-path", "index").strip()
    with tempfile.TemporaryDirectory(prefix="seedbed-index-") as tmp:
        temp_index = Path(tmp) / "index"
        if _plain_file(Path(index), INDEX_LIMIT):
            shutil.copyfile(index, temp_index)  # else git builds it again from the files
        env = {**(env or {}), "GIT_INDEX_FILE": str(temp_index)}
        run_git(worktree, "add", "-A", env=env)
        try:
            return run_git(worktree, "write-tree", env=env).strip()
        except GitError:
            if not _forget_missing_blobs(worktree, env):
                raise
        run_git(worktree, "add", "-A", env=env)  # their files hashed again, here
        return run_git(worktree, "write-tree", env=env).strip()


def _forget_missing_blobs(worktree: Path, env: Mapping[str, str]) -> bool:
    """Drop from the throwaway index (`env`) the entries whose blob the repository lacks;
    whether there were any. A sandboxed agent's `git add` writes its blobs into its run's
    private objects, which the engine does not read (docs/decisions.md): `git add -A`
    trusts an entry whose file did not change, and `write-tree` then finds no blob."""
    entries: dict[str, list[str]] = {}
    for record in run_git(worktree, "ls-files", "--stage", "-z", env=env).split("\0"):
        meta, _, path = record.partition("\t")
        fields = meta.split()
        if len(fields) == 3 and fields[0] != GITLINK_MODE:
            entries.setdefault(fields[1], []).append(path)
    listed = "".join(f"{blob}\n" for blob in entries)
    if not listed:
        return False
    said = run_git(worktree, "cat-file", "--batch-check=%(objectname)", input=listed, env=env)
    missing = [line.split()[0] for line in said.splitlines() if line.endswith(" missing")]
    paths = "".join(f"{path}\0" for blob in missing for path in entries.get(blob, []))
    if paths:
        run_git(worktree, "update-index", "-z", "--force-remove", "--stdin", input=paths, env=env)
    return bool(paths)


@contextlib.contextmanager
def _scratch_objects(worktree: Path) -> Iterator[dict[str, str]]:
    """An environment in which git writes new objects into a throwaway directory (and
    still reads the repository's): a diff of the working tree that is computed and then
    dropped leaves no blob behind, so a key the agent wrote that is refused at the commit
    (core/worktree_guard) never reaches the repository's objects."""
    objects = run_git(worktree, "rev-parse", "--path-format=absolute", "--git-path", "objects")
    with tempfile.TemporaryDirectory(prefix="seedbed-objects-") as tmp:
        yield {"GIT_OBJECT_DIRECTORY": tmp, "GIT_ALTERNATE_OBJECT_DIRECTORIES": objects.strip()}


def worktree_diff_text(worktree: Path, base: str) -> str:
    """Diff from merge-base(base, HEAD) to the working tree, untracked files included."""
    old = merge_base(worktree, base, "HEAD")
    with _scratch_objects(worktree) as env:
        return _diff_text(worktree, old, _worktree_tree(worktree, env), env)


def worktree_diff_files(worktree: Path, base: str) -> list[FileChange]:
    old = merge_base(worktree, base, "HEAD")
    with _scratch_objects(worktree) as env:
        return _diff_files(worktree, old, _worktree_tree(worktree, env), env)


def worktree_diff_stat(worktree: Path, base: str) -> DiffStat:
    return _stat(worktree_diff_files(worktree, base))


# Parsed diffs for the reviewer

# `--find-renames` is already in DIFF_OPTIONS (as -M); said again so that what the parser
# relies on is stated here. `--submodule=short` keeps a user's `diff.submodule=log` from
# printing "Submodule …" summaries instead of `diff --git` entries. `--raw --no-abbrev`
# first: both blob ids of every file (the "viewed" key; an outline has them from the same
# records). `--unified=3` pinned, whatever `diff.context` says: a last hunk with fewer
# than three lines of context after its change ends at the end of the file.
_REVIEW_OPTIONS = (
    "--find-renames",
    "--submodule=short",
    "--full-index",
    "--raw",
    "--no-abbrev",
    "--patch",
    "--unified=3",
)


class DiffRange(Model):
    """Two fixed object ids (commits, or a tree for a live working tree) and the
    repository that has them: every read of one review diffs the same two states."""

    cwd: Path
    old: str
    new: str


def branch_range(repo: Path, base: str, branch: str) -> DiffRange:
    """merge-base(base, branch) → the branch tip."""
    old, new = merge_base_and_tip(repo, base, branch)
    return DiffRange(cwd=repo, old=old, new=new)


def worktree_range(worktree: Path, base: str) -> DiffRange:
    """merge-base(base, HEAD) → the working tree, untracked files included.

    For a running card: the agent's uncommitted work is what the developer wants to see.
    """
    old = merge_base(worktree, base, "HEAD")
    return DiffRange(cwd=worktree, old=old, new=_worktree_tree(worktree))


def worktree_range_since(worktree: Path, old: str) -> DiffRange:
    """A commit → the working tree, untracked files included: "since last review" while
    the agent works on the changes."""
    return DiffRange(cwd=worktree, old=rev_parse(worktree, old), new=_worktree_tree(worktree))


def commit_range(repo: Path, old: str, new: str) -> DiffRange:
    """Between two commits: "since last review" shows only what changed after it."""
    return DiffRange(cwd=repo, old=rev_parse(repo, old), new=rev_parse(repo, new))


def outline(diff_range: DiffRange) -> list[FileDiff]:
    """Every changed file with its status, paths and counts, hunks not read (`outline`):
    a list to show while the whole diff is parsed."""
    records = _diff_records(diff_range.cwd, diff_range.old, diff_range.new)
    return [
        FileDiff(
            path=r.path,
            old_path=r.old_path,
            status=r.status,
            binary=r.insertions == "-",
            insertions=0 if r.insertions == "-" else int(r.insertions),
            deletions=0 if r.deletions == "-" else int(r.deletions),
            old_blob=None if r.status == "A" else r.old_blob,
            new_blob=None if r.status == "D" else r.new_blob,
            outline=True,
        )
        for r in records
    ]


class ListedFile(NamedTuple):
    """One file as `git diff --raw` lists it: no counts (no file is read for it)."""

    path: str
    old_path: str | None
    status: str
    old_blob: str | None
    new_blob: str | None


def changed_paths(diff_range: DiffRange) -> list[ListedFile]:
    """Every changed file with its status, paths and blob ids (`git diff --raw`, which
    reads no file): to show and pick from while the counts are read."""
    out = run_git(
        diff_range.cwd,
        *PATHS_RAW,
        "diff",
        *DIFF_OPTIONS,
        "--raw",
        "--no-abbrev",
        "-z",
        diff_range.old,
        diff_range.new,
    )
    fields = out.split("\0")
    files: list[ListedFile] = []
    i = 0
    while i < len(fields):
        if not fields[i].startswith(":"):
            i += 1
            continue
        _old_mode, _new_mode, old_blob, new_blob, letters = fields[i][1:].split()
        letter = letters[0]
        renamed = letter in "RC"
        path, old_path = (fields[i + 2], fields[i + 1]) if renamed else (fields[i + 1], None)
        old = None if letter == "A" else old_blob
        new = None if letter == "D" else new_blob
        files.append(ListedFile(path, old_path, letter, old, new))
        i += 3 if renamed else 2
    return files


def parsed(
    diff_range: DiffRange,
    max_lines_per_file: int = 20_000,
    paths: Sequence[str] = (),
    whole: bool = False,
) -> list[FileDiff]:
    """The range's diff parsed, all of it or only `paths` (taken literally: a name with
    `*` or `:` is a name). A renamed file needs both its paths to be found as a rename.
    `whole`: no file is too large (the user asked to see it anyway)."""
    cwd, old, new = diff_range.cwd, diff_range.old, diff_range.new
    limit = ("--", *paths) if paths else ()
    out = run_git(
        cwd,
        *PATHS_RAW,
        "--literal-pathspecs",
        "diff",
        *DIFF_OPTIONS,
        *_REVIEW_OPTIONS,
        old,
        new,
        *limit,
    )
    text = out.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return parse_diff(text, max_lines_per_file, NO_CAPS if whole else None)


def review_diff(
    repo: Path, base: str, branch: str, max_lines_per_file: int = 20_000
) -> list[FileDiff]:
    """What `branch` changed since it left `base` (merge-base → branch tip), parsed."""
    return parsed(branch_range(repo, base, branch), max_lines_per_file)


def worktree_review_diff(
    worktree: Path, base: str, max_lines_per_file: int = 20_000
) -> list[FileDiff]:
    """merge-base(base, HEAD) → the working tree, untracked files included, parsed."""
    return parsed(worktree_range(worktree, base), max_lines_per_file)


def range_diff(repo: Path, old: str, new: str, max_lines_per_file: int = 20_000) -> list[FileDiff]:
    """Between two commits, parsed."""
    return parsed(commit_range(repo, old, new), max_lines_per_file)
