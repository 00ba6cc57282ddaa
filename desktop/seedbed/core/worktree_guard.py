"""What is checked around a task's snapshot commit, against what an agent or a killed git
may have left (issue 15): a stale index.lock, a worktree that is no longer one, HEAD on
another branch, a repository inside the worktree, a known API key in the change (the
shared config: shared_config.py). Qt-free; every function blocks (git, /proc)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

from seedbed.domain.errors import OperationError
from seedbed.vcs.git import is_ancestor, repository_dir, status_entries
from seedbed.vcs.runner import PATHS_RAW, GitError, run_git
from seedbed.vcs.worktree_files import open_worktree_file

LOCK_NAMES = ("index.lock", "HEAD.lock")
SCAN_CHUNK = 1 << 20
# Shorter values are not looked for in the change: they would match ordinary text.
MIN_KEY_LENGTH = 8


class WorkNotCommitted(OperationError):
    """The run's work was not committed, for the reason given; the worktree is left as
    it is, for the user to see."""


# A stale lock


def _gitdir_of(worktree: Path) -> Path | None:
    """The worktree's own git directory, read from its `.git` file (not asked of git, which
    would find an outer repository's when the file is gone)."""
    dot_git = worktree / ".git"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if dot_git.is_file() and not dot_git.is_symlink():
            text = dot_git.read_text(encoding="utf-8").strip()
            if text.startswith("gitdir: "):
                path = Path(text.removeprefix("gitdir: "))
                return (path if path.is_absolute() else worktree / path).resolve()
    return None


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _lock_users(locks: list[Path], roots: tuple[Path, ...]) -> tuple[set[Path], bool]:
    """Of `locks`, those a live process has open (as git has while it writes one); and
    whether a live git process works in one of `roots` (git -C chdirs there). Processes
    we may not look into (another user's) cannot write our worktree and are skipped."""
    held: set[Path] = set()
    git_busy = False
    wanted = {str(lock) for lock in locks}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or entry.name == str(os.getpid()):
            continue
        with contextlib.suppress(OSError):
            name = (entry / "comm").read_text().strip()
            if name.startswith("git") and _inside(Path(os.readlink(entry / "cwd")), roots):
                git_busy = True
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target in wanted:
                        held.add(Path(target))
    return held, git_busy


def clear_stale_locks(worktree: Path) -> list[Path]:
    """Remove the index.lock (and HEAD.lock) of `worktree` that no live process holds:
    none has it open and no git process works in the worktree. What git leaves when it
    is killed mid-commit; with it every later git command there fails. The removed ones."""
    gitdir = _gitdir_of(worktree)
    if gitdir is None or not Path("/proc/self/fd").is_dir():
        return []  # without /proc no one can tell a live lock from a stale one
    locks = [gitdir / name for name in LOCK_NAMES if (gitdir / name).exists()]
    if not locks:
        return []
    held, git_busy = _lock_users(locks, (worktree.resolve(), gitdir))
    if git_busy:
        return []
    removed: list[Path] = []
    for lock in locks:
        if lock not in held:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
                removed.append(lock)
    return removed


def stale_lock_note(lock: Path) -> str:
    return f"removed a stale {lock.name} that no live git process held ({lock})"


# The worktree's repository and branch


def check_repository(repo: Path, worktree: Path) -> None:
    """Refuse to go on unless git, run in `worktree`, talks to that worktree of `repo`:
    an agent that deleted its `.git` file would otherwise make git find an outer
    repository (a data dir inside the user's home repository) and commit there."""
    expected = repository_dir(repo)
    try:
        top = run_git(worktree, "rev-parse", "--show-toplevel").strip()
        common = repository_dir(worktree)
    except GitError:
        top, common = "", None
    same_top = bool(top) and Path(top).resolve() == worktree.resolve()
    if same_top and common == expected and _links_back(worktree, expected):
        return
    dot_git = worktree / ".git"
    if not os.path.lexists(dot_git):
        why = "its .git file is missing"
    elif dot_git.is_dir():
        why = "its .git is a repository of its own"
    else:
        why = "its .git file points elsewhere"
    raise WorkNotCommitted(
        f"the worktree {worktree} is no longer a git worktree of {repo} ({why}); "
        "the work is left there"
    )


