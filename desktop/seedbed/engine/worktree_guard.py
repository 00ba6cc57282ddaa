"""What is checked around a task's snapshot commit, against what an agent or a killed git
may have left (issue 15): a stale index.lock, a worktree that is no longer one, HEAD on
another branch, a repository inside the worktree, a changed shared config or hooks
directory, a known API key in the change. Qt-free; every function blocks (git, /proc)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from seedbed.domain.errors import OperationError
from seedbed.vcs.git import repository_dir
from seedbed.vcs.runner import PATHS_RAW, GitError, run_git

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
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
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
    if gitdir is None:
        return []
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
    if same_top and common == expected and _gitdir_of(worktree) is not None:
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


def return_to_branch(worktree: Path, branch: str) -> str:
    """Put the worktree's HEAD back on the task's `branch` when an agent switched to another
    branch (or detached it); a note of what was done, "" when HEAD was on it.

    When the commits HEAD is at descend from the branch's tip, the branch moves to them
    and HEAD goes back on it (the files stay as they are: it is the same commit); the
    other branch stays where the agent left it. Otherwise the work is elsewhere and
    WorkNotCommitted says where: committing it would move a branch not the task's."""
    ref = f"refs/heads/{branch}"
    current = run_git(worktree, "symbolic-ref", "-q", "HEAD", check=False).strip()
    if current == ref:
        return ""
    where = f"branch {current.removeprefix('refs/heads/')!r}" if current else "a detached HEAD"
    head = run_git(worktree, "rev-parse", "--verify", "HEAD").strip()
    tip = run_git(worktree, "rev-parse", "--verify", ref).strip()
    if _is_ancestor(worktree, tip, head):
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


def _is_ancestor(worktree: Path, older: str, newer: str) -> bool:
    try:
        run_git(worktree, "merge-base", "--is-ancestor", older, newer)
    except GitError as exc:
        if exc.status == 1:
            return False
        raise
    return True


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
    out = run_git(
        worktree,
        *PATHS_RAW,
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--no-renames",
        env={"GIT_OPTIONAL_LOCKS": "0"},
    )
    files: list[str] = []
    for entry in out.split("\0"):
        if len(entry) > 3 and not entry.endswith("/") and "D" not in entry[:2]:
            files.append(entry[3:])
    return files


def _contains(path: Path, needles: list[bytes]) -> bytes | None:
    """The first of `needles` found in the file (or in a symlink's target), else None."""
    if path.is_symlink():
        target = os.fsencode(os.readlink(path))
        return next((n for n in needles if n in target), None)
    if not path.is_file():
        return None
    overlap = max(len(n) for n in needles)
    tail = b""
    with path.open("rb") as stream:
        while chunk := stream.read(SCAN_CHUNK):
            window = tail + chunk
            found = next((n for n in needles if n in window), None)
            if found is not None:
                return found
            tail = window[-overlap:]
    return None


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
        with contextlib.suppress(OSError):
            found = _contains(worktree / rel, needles)
            if found is not None:
                raise WorkNotCommitted(
                    f"the change contains the API key named {by_value[found]} in {rel}"
                )


# The shared config and hooks


# Files in the common git directory that change what git runs or sees for every worktree
# (besides the hooks): a filter or hooksPath in the config, attributes that route files
# through a filter, excludes that would hide the agent's files from the snapshot commit.
SHARED_FILES = ("config", "info/attributes", "info/exclude")


