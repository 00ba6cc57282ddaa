"""Repositories, branches, worktrees, copied files and the engine's snapshot commits."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from seedbed.domain.errors import OperationError, UserError
from seedbed.vcs.runner import (
    PATHS_RAW,
    UNATTENDED,
    GitError,
    absolute,
    check_name,
    commit_identity,
    run_git,
)

# Repositories, refs


def open_repository(path: Path) -> Path:
    """The top-level directory of the checkout containing `path`."""
    path = absolute(path)
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if not path.is_dir():
        raise UserError(f"{path} is not a git repository")
    try:
        top = Path(run_git(path, "rev-parse", "--show-toplevel").strip())
    except GitError as exc:
        if "not a git repository" in exc.stderr:
            raise UserError(f"{path} is not a git repository") from None
        if "work tree" in exc.stderr:
            raise UserError(f"{path} is a bare git repository; Seedbed needs a checkout") from None
        raise UserError(f"{path}: {exc.stderr.strip()}") from None
    has_head = run_git(top, "rev-parse", "--verify", "-q", "HEAD", check=False).strip()
    if not has_head and not run_git(top, "for-each-ref", "--count=1", "refs/heads").strip():
        raise UserError(f"{top} has no commits yet; make a first commit, then add it")
    return top


def repository_dir(path: Path) -> Path:
    """The repository's own git directory (shared by all its worktrees), resolved: two
    checkouts of one repository, by any path or symlink, give the same one."""
    out = run_git(path, "rev-parse", "--path-format=absolute", "--git-common-dir")
    return Path(out.strip()).resolve()


def current_branch(repo: Path) -> str | None:
    """The branch checked out in `repo`, or None when HEAD is detached."""
    try:
        ref = run_git(repo, "symbolic-ref", "-q", "HEAD").strip()
    except GitError as exc:
        if exc.status == 1:
            return None
        raise
    return ref.removeprefix("refs/heads/")


def branch_exists(repo: Path, branch: str) -> bool:
    check_name(branch, "branch name")
    try:
        run_git(repo, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}")
    except GitError as exc:
        if exc.status == 1:
            return False
        raise
    return True


def branch_name_taken(repo: Path, branch: str) -> bool:
    """Whether a new branch cannot have this name: a branch has it, or branches below it
    do (a branch `x/y` keeps `x` from being one)."""
    if branch_exists(repo, branch):
        return True
    below = run_git(
        repo, "for-each-ref", "--count=1", "--format=%(refname)", f"refs/heads/{branch}/"
    )
    return bool(below.strip())


class BranchTaken(UserError):
    """The branch a task claimed exists and holds commits that are not the task's."""


def rev_parse(repo: Path, rev: str) -> str:
    """The commit sha `rev` names (tags are peeled to their commit)."""
    check_name(rev, "revision")
    try:
        out = run_git(repo, "rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}")
        return out.strip()
    except GitError as exc:
        if exc.status == 1:
            raise UserError(f"unknown revision {rev!r} in {repo}") from None
        raise


def merge_base(repo: Path, a: str, b: str) -> str:
    return merge_base_and_tip(repo, a, b)[0]


def merge_base_and_tip(repo: Path, base: str, tip: str) -> tuple[str, str]:
    """(merge-base(base, tip), the commit `tip` names) from one git: `rev-parse
    base...tip` prints tip's commit, base's, then each merge base after a `^`, the one
    `git merge-base` picks first. When it cannot (an unknown name, no common ancestor),
    the names are read one by one, so that the error says which."""
    check_name(base, "revision")
    check_name(tip, "revision")
    if ".." not in base and ".." not in tip:  # "a..b...c" would not split where meant
        try:
            out = run_git(repo, "rev-parse", f"{base}^{{commit}}...{tip}^{{commit}}")
        except GitError:
            out = ""
        found = out.split()
        if len(found) >= 3 and found[2].startswith("^"):
            return found[2][1:], found[0]
    return _merge_base(repo, base, tip), rev_parse(repo, tip)


def _merge_base(repo: Path, a: str, b: str) -> str:
    sha_a, sha_b = rev_parse(repo, a), rev_parse(repo, b)
    try:
        return run_git(repo, "merge-base", sha_a, sha_b).strip()
    except GitError as exc:
        if exc.status == 1:
            raise OperationError(f"{a} and {b} have no common ancestor") from None
        raise


def file_line_count(repo: Path, rev: str, path: str) -> int | None:
    """How many lines `path` has in commit `rev`; None when it is not a file there."""
    check_name(rev, "revision")
    try:
        text = run_git(repo, "cat-file", "blob", f"{rev}:{path}")
    except GitError:
        return None
    return len(text.splitlines())


