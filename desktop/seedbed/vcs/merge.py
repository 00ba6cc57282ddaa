"""Merging a task branch into its base without ever leaving the user's checkout half-merged.

Conflicts are found first with `git merge-tree --write-tree`, which touches no checkout; the
new commit is built with `commit-tree` from that tree; only then does the base move by a
compare-and-swap `update-ref`, the checkout that has it (if any) switched to the new tree
just before and back when the ref cannot move. None of the user's hooks run meanwhile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from seedbed.domain.errors import OperationError, UserError
from seedbed.domain.models import MergeStrategy
from seedbed.vcs.git import (
    branch_exists,
    commit_index,
    current_branch,
    dirty_files,
    find_checkout,
    is_ancestor,
    rev_parse,
)
from seedbed.vcs.runner import (
    PATHS_RAW,
    UNATTENDED,
    GitError,
    commit_identity,
    run_git,
)


def _listing(files: list[str], limit: int = 10) -> str:
    shown = ", ".join(files[:limit])
    return shown + (f" and {len(files) - limit} more" if len(files) > limit else "")


class MergeConflict(OperationError):
    """The branch does not merge cleanly into its base; nothing was changed."""

    def __init__(self, base: str, branch: str, files: list[str]) -> None:
        self.files = files
        super().__init__(f"merging {branch} into {base} conflicts in {_listing(files)}")


class DirtyCheckout(OperationError):
    """A checkout that a merge would update has uncommitted changes; nothing was changed."""

    def __init__(self, checkout: Path, files: list[str]) -> None:
        self.checkout = checkout
        self.files = files
        super().__init__(
            f"{checkout} has uncommitted changes to {_listing(files)}; "
            "commit or stash them first, then merge again"
        )


def _merge_tree(repo: Path, base_sha: str, branch_sha: str) -> tuple[str, list[str]]:
    """The merged tree and the conflicted paths (empty when clean), computed in memory."""
    args = ("merge-tree", "--write-tree", "--name-only", "--no-messages", "-z")
    try:
        out = run_git(repo, *PATHS_RAW, *args, base_sha, branch_sha)
    except GitError as exc:
        if exc.status != 1:  # 1 means conflicts; anything else is a real failure
            raise
        out = exc.stdout
    tree, *paths = [p for p in out.split("\0") if p]
    return tree, list(dict.fromkeys(paths))


def _commit_tree(repo: Path, tree: str, parents: list[str], message: str) -> str:
    parent_args = [arg for parent in parents for arg in ("-p", parent)]
    return run_git(
        repo,
        *UNATTENDED,
        "commit-tree",
        "--no-gpg-sign",
        tree,
        *parent_args,
        "-F",
        "-",
        env=commit_identity(repo),
        input=message,
    ).strip()


def _rebase_in_progress(worktree: Path) -> bool:
    for name in ("rebase-merge", "rebase-apply"):
        path = run_git(worktree, "rev-parse", "--path-format=absolute", "--git-path", name).strip()
        if Path(path).exists():
            return True
    return False


def _rebase(repo: Path, worktree: Path | None, base: str, branch: str, onto: str) -> str:
    """Rebase `branch` onto `onto` inside the task's own worktree; the rebased tip."""
    if worktree is None:
        raise UserError("the rebase strategy needs the task's worktree")
    if current_branch(worktree) != branch:
        raise UserError(f"{worktree} does not have {branch} checked out")
    dirty = dirty_files(worktree)
    if dirty:
        raise DirtyCheckout(worktree, dirty)
    # The replayed commits keep their authors; the committer is the user, as for a merge.
    env = {k: v for k, v in commit_identity(repo).items() if k.startswith("GIT_COMMITTER_")}
    options = ("--no-autostash", "--no-update-refs", "--no-autosquash", "--quiet")
    try:
        run_git(worktree, *UNATTENDED, "rebase", *options, onto, env=env)
    except GitError:
        unmerged = run_git(worktree, *PATHS_RAW, "diff", "--name-only", "--diff-filter=U", "-z")
        if _rebase_in_progress(worktree):
            run_git(worktree, "rebase", "--abort")
        files = [p for p in unmerged.split("\0") if p]
        if files:
            raise MergeConflict(base, branch, files) from None
        raise
    return rev_parse(worktree, "HEAD")