def _links_back(worktree: Path, common: Path) -> bool:
    """Whether the worktree's `.git` file names a worktree entry of `common` that names the
    worktree back (not, say, the main checkout's git directory, whose HEAD and index are
    the user's)."""
    gitdir = _gitdir_of(worktree)
    if gitdir is None or gitdir.parent != common / "worktrees":
        return False
    with contextlib.suppress(OSError, UnicodeDecodeError):
        back = Path((gitdir / "gitdir").read_text(encoding="utf-8").strip())
        return back.resolve() == (worktree / ".git").resolve()
    return False


def back_on_branch(worktree: Path, branch: str) -> str:
    """Put HEAD back on `branch` without moving any branch or touching a file (the caller
    resets the files); a note of where the agent had switched to, "" when it had not."""
    ref = f"refs/heads/{branch}"
    current = run_git(worktree, "symbolic-ref", "-q", "HEAD", check=False).strip()
    if current == ref:
        return ""
    run_git(worktree, "symbolic-ref", "HEAD", ref)
    where = f"branch {current.removeprefix('refs/heads/')!r}" if current else "a detached HEAD"
    return (
        f"the agent switched the worktree to {where}; it is back on {branch} (Seedbed "
        "moved no other branch: what the agent committed there stays there)"
    )


def ref_tips(worktree: Path) -> dict[str, str]:
    """Every ref of the worktree's repository and the commit it names (a tag peeled):
    what existed before an agent ran, so that its own commits are told from others'."""
    out = run_git(
        worktree,
        "for-each-ref",
        "--format=%(objectname) %(objecttype) %(*objectname) %(*objecttype) %(refname)",
    )
    tips: dict[str, str] = {}
    for line in out.splitlines():
        sha, kind, peeled, peeled_kind, name = line.split(" ", 4)
        if kind == "commit":
            tips[name] = sha
        elif peeled_kind == "commit":
            tips[name] = peeled
    return tips


def return_to_branch(
    worktree: Path, branch: str, base: str, refs_before: Mapping[str, str] | None = None
) -> str:
    """Put the worktree's HEAD back on the task's `branch` when an agent switched to another
    branch (or detached it); a note of what was done, "" when HEAD was on it.

    When the commits HEAD is at descend from the branch's tip and are all new in this
    run (on a branch that did not exist and reachable from no ref that did, as
    `refs_before` has them: ref_tips at the run's start; None: unknown, and every ref
    there is now counted), the branch moves to them and HEAD goes back on it (the files
    stay as they are: it is the same commit); the other branch stays where the agent
    left it. Otherwise the work is elsewhere and WorkNotCommitted says where: a user's
    branch that descends from the tip holds the user's commits, and committing would
    move a branch not the task's. So it does when the agent committed on the `base`
    branch itself: its commits are there, unreviewed, and the task must not look as if
    nothing had happened."""
    ref = f"refs/heads/{branch}"
    current = run_git(worktree, "symbolic-ref", "-q", "HEAD", check=False).strip()
    if current == ref:
        return ""
    where = f"branch {current.removeprefix('refs/heads/')!r}" if current else "a detached HEAD"
    head = run_git(worktree, "rev-parse", "--verify", "HEAD").strip()
    tip = run_git(worktree, "rev-parse", "--verify", ref).strip()
    if current == f"refs/heads/{base}" and head != tip:
        raise WorkNotCommitted(
            f"the agent switched the worktree to the base branch {base!r} and committed "
            f"there (it is at {head[:10]}): its commits are on {base}, unreviewed; "
            "Seedbed moved no branch"
        )
    before = ref_tips(worktree) if refs_before is None else refs_before
    if is_ancestor(worktree, tip, head) and _made_in_run(worktree, current, ref, before):
        run_git(worktree, "update-ref", "-m", "seedbed: the agent's work", ref, head, tip)
        run_git(worktree, "symbolic-ref", "HEAD", ref)
        return (
            f"the agent switched the worktree to {where}; its work ({head[:10]}) is back "
            f"on {branch}"
        )
    raise WorkNotCommitted(
        f"the agent switched the worktree to {where} (at {head[:10]}); its work is there, "
        f"not on the task's branch {branch!r}, and what it left uncommitted is in the worktree"
    )


