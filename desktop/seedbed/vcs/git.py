"""Git through GitPython: repositories, branches, worktrees, snapshot commits and parsed diffs.

Every function blocks; the engine calls them through ``asyncio.to_thread``. Git always gets
an argv list (never a shell string) plus ``-C <dir>``, so a missing directory makes git fail
instead of GitPython quietly running it in the current directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, cast

import git

from seedbed.domain.errors import OperationError, UserError
from seedbed.domain.models import DiffStat, FileChange

SEEDBED_IDENTITY = ("Seedbed", "seedbed@localhost")

# For commits made unattended: no hook, no signing (so no pinentry) may ever block them.
UNATTENDED = ("-c", f"core.hooksPath={os.devnull}", "-c", "commit.gpgsign=false")
PATHS_RAW = ("-c", "core.quotepath=off")
# Pin what user config could change about a diff that is parsed or shown as text.
_DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "-M",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
# No command of ours may wait for a password or an editor.
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": ":", "GIT_SEQUENCE_EDITOR": ":"}


class GitError(OperationError):
    """A git command exited non-zero; keeps status and output for callers that branch on them."""

    def __init__(self, message: str, status: int, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.status = status
        self.stdout = stdout
        self.stderr = stderr


def _git(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: bool = True,
) -> str:
    """Run git in `cwd`; return stdout. Undecodable bytes become surrogates so paths round-trip."""
    with contextlib.ExitStack() as stack:
        stdin: IO[bytes] | None = None
        if input is not None:
            stdin = stack.enter_context(tempfile.TemporaryFile())
            stdin.write(input.encode())
            stdin.seek(0)
        try:
            result = git.Git(cwd).execute(
                ["git", "-C", str(cwd), *args],
                istream=stdin,
                with_extended_output=True,
                with_exceptions=False,
                env={**_ENV, **(env or {})},
                stdout_as_string=False,
                strip_newline_in_stdout=False,
            )
        except git.GitCommandNotFound as exc:
            raise OperationError("git is not installed or not on PATH") from exc
    status, out, err = cast(tuple[int, bytes, str], result)
    stdout = out.decode("utf-8", "surrogateescape")
    if check and status != 0:
        detail = err.strip() or f"exit status {status}"
        raise GitError(f"git {_subcommand(args)} failed: {detail}", status, stdout, err)
    return stdout


def _subcommand(args: tuple[str, ...]) -> str:
    rest = list(args)
    while rest and rest[0] == "-c":
        rest = rest[2:]
    return rest[0] if rest else ""


def _check_name(value: str, what: str) -> None:
    """Refuse names git would read as an option (argument injection) or that cannot be refs."""
    if not value or value.startswith("-") or any(c in value for c in "\0\n\r"):
        raise UserError(f"{value!r} is not a valid {what}")


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


# Repositories, refs


def open_repository(path: Path) -> Path:
    """The top-level directory of the checkout containing `path`."""
    path = _absolute(path)
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if not path.is_dir():
        raise UserError(f"{path} is not a git repository")
    try:
        top = Path(_git(path, "rev-parse", "--show-toplevel").strip())
    except GitError as exc:
        if "not a git repository" in exc.stderr:
            raise UserError(f"{path} is not a git repository") from None
        if "work tree" in exc.stderr:
            raise UserError(f"{path} is a bare git repository; Seedbed needs a checkout") from None
        raise UserError(f"{path}: {exc.stderr.strip()}") from None
    has_head = _git(top, "rev-parse", "--verify", "-q", "HEAD", check=False).strip()
    if not has_head and not _git(top, "for-each-ref", "--count=1", "refs/heads").strip():
        raise UserError(f"{top} has no commits yet; make a first commit, then add it")
    return top


def current_branch(repo: Path) -> str | None:
    """The branch checked out in `repo`, or None when HEAD is detached."""
    try:
        ref = _git(repo, "symbolic-ref", "-q", "HEAD").strip()
    except GitError as exc:
        if exc.status == 1:
            return None
        raise
    return ref.removeprefix("refs/heads/")


def branch_exists(repo: Path, branch: str) -> bool:
    _check_name(branch, "branch name")
    try:
        _git(repo, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}")
    except GitError as exc:
        if exc.status == 1:
            return False
        raise
    return True


def rev_parse(repo: Path, rev: str) -> str:
    """The commit sha `rev` names (tags are peeled to their commit)."""
    _check_name(rev, "revision")
    try:
        out = _git(repo, "rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}")
        return out.strip()
    except GitError as exc:
        if exc.status == 1:
            raise UserError(f"unknown revision {rev!r} in {repo}") from None
        raise


def merge_base(repo: Path, a: str, b: str) -> str:
    sha_a, sha_b = rev_parse(repo, a), rev_parse(repo, b)
    try:
        return _git(repo, "merge-base", sha_a, sha_b).strip()
    except GitError as exc:
        if exc.status == 1:
            raise OperationError(f"{a} and {b} have no common ancestor") from None
        raise


def delete_branch(repo: Path, branch: str) -> None:
    """Delete `branch` even if unmerged; a branch that is already gone is not an error."""
    if branch_exists(repo, branch):
        _git(repo, "branch", "-D", branch)


# Worktrees


def _worktrees(repo: Path) -> list[dict[str, str]]:
    return _parse_worktree_list(_git(repo, "worktree", "list", "--porcelain", "-z"))


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
    _check_name(branch, "branch name")
    try:
        _git(repo, "check-ref-format", f"refs/heads/{branch}")
    except GitError:
        raise UserError(f"{branch!r} is not a valid branch name") from None


def create_worktree(repo: Path, path: Path, branch: str, base: str) -> None:
    """A new worktree at `path` on a new `branch` starting at `base`; never reuses a branch."""
    path = _absolute(path)
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
    _git(repo, "worktree", "prune")  # forget worktrees whose directory was deleted
    _git(repo, "worktree", "add", "-b", branch, str(path), base_sha)


def attach_worktree(repo: Path, path: Path, branch: str) -> None:
    """A worktree at `path` for the existing `branch` (to resume when the directory was lost)."""
    path = _absolute(path)
    if os.path.lexists(path):
        raise UserError(f"{path} already exists")
    if not branch_exists(repo, branch):
        raise UserError(f"branch {branch!r} does not exist")
    _git(repo, "worktree", "prune")
    elsewhere = find_checkout(repo, branch)
    if elsewhere is not None:
        raise UserError(f"branch {branch!r} is already checked out at {elsewhere}")
    path.parent.mkdir(parents=True, exist_ok=True)
    _git(repo, "worktree", "add", str(path), branch)


def worktree_exists(repo: Path, path: Path) -> bool:
    """Whether `path` is a registered worktree of `repo` whose directory is present."""
    return any(_present(r) and _same_path(r["worktree"], path) for r in _worktrees(repo))


def remove_worktree(repo: Path, path: Path) -> None:
    """Remove a linked worktree with whatever it holds; already gone is not an error."""
    path = _absolute(path)
    records = _worktrees(repo)
    if records and _same_path(records[0]["worktree"], path):
        raise UserError(f"{path} is the main checkout, not a task worktree")
    if any(_present(r) and _same_path(r["worktree"], path) for r in records):
        try:
            _git(repo, "worktree", "remove", "--force", "--force", str(path))
        except GitError as exc:
            if "submodule" not in exc.stderr:
                raise
            shutil.rmtree(path)  # git refuses worktrees holding submodules
    _git(repo, "worktree", "prune")


def find_checkout(repo: Path, branch: str) -> Path | None:
    """The checkout (main or linked worktree) that has `branch` checked out, if any."""
    ref = f"refs/heads/{branch}"
    for record in _worktrees(repo):
        if record.get("branch") == ref and _present(record):
            return Path(record["worktree"])
    return None


def dirty_files(checkout: Path) -> list[str]:
    """Tracked files modified or staged in `checkout`; untracked files do not count."""
    # GIT_OPTIONAL_LOCKS=0: a background look must not rewrite the user's index.
    out = _git(
        checkout,
        *PATHS_RAW,
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=no",
        env={"GIT_OPTIONAL_LOCKS": "0"},
    )
    files: list[str] = []
    entries = iter(out.split("\0"))
    for entry in entries:
        if not entry:
            continue
        files.append(entry[3:])
        if "R" in entry[:2] or "C" in entry[:2]:
            next(entries, None)  # the rename's source path
    return files


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


def identity_env(name: str, email: str) -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def commit_all(worktree: Path, message: str) -> str | None:
    """Commit everything in `worktree` as Seedbed; the new sha, or None when nothing changed.

    This is the engine's unattended snapshot, so it must never hang or fail on the user's
    setup: hooks are skipped (`--no-verify` and an empty hooks path, which also skips
    prepare-commit-msg), signing is off (no pinentry prompt), and the identity is explicit.
    The message goes through stdin, verbatim.
    """
    if not message.strip():
        raise UserError("a commit message is required")
    _git(worktree, "add", "-A")
    try:
        _git(worktree, "diff", "--cached", "--quiet", "--no-ext-diff")
        return None
    except GitError as exc:
        if exc.status != 1:
            raise
    _git(
        worktree,
        *UNATTENDED,
        "commit",
        "--no-verify",
        "--no-gpg-sign",
        "--quiet",
        "--cleanup=verbatim",
        "-F",
        "-",
        env=identity_env(*SEEDBED_IDENTITY),
        input=message,
    )
    return rev_parse(worktree, "HEAD")


# Diffs


def _parse_changes(out: str) -> list[FileChange]:
    """Parse `git diff --raw --numstat -z`: all raw records, then numstat in the same order."""
    fields = out.split("\0")
    raw: list[tuple[str, str | None, str]] = []
    counts: list[tuple[str, str]] = []
    i = 0
    while i < len(fields):
        field = fields[i]
        if not field:
            i += 1
        elif field.startswith(":"):
            letter = field.split()[-1][0]
            if letter in "RC":
                raw.append((letter, fields[i + 1], fields[i + 2]))
                i += 3
            else:
                raw.append((letter, None, fields[i + 1]))
                i += 2
        else:
            insertions, deletions, path = field.split("\t", 2)
            counts.append((insertions, deletions))
            i += 1 if path else 3  # a rename's paths follow in two fields of their own
    if len(raw) != len(counts):
        raise OperationError("could not parse git diff output")
    return [
        FileChange(
            path=path,
            old_path=old,
            status=letter,
            insertions=0 if ins == "-" else int(ins),
            deletions=0 if dels == "-" else int(dels),
            binary=ins == "-",
        )
        for (letter, old, path), (ins, dels) in zip(raw, counts, strict=True)
    ]


def _diff_text(cwd: Path, old: str, new: str) -> str:
    out = _git(cwd, *PATHS_RAW, "diff", *_DIFF_OPTIONS, old, new)
    return out.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _diff_files(cwd: Path, old: str, new: str) -> list[FileChange]:
    out = _git(cwd, *PATHS_RAW, "diff", *_DIFF_OPTIONS, "--raw", "--numstat", "-z", old, new)
    return _parse_changes(out)


def _stat(changes: list[FileChange]) -> DiffStat:
    return DiffStat(
        files=len(changes),
        insertions=sum(c.insertions for c in changes),
        deletions=sum(c.deletions for c in changes),
    )


def diff_text(repo: Path, base: str, branch: str) -> str:
    """Unified diff of what `branch` changed since it left `base` (merge-base → branch)."""
    return _diff_text(repo, merge_base(repo, base, branch), rev_parse(repo, branch))


def diff_files(repo: Path, base: str, branch: str) -> list[FileChange]:
    return _diff_files(repo, merge_base(repo, base, branch), rev_parse(repo, branch))


def diff_stat(repo: Path, base: str, branch: str) -> DiffStat:
    return _stat(diff_files(repo, base, branch))


def _worktree_tree(worktree: Path) -> str:
    """A tree of the working tree, untracked files included, built in a throwaway index.

    The agent may be using the real index at the same moment, so it is never touched.
    """
    index = _git(worktree, "rev-parse", "--path-format=absolute", "--git-path", "index").strip()
    with tempfile.TemporaryDirectory(prefix="seedbed-index-") as tmp:
        temp_index = Path(tmp) / "index"
        if os.path.exists(index):
            shutil.copyfile(index, temp_index)
        env = {"GIT_INDEX_FILE": str(temp_index)}
        _git(worktree, "add", "-A", env=env)
        return _git(worktree, "write-tree", env=env).strip()


def worktree_diff_text(worktree: Path, base: str) -> str:
    """Diff from merge-base(base, HEAD) to the working tree, untracked files included."""
    return _diff_text(worktree, merge_base(worktree, base, "HEAD"), _worktree_tree(worktree))


def worktree_diff_files(worktree: Path, base: str) -> list[FileChange]:
    return _diff_files(worktree, merge_base(worktree, base, "HEAD"), _worktree_tree(worktree))


def worktree_diff_stat(worktree: Path, base: str) -> DiffStat:
    return _stat(worktree_diff_files(worktree, base))