class SharedFile(BaseModel):
    """One file of the common git directory as it was: its bytes and mode, or a symlink's
    target (`link`)."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    content: bytes
    mode: int = 0o644
    link: bool = False


class SharedConfig(BaseModel):
    """The repository's shared config, info files and hooks (SharedFile by path in the
    common git directory) as a run found them; kept in the data dir while the run goes."""

    model_config = ConfigDict(frozen=True)

    files: dict[str, SharedFile]


def _read_file(path: Path) -> SharedFile | None:
    with contextlib.suppress(OSError):
        if path.is_symlink():
            return SharedFile(content=os.fsencode(os.readlink(path)), link=True)
        if path.is_file():
            mode = stat.S_IMODE(path.stat().st_mode)
            return SharedFile(content=path.read_bytes(), mode=mode)
    return None


def read_shared_config(repo: Path) -> SharedConfig:
    common = repository_dir(repo)
    names = list(SHARED_FILES)
    with contextlib.suppress(OSError):
        names += [f"hooks/{entry.name}" for entry in (common / "hooks").iterdir()]
    files = {name: found for name in names if (found := _read_file(common / name)) is not None}
    return SharedConfig(files=files)


def _config_entries(text: bytes) -> set[str]:
    """`key=value` lines of a config file's text, as git reads them (no includes)."""
    with tempfile.NamedTemporaryFile(prefix="seedbed-config-") as copy:
        copy.write(text)
        copy.flush()
        out = run_git(Path(tempfile.gettempdir()), "config", "--file", copy.name, "-l", "-z")
    return {entry.replace("\n", "=", 1) for entry in out.split("\0") if entry}


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _put_back(path: Path, old: SharedFile | None) -> None:
    if old is None:
        path.unlink(missing_ok=True)
    elif old.link:
        path.unlink(missing_ok=True)
        os.symlink(os.fsdecode(old.content), path)
    else:
        _write_atomically(path, old.content, old.mode)


def restore_shared_config(repo: Path, before: SharedConfig) -> list[str]:
    """Put the shared config, info files and hooks back as `before` had them; what had
    changed (config keys, else paths such as `hooks/pre-commit`), [] when nothing did."""
    now = read_shared_config(repo)
    common = repository_dir(repo)
    changed: list[str] = []
    for name in sorted(now.files.keys() | before.files.keys()):
        old, new = before.files.get(name), now.files.get(name)
        if old == new:
            continue
        keys: list[str] = []
        if name == "config" and old is not None and new is not None:
            with contextlib.suppress(GitError):  # not even a config: named as a whole
                differ = _config_entries(new.content) ^ _config_entries(old.content)
                keys = sorted({entry.split("=", 1)[0] for entry in differ})
        changed += keys or [name]
        _put_back(common / name, old)
    return changed


def config_change_reason(repo: Path, changed: list[str]) -> str:
    return (
        f"the agent changed the shared git configuration of {repo} "
        f"({', '.join(changed)}); Seedbed put it back as it was before the run"
    )


def _kept_path(data_dir: Path, run_id: int) -> Path:
    return data_dir / "shared-config" / f"run-{run_id}.json"


def keep_shared_config(data_dir: Path, run_id: int, shared: SharedConfig) -> None:
    """Keep what a run found in the data dir, so that recovery can put it back when the
    engine dies while the agent works. A disk that cannot take it only leaves recovery
    without it: the running engine puts the config back from memory."""
    path = _kept_path(data_dir, run_id)
    with contextlib.suppress(OSError):
        path.parent.mkdir(exist_ok=True)
        _write_atomically(path, shared.model_dump_json().encode(), 0o600)


def kept_shared_config(data_dir: Path, run_id: int) -> SharedConfig | None:
    """What keep_shared_config kept for the run; None when nothing (or nothing readable)."""
    with contextlib.suppress(OSError, ValueError):
        return SharedConfig.model_validate_json(_kept_path(data_dir, run_id).read_bytes())
    return None


def forget_shared_config(data_dir: Path, run_id: int) -> None:
    _kept_path(data_dir, run_id).unlink(missing_ok=True)


class SharedConfigGuard:
    """The shared config of a run's repository as its agent found it (kept in the data dir
    too, for recovery), put back whenever the engine is about to run git there while the
    agent works (`restore`, on a git thread) and when it ends (`end`: what had changed)."""

    def __init__(self, repo: Path, data_dir: Path, run_id: int) -> None:
        self.repo, self.data_dir, self.run_id = repo, data_dir, run_id
        self.before = read_shared_config(repo)
        self.changed: list[str] = []
        keep_shared_config(data_dir, run_id, self.before)

    def restore(self) -> None:
        self.changed += restore_shared_config(self.repo, self.before)

    def end(self) -> list[str]:
        self.restore()
        forget_shared_config(self.data_dir, self.run_id)
        return list(dict.fromkeys(self.changed))