def delete_branch(repo: Path, branch: str) -> None:
    """Delete `branch` even if unmerged; a branch that is already gone is not an error."""
    if branch_exists(repo, branch):
        run_git(repo, *UNATTENDED, "branch", "-D", branch)  # no hook may hang or refuse it


# Worktrees


def _worktrees(repo: Path) -> list[dict[str, str]]:
    with worktree_lock(repo, shared=True):
        out = run_git(repo, "worktree", "list", "--porcelain", "-z")
    return _parse_worktree_list(out)


def _parse_worktree_list(out: str) -> list[dict[str, str]]:
    """`git worktree list --porcelain -z`: NUL-ended `key value` fields, records end with NUL."""
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for field in out.split("\0"):
        if not field:
            if current:
                records.append(current)
            current = {}
            continue
        key, _, value = field.partition(" ")
        current[key] = value
    if current:
        records.append(current)
    return records


def _present(record: dict[str, str]) -> bool:
    return "prunable" not in record and Path(record["worktree"]).is_dir()


def _same_path(a: Path | str, b: Path | str) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _check_branch_name(repo: Path, branch: str) -> None:
    check_name(branch, "branch name")
    try:
        run_git(repo, "check-ref-format", f"refs/heads/{branch}")
    except GitError:
        raise UserError(f"{branch!r} is not a valid branch name") from None


