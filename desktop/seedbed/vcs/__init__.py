"""Git for Seedbed: worktrees, branches, snapshot commits, parsed diffs and safe merges.

Every call blocks; the engine runs them with `asyncio.to_thread`.
"""

from seedbed.vcs.diff import (
    diff_files,
    diff_stat,
    diff_text,
    range_diff,
    review_diff,
    worktree_diff_files,
    worktree_diff_stat,
    worktree_diff_text,
    worktree_review_diff,
)
from seedbed.vcs.git import (
    attach_worktree,
    branch_exists,
    commit_all,
    copy_into_worktree,
    create_worktree,
    current_branch,
    delete_branch,
    dirty_files,
    find_checkout,
    finish_worktree,
    local_only_files,
    merge_base,
    open_repository,
    remove_worktree,
    rev_parse,
    worktree_exists,
)
from seedbed.vcs.merge import DirtyCheckout, MergeConflict, merge
from seedbed.vcs.runner import GitError

__all__ = [
    "DirtyCheckout",
    "GitError",
    "MergeConflict",
    "attach_worktree",
    "branch_exists",
    "commit_all",
    "copy_into_worktree",
    "create_worktree",
    "current_branch",
    "delete_branch",
    "diff_files",
    "diff_stat",
    "diff_text",
    "dirty_files",
    "find_checkout",
    "finish_worktree",
    "local_only_files",
    "merge",
    "merge_base",
    "open_repository",
    "range_diff",
    "remove_worktree",
    "rev_parse",
    "review_diff",
    "worktree_diff_files",
    "worktree_diff_stat",
    "worktree_diff_text",
    "worktree_exists",
    "worktree_review_diff",
]