def _why(exc: GitError) -> str:
    """Git's own reason, as one clause (its first line, without `fatal:`)."""
    lines = [line.strip() for line in exc.stderr.splitlines() if line.strip()]
    first = lines[0] if lines else str(exc)
    for prefix in ("fatal: ", "error: "):
        first = first.removeprefix(prefix)
    return first.rstrip(".")


def _update_ref(repo: Path, base: str, old: str, new: str) -> None:
    """Compare-and-swap `base` from `old` to `new`; refused, changing nothing, when it
    moved meanwhile or another git process holds its lock. Seedbed moves the base as an
    unattended step whose checks already ran: no hook of the user's runs then (see
    docs/decisions.md), so none can hang or refuse it halfway."""
    reason = f"seedbed merge into {base}"
    run_git(repo, *UNATTENDED, "update-ref", "-m", reason, f"refs/heads/{base}", new, old)


def _switch_files(checkout: Path, old: str, new: str) -> None:
    """The checkout's index and files from `old`'s tree to `new`'s; refused before writing
    anything when a local file would be overwritten. When git fails halfway (a filter
    that fails or is killed), the files it wrote are taken back: git writes the index
    last, so it still has `old`'s."""
    changed = _changed_paths(checkout, old, new)
    present = {path for path in changed if os.path.lexists(checkout / path)}
    try:
        run_git(checkout, *UNATTENDED, "read-tree", "-m", "-u", old, new)
    except GitError as exc:
        try:
            _take_back(checkout, new, changed, present)
        except GitError as undo:
            raise OperationError(
                f"could not update {checkout} ({_why(exc)}) nor take back the files it "
                f"wrote ({_why(undo)})"
            ) from None
        raise


def _changed_paths(checkout: Path, old: str, new: str) -> dict[str, str]:
    """Each path `new` adds (A), changes (M, T) or deletes (D) against `old`."""
    out = run_git(
        checkout, *PATHS_RAW, "diff-tree", "-r", "--no-renames", "--name-status", "-z", old, new
    )
    fields = out.split("\0")
    return {path: status[0] for status, path in zip(fields[::2], fields[1::2], strict=False)}


def _take_back(checkout: Path, new: str, changed: dict[str, str], present: set[str]) -> None:
    """Undo the files a failed switch to `new` wrote: those it added removed, those it
    changed or deleted checked out again from the index (still the old tree's). A file
    the user changed meanwhile is left alone: only one with `new`'s content is ours."""
    restore: list[str] = []
    for path, status in changed.items():
        target = checkout / path
        exists = os.path.lexists(target)
        if status == "A":
            if exists and path not in present and _has_content_of(checkout, new, path):
                target.unlink()
                _remove_empty_parents(checkout, target.parent)
            continue
        deleted = status == "D" and path in present and not exists
        rewritten = status != "D" and exists and _has_content_of(checkout, new, path)
        if deleted or rewritten:
            restore.append(path)
    if restore:
        run_git(
            checkout, *PATHS_RAW, "checkout-index", "-f", "-z", "--stdin", input="\0".join(restore)
        )


def _has_content_of(checkout: Path, commit: str, path: str) -> bool:
    """Whether the file at `path` holds what `commit` has there (as git would store it)."""
    try:
        wrote = run_git(checkout, "hash-object", f"--path={path}", "--", path).strip()
        return wrote == run_git(checkout, "rev-parse", f"{commit}:{path}").strip()
    except GitError:
        return False


def _remove_empty_parents(checkout: Path, directory: Path) -> None:
    while directory != checkout and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def _move_base(repo: Path, base: str, old: str, new: str, checkout: Path | None) -> None:
    """Point `base` at `new`, updating the checkout that has it, if any: its files first,
    then the ref, and the files back when the ref cannot move, so a refused move leaves
    the checkout exactly as it was (a `merge --ff-only` left them staged)."""
    if checkout is None:
        try:
            _update_ref(repo, base, old, new)
        except GitError as exc:
            raise OperationError(f"could not move {base} ({_why(exc)}); nothing changed") from None
        return
    if rev_parse(checkout, "HEAD") != old:
        raise OperationError(f"{base} moved while merging; merge again")
    run_git(checkout, "update-index", "-q", "--refresh", check=False)  # stat info only
    try:
        _switch_files(checkout, old, new)
    except GitError as exc:
        raise OperationError(
            f"could not update {checkout} ({_why(exc)}); nothing changed"
        ) from None
    try:
        _update_ref(repo, base, old, new)
    except GitError as exc:
        why = _why(exc)
        try:
            _switch_files(checkout, new, old)
        except GitError as undo:
            raise OperationError(
                f"could not move {base} ({why}) nor put {checkout} back ({_why(undo)}): "
                f"its files are {new[:10]}'s, its HEAD {old[:10]}"
            ) from None
        raise OperationError(
            f"could not move {base} ({why}); {base} and {checkout} are as they were: "
            "approve again once the other git process is done"
        ) from None