def create_worktree(repo: Path, path: Path, branch: str, base: str) -> None:
    """A new worktree at `path` on a new `branch` starting at `base`; never reuses a branch."""
    path = absolute(path)
    _check_branch_name(repo, branch)
    if os.path.lexists(path):
        raise UserError(f"{path} already exists")
    if branch_exists(repo, branch):
        raise UserError(f"branch {branch!r} already exists; Seedbed will not reuse or move it")
    try:
        base_sha = rev_parse(repo, base)
    except UserError:
        raise UserError(f"base {base!r} does not exist in {repo}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    with worktree_lock(repo):
        run_git(repo, "worktree", "prune")  # forget worktrees whose directory was deleted
        run_git(repo, "worktree", "add", "--no-checkout", "-b", branch, str(path), base_sha)
    # The checkout, the slow part, needs no lock: it only writes this worktree's files.
    run_git(path, "reset", "--hard", "--quiet")


def attach_worktree(repo: Path, path: Path, branch: str) -> None:
    """A worktree at `path` for the existing `branch` (to resume when the directory was lost)."""
    path = absolute(path)
    if os.path.lexists(path):
        raise UserError(f"{path} already exists")
    if not branch_exists(repo, branch):
        raise UserError(f"branch {branch!r} does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    with worktree_lock(repo):
        run_git(repo, "worktree", "prune")
        elsewhere = find_checkout(repo, branch)
        if elsewhere is not None:
            raise UserError(f"branch {branch!r} is already checked out at {elsewhere}")
        run_git(repo, "worktree", "add", str(path), branch)


def finish_worktree(repo: Path, path: Path, branch: str, base: str) -> str:
    """Bring a task's workspace to ready from whatever an interrupted attempt left.

    Only for a branch the task has claimed (it did not exist when the task recorded it),
    so an existing branch of that name is the task's own. Returns what was done:
    "created", "completed" (a checkout cut short) or "re-attached".
    """
    path = absolute(path)
    if worktree_exists(repo, path):
        if current_branch(path) != branch:
            raise OperationError(f"{path} is a worktree of another branch than {branch!r}")
        run_git(path, "reset", "--hard", "--quiet")
        return "completed"
    if os.path.lexists(path):
        shutil.rmtree(path)  # what a `worktree add` cut short left; no work is in it yet
    if branch_exists(repo, branch):
        # What an interrupted `worktree add` made starts on the base and holds no commit
        # of its own yet; one with commits the base lacks was made by someone else after
        # the task claimed the name (a branch holding someone's work is never adopted).
        if not is_ancestor(repo, f"refs/heads/{branch}", base):
            raise BranchTaken(f"the branch {branch} already exists and is not this task's")
        attach_worktree(repo, path, branch)
        return "re-attached"
    create_worktree(repo, path, branch, base)
    return "created"


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is `descendant` or one of its ancestors (git's exit 1: no)."""
    try:
        run_git(repo, "merge-base", "--is-ancestor", ancestor, descendant)
    except GitError as exc:
        if exc.status == 1:
            return False
        raise
    return True


def add_detached_worktree(repo: Path, path: Path, commit: str) -> None:
    """A throwaway worktree at `commit` (no branch): where a merge result is checked.
    Whatever was left at `path` before (a crash) is removed first."""
    path = absolute(path)
    if path.exists():
        remove_worktree(repo, path)
        shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with worktree_lock(repo):
        run_git(repo, "worktree", "prune")
        run_git(repo, "worktree", "add", "--detach", "--quiet", str(path), commit)


def worktree_exists(repo: Path, path: Path) -> bool:
    """Whether `path` is a registered worktree of `repo` whose directory is present."""
    return any(_present(r) and _same_path(r["worktree"], path) for r in _worktrees(repo))


def remove_worktree(repo: Path, path: Path) -> None:
    """Remove a linked worktree with whatever it holds; already gone is not an error."""
    path = absolute(path)
    records = _worktrees(repo)
    if records and _same_path(records[0]["worktree"], path):
        raise UserError(f"{path} is the main checkout, not a task worktree")
    with worktree_lock(repo):
        if any(_present(r) and _same_path(r["worktree"], path) for r in records):
            try:
                run_git(repo, "worktree", "remove", "--force", "--force", str(path))
            except GitError as exc:
                if "submodule" not in exc.stderr:
                    raise
                shutil.rmtree(path)  # git refuses worktrees holding submodules
        run_git(repo, "worktree", "prune")


@contextlib.contextmanager
def worktree_lock(repo: Path, shared: bool = False) -> Iterator[None]:
    """Serialise `git worktree add/remove/prune` on one repository, across processes;
    readers of the worktree list (`shared`) wait only for those.

    Git does not make them safe to run at once: an `add` can read another's half-written
    entry under .git/worktrees, a `prune` can delete it, and `worktree list` fails on it.
    The lock is an flock on the repository's common git directory itself, so it leaves
    no file behind and the kernel drops it if we die. A thread that holds it already
    (a read inside an add) goes on without locking again.
    """
    common = run_git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()
    held: set[str] = _HELD.__dict__.setdefault("dirs", set())
    if common in held:
        yield
        return
    fd = os.open(common, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        held.add(common)
        yield
    finally:
        held.discard(common)
        os.close(fd)


_HELD = threading.local()


def find_checkout(repo: Path, branch: str) -> Path | None:
    """The checkout (main or linked worktree) that has `branch` checked out, if any."""
    ref = f"refs/heads/{branch}"
    for record in _worktrees(repo):
        if record.get("branch") == ref and _present(record):
            return Path(record["worktree"])
    return None


def status_entries(checkout: Path, *options: str) -> list[tuple[str, str]]:
    """`git status` of `checkout` as (XY, path) pairs, paths as git has them (a rename's
    new path); `options` choose what it shows (`--untracked-files=…`, `--no-renames`)."""
    # GIT_OPTIONAL_LOCKS=0: a background look must not rewrite the user's index.
    out = run_git(
        checkout,
        *PATHS_RAW,
        "status",
        "--porcelain=v1",
        "-z",
        "--ignore-submodules=dirty",  # never a status run inside a submodule (see runner)
        *options,
        env={"GIT_OPTIONAL_LOCKS": "0"},
    )
    found: list[tuple[str, str]] = []
    entries = iter(out.split("\0"))
    for entry in entries:
        if len(entry) > 3:
            found.append((entry[:2], entry[3:]))
            if "R" in entry[:2] or "C" in entry[:2]:
                next(entries, None)  # the rename's source path
    return found


def dirty_files(checkout: Path) -> list[str]:
    """Tracked files modified or staged in `checkout`; untracked files do not count."""
    return [path for _, path in status_entries(checkout, "--untracked-files=no")]


# Copying files into a worktree

_WILDCARD = re.compile(r"[*?\[]")


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """`*`, `?`, `[…]` within one path segment; `**` as a segment spans any number of them."""
    out: list[str] = []
    segments = pattern.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        j = 0
        while j < len(segment):
            c = segment[j]
            if c == "*":
                out.append("[^/]*")
            elif c == "?":
                out.append("[^/]")
            elif c == "[" and (end := segment.find("]", j + 2)) != -1:
                body = segment[j + 1 : end]
                body = "^" + body[1:] if body.startswith("!") else body
                out.append("[" + body.replace("\\", "\\\\") + "]")
                j = end
            else:
                out.append(re.escape(c))
            j += 1
        if not last:
            out.append("/")
    return re.compile("".join(out))


def _glob_files(root: Path, pattern: str) -> Iterator[str]:
    """Files under `root` matching `pattern`, as relative posix paths; never inside a .git."""
    segments = [s for s in pattern.split("/") if s not in ("", ".")]
    if pattern.startswith("/") or ".." in segments:
        raise UserError(f"{pattern!r} must be a path inside the repository")
    literal: list[str] = []
    for segment in segments:
        if _WILDCARD.search(segment):
            break
        literal.append(segment)
    if ".git" in literal:
        return
    if len(literal) == len(segments):
        if (root / pattern).is_file():
            yield "/".join(segments)
        return
    regex = _glob_regex("/".join(segments))
    depth = None if "**" in segments else len(segments) - len(literal)
    start = root.joinpath(*literal)
    for dirpath, dirnames, filenames in os.walk(start):  # does not follow directory symlinks
        rel_dir = Path(dirpath).relative_to(start)
        level = len(rel_dir.parts) + 1
        dirnames[:] = [d for d in dirnames if d != ".git" and (depth is None or level < depth)]
        for name in filenames:
            rel = "/".join([*literal, *rel_dir.parts, name])
            if regex.fullmatch(rel) and os.path.isfile(os.path.join(dirpath, name)):
                yield rel


def copy_into_worktree(repo: Path, worktree: Path, globs: list[str]) -> list[str]:
    """Copy files matching `globs` from the main checkout to the same place in `worktree`.

    Meant for untracked local files (.env, local config). A file the worktree already has is
    left alone: the branch's own version wins.
    """
    copied: list[str] = []
    for pattern in globs:
        for rel in _glob_files(repo, pattern):
            target = worktree / rel
            if os.path.lexists(target):  # also skips a file an earlier glob copied
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / rel, target)
            copied.append(rel)
    return copied


# Commits


def local_only_files(repo: Path, worktree: Path, globs: list[str]) -> list[str]:
    """The files the project copies into worktrees (`globs`, matched in the main checkout)
    that the worktree's branch does not track: local files such as .env, which must stay
    out of the task's commits."""
    candidates = sorted({rel for pattern in globs for rel in _glob_files(repo, pattern)})
    if not candidates:
        return []
    out = run_git(worktree, *PATHS_RAW, "ls-files", "-z", "--", *candidates)
    tracked = set(out.split("\0"))
    return [path for path in candidates if path not in tracked]


def commit_all(worktree: Path, message: str, exclude: list[str] | None = None) -> str | None:
    """Commit everything in `worktree`; the new sha, or None when nothing changed.

    This is the engine's unattended snapshot, so it must never hang or fail on the user's
    setup: hooks are skipped (`--no-verify` and an empty hooks path, which also skips
    prepare-commit-msg), signing is off (no pinentry prompt), and the identity is explicit:
    the user's configured one, else Seedbed's (`commit_identity`).
    The message goes through stdin, verbatim. Paths in `exclude` (local files copied
    into the worktree) are never staged.
    """
    if not message.strip():
        raise UserError("a commit message is required")
    # A path beyond a link (an agent made its folder a link) is never staged anyway, and
    # git refuses to be told to exclude one ("is beyond a symbolic link").
    kept = [path for path in exclude or [] if not _beyond_link(worktree, path)]
    pathspec = ["--", ".", *(f":(exclude,literal){path}" for path in kept)]
    run_git(worktree, "add", "-A", *pathspec)
    try:
        run_git(worktree, "diff", "--cached", "--quiet", "--no-ext-diff")
        return None
    except GitError as exc:
        if exc.status != 1:
            raise
    return commit_index(worktree, message)


def _beyond_link(worktree: Path, path: str) -> bool:
    """Whether a folder on the way to `path` (relative to `worktree`) is a symbolic link
    (or not a folder at all)."""
    folder = worktree
    for part in Path(path).parts[:-1]:
        folder = folder / part
        try:
            if not stat.S_ISDIR(folder.lstat().st_mode):
                return True
        except OSError:
            return False  # missing: nothing there to stage either way
    return False


def commit_index(worktree: Path, message: str) -> str:
    """Commit what is staged, the message exactly as given, as the repository's configured
    identity (Seedbed's where there is none); the new sha."""
    run_git(
        worktree,
        *UNATTENDED,
        "commit",
        "--no-verify",
        "--no-gpg-sign",
        "--quiet",
        "--cleanup=verbatim",
        "-F",
        "-",
        env=commit_identity(worktree),
        input=message,
    )
    return rev_parse(worktree, "HEAD")


def trailer_values(repo: Path, base: str, branch: str, key: str) -> list[str]:
    """The values of the `key` trailers on the commits `branch` has and `base` lacks,
    oldest first, each once; read by git's own trailer parser."""
    check_name(key, "trailer key")
    fmt = f"--format=%(trailers:key={key},valueonly,separator=%x00)%x00"
    out = run_git(repo, "log", "--reverse", fmt, f"refs/heads/{base}..refs/heads/{branch}")
    return list(dict.fromkeys(value.strip() for value in out.split("\0") if value.strip()))