def _made_in_run(worktree: Path, current: str, ref: str, before: Mapping[str, str]) -> bool:
    """Whether HEAD is on no branch that existed `before` and every commit between the
    task's `ref` and HEAD is reachable from no ref that existed then (the task's aside)."""
    if current and current in before:
        return False
    olds = sorted({sha for name, sha in before.items() if name != ref})
    span = run_git(worktree, "rev-list", "--count", f"{ref}..HEAD").strip()
    stdin = "".join(f"^{sha}\n" for sha in olds)
    fresh = run_git(worktree, "rev-list", "--count", "--stdin", "HEAD", f"^{ref}", input=stdin)
    return fresh.strip() == span


# What the commit would take


def refuse_nested_repositories(worktree: Path) -> None:
    """Refuse a change holding a git repository the agent made inside the worktree: `git
    add` would record it as a gitlink to a commit no one else has, and its files would
    be lost to the branch."""
    out = run_git(
        worktree,
        *PATHS_RAW,
        "ls-files",
        "-z",
        "--others",
        "--exclude-standard",
        env={"GIT_OPTIONAL_LOCKS": "0"},
    )
    nested = [name for name in out.split("\0") if name.endswith("/")]
    if nested:
        names = ", ".join(nested)
        raise WorkNotCommitted(
            f"the agent made a git repository of its own at {names} in the worktree; "
            "Seedbed does not commit a repository inside the task's: remove its .git to "
            "commit its files (or move it out), then resume"
        )


def _changed_files(worktree: Path) -> list[str]:
    """Files a snapshot commit would take (changed, added, untracked), as relative paths."""
    entries = status_entries(worktree, "--untracked-files=all", "--no-renames")
    return [path for xy, path in entries if not path.endswith("/") and "D" not in xy]


def _found_in(worktree: Path, rel: str, needles: list[bytes]) -> set[bytes]:
    """Which of `needles` the file holds (or a symlink's target: git commits that)."""
    opened = open_worktree_file(worktree, rel)
    if opened is None:
        return set()
    overlap = max(len(n) for n in needles)
    found: set[bytes] = set()
    tail = b""
    with opened as stream:
        while chunk := stream.read(SCAN_CHUNK):
            window = tail + chunk
            found.update(n for n in needles if n in window)
            tail = window[-overlap:]
    return found


def _committed_before(worktree: Path, rel: str) -> bytes:
    """The file as HEAD has it (b"" when it has none): a key already there is not the
    change's. Read from an existing object; nothing is written."""
    out = run_git(worktree, *PATHS_RAW, "cat-file", "blob", f"HEAD:{rel}", check=False)
    return out.encode("utf-8", "surrogateescape")


def refuse_keys(worktree: Path, keys: Mapping[str, str], exclude: list[str]) -> None:
    """Refuse a change that holds one of `keys` (name → value) in a file it would commit
    (the project's local files in `exclude` are never committed). Read from the working
    tree before anything is staged: `git add` would already write the key into a blob."""
    by_value = {v.encode(): name for name, v in keys.items() if len(v) >= MIN_KEY_LENGTH}
    if not by_value:
        return
    needles = sorted(by_value, key=len, reverse=True)
    skip = set(exclude)
    for rel in _changed_files(worktree):
        if rel in skip:
            continue
        try:
            found = _found_in(worktree, rel, needles)
        except OSError:
            continue
        if found:
            before = _committed_before(worktree, rel)
            for needle in sorted(found, key=needles.index):
                if needle not in before:
                    raise WorkNotCommitted(
                        f"the change contains the API key named {by_value[needle]} in {rel}"
                    )