@dataclass(frozen=True)
class MergePlan:
    """A merge computed but not landed: the base still points at `old`; landing it
    points the base at `new` (whose files are `tree`), if the base has not moved."""

    base: str
    old: str
    new: str
    tree: str


def plan_merge(
    repo: Path,
    base: str,
    branch: str,
    strategy: MergeStrategy,
    message: str,
    task_worktree: Path | None,
) -> MergePlan:
    """Compute the merge of `branch` into `base` with `strategy` without moving `base`:
    the commit it would land (`new == old` when `branch` has nothing `base` lacks).

    Raises MergeConflict or DirtyCheckout, having changed nothing, when it cannot merge.
    Rebase replays the branch's own commits in `task_worktree` (the task's branch moves
    onto the base; the base does not), so `message` is unused there; a branch holding a
    merge commit (the base merged in to resolve or fix) becomes one commit with `message`.
    """
    strategy = MergeStrategy(strategy)
    if base == branch:
        raise UserError(f"cannot merge {branch} into itself")
    for name in (base, branch):
        if not branch_exists(repo, name):
            raise UserError(f"branch {name!r} does not exist")
    if strategy is not MergeStrategy.REBASE and not message.strip():
        raise UserError("a merge message is required")
    old = rev_parse(repo, f"refs/heads/{base}")
    tip = rev_parse(repo, f"refs/heads/{branch}")
    old_tree = _tree_of(repo, old)
    if is_ancestor(repo, tip, old):
        return MergePlan(base, old, old, old_tree)
    tree, conflicts = _merge_tree(repo, old, tip)
    if conflicts:
        raise MergeConflict(base, branch, conflicts)
    _refuse_dirty(repo, base)
    if strategy is MergeStrategy.SQUASH:
        if tree == old_tree:
            return MergePlan(base, old, old, old_tree)  # its changes are already in base
        new = _commit_tree(repo, tree, [old], message)
    elif strategy is MergeStrategy.MERGE:
        new = _commit_tree(repo, tree, [old, tip], message)
    elif _has_merges(repo, old, tip):
        # A rebase drops merge commits, and with them what a merge of the base into the
        # branch resolved or fixed: such a branch lands as one commit of the merged tree.
        new = _commit_tree(repo, tree, [old], (message.strip() and message) or branch)
    else:
        new = _rebase(repo, task_worktree, base, branch, old)
        tree = _tree_of(repo, new)
    return MergePlan(base, old, new, tree)


def _has_merges(repo: Path, old: str, tip: str) -> bool:
    return run_git(repo, "rev-list", "--merges", "--count", f"{old}..{tip}").strip() != "0"


def land(repo: Path, plan: MergePlan) -> str:
    """Move the base to the planned commit (files and ref together in the checkout that
    has it); refused, changing nothing, when the base moved since the plan was made or
    that checkout has uncommitted changes."""
    if plan.new == plan.old:
        return plan.old
    if rev_parse(repo, f"refs/heads/{plan.base}") != plan.old:
        raise OperationError(f"{plan.base} moved while merging; merge again")
    checkout = _refuse_dirty(repo, plan.base)
    _move_base(repo, plan.base, plan.old, plan.new, checkout)
    return plan.new


def take_back_landing(repo: Path, base: str, landing: str) -> Path | None:
    """After an approve died before moving `base` to `landing`: the checkout that has
    `base`, when git had switched its index and files to `landing`'s tree already (a kill
    between the two steps of _move_base), switched back to its HEAD's; that checkout, or
    None when there was nothing to take back."""
    checkout = find_checkout(repo, base)
    if checkout is None:
        return None
    head = rev_parse(checkout, "HEAD")
    index = run_git(checkout, "write-tree", check=False).strip()  # fails while unmerged
    tree = run_git(checkout, "rev-parse", "--verify", "-q", f"{landing}^{{tree}}", check=False)
    if head == landing or index != tree.strip():
        return None
    run_git(checkout, "update-index", "-q", "--refresh", check=False)  # stat info only
    _switch_files(checkout, landing, head)
    return checkout


def reached(repo: Path, base: str, commit: str) -> bool:
    """Whether the branch `base` is at `commit` or contains it: a planned merge landed
    (whatever moved the base after it)."""
    try:
        return is_ancestor(repo, commit, f"refs/heads/{base}")
    except GitError:
        return False  # an unknown commit or base: it did not land there


def merge(
    repo: Path,
    base: str,
    branch: str,
    strategy: MergeStrategy,
    message: str,
    task_worktree: Path | None,
) -> str:
    """Merge `branch` into `base` with `strategy` at once (plan_merge, then land); the
    new tip of `base`."""
    return land(repo, plan_merge(repo, base, branch, strategy, message, task_worktree))


def _tree_of(repo: Path, commit: str) -> str:
    return run_git(repo, "rev-parse", f"{commit}^{{tree}}").strip()


def _refuse_dirty(repo: Path, base: str) -> Path | None:
    """The checkout that has `base` (None when none has), refused when it is dirty."""
    checkout = find_checkout(repo, base)
    if checkout is not None:
        dirty = dirty_files(checkout)
        if dirty:
            raise DirtyCheckout(checkout, dirty)
    return checkout


def commits_between(repo: Path, old: str, branch: str) -> int | None:
    """How many commits `branch` has that `old` lacks (None when either is unknown):
    how far the base moved since the checks ran on it."""
    if not old:
        return None
    try:
        out = run_git(repo, "rev-list", "--count", f"{old}..refs/heads/{branch}")
    except GitError:
        return None
    return int(out.strip() or 0)


# Resolving a conflict in the task's own worktree


def conflicting_files(repo: Path, base: str, branch: str) -> list[str]:
    """The files that conflict when `branch` and `base` are merged (empty when they merge
    cleanly), computed in memory: no checkout is touched."""
    tree_base = rev_parse(repo, f"refs/heads/{base}")
    tree_branch = rev_parse(repo, f"refs/heads/{branch}")
    return _merge_tree(repo, tree_base, tree_branch)[1]


def _unmerged_files(worktree: Path) -> list[str]:
    out = run_git(worktree, *PATHS_RAW, "diff", "--name-only", "--diff-filter=U", "-z")
    return list(dict.fromkeys(p for p in out.split("\0") if p))


def merge_in_progress(worktree: Path) -> bool:
    """Whether `worktree` holds an uncommitted merge (MERGE_HEAD)."""
    path = run_git(worktree, "rev-parse", "--path-format=absolute", "--git-path", "MERGE_HEAD")
    return Path(path.strip()).exists()


def merge_into_worktree(worktree: Path, base: str) -> list[str]:
    """Merge the branch `base` into the branch checked out in the task's `worktree`,
    leaving the merge uncommitted (MERGE_HEAD set, conflict markers in the files) for an
    agent to resolve; the conflicted files, empty when it merged cleanly or `base` had
    nothing new. Only this worktree changes, never the user's checkout."""
    options = ("--no-ff", "--no-commit", "--no-autostash", "--no-verify-signatures", "--quiet")
    try:
        run_git(
            worktree,
            *UNATTENDED,
            "merge",
            *options,
            f"refs/heads/{base}",
            env=commit_identity(worktree),
        )
    except GitError:
        files = _unmerged_files(worktree)
        if not files:
            raise
        return files
    return []


def finish_merge(worktree: Path, message: str) -> str | None:
    """Commit a merge left in progress in `worktree` (the index as `commit_all` staged it;
    the commit has both parents) and return its sha; None when no merge is in progress.
    A resolved merge whose tree equals HEAD's still needs its commit, which `commit_all`
    skips as "nothing changed"."""
    if not merge_in_progress(worktree):
        return None
    return commit_index(worktree, message)
