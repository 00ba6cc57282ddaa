"""What of the repository's git metadata a sandboxed run may write.

The repository's `.git` is read-only inside. So that an agent that commits still can, a
run gets private copies, bound over the real ones inside the sandbox:

- its worktree's own git dir (`.git/worktrees/NAME`: HEAD, index), writable as it is;
- a private object directory (`GIT_OBJECT_DIRECTORY`, with the real one as an
  alternate): new objects go there, none of the repository's can be changed or deleted;
- a copy of the ref directory that holds its branch (`refs/heads/seedbed/`) and of its
  reflogs: it moves its own branch there, and any other ref it moves stays in the copy.

When the run ends, `takeback.take_back` brings into the repository what git's own strict
checks pass of it, and moves the task's branch to where the agent left it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from seedbed.domain.errors import OperationError
from seedbed.sandbox.plan import Bind
from seedbed.vcs.runner import run_git

OBJECTS_INSIDE = Path("/tmp/.seedbed-git-objects")  # /tmp is the sandbox's own
RECORD = "share.json"


class GitShare(BaseModel):
    """The private git pieces of one run (under `root`) and where they are seen inside."""

    model_config = ConfigDict(frozen=True)

    root: Path
    common: Path  # the repository's git dir (`git rev-parse --git-common-dir`)
    worktree_git: Path  # .git/worktrees/NAME
    branch: str
    branch_tip: str  # where the branch was when the run started
    ref_dir: str  # "refs/heads/seedbed": the directory of the branch's ref
    # The refs of that directory as the run found them (its copy's): what it moved is what
    # differs from these, not from the live ones (other tasks' branches move meanwhile).
    refs_at_start: dict[str, str] = {}

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def refs(self) -> Path:
        return self.root / "refs"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def binds(self) -> list[Bind]:
        """The binds that make these pieces the ones the sandbox sees (after the
        repository's git dir, read-only)."""
        return [
            Bind(source=self.common, target=self.common),
            Bind(source=self.worktree_git, target=self.worktree_git, writable=True),
            Bind(source=self.refs, target=self.common / self.ref_dir, writable=True),
            Bind(source=self.logs, target=self.common / "logs" / self.ref_dir, writable=True),
            Bind(source=self.objects, target=OBJECTS_INSIDE, writable=True),
        ]

    def env(self) -> dict[str, str]:
        return {
            "GIT_OBJECT_DIRECTORY": str(OBJECTS_INSIDE),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(self.common / "objects"),
        }


def worktree_git_dirs(worktree: Path, repo: Path) -> tuple[Path, Path]:
    """The worktree's own git dir and the repository's (common) git dir, checked to be
    `repo`'s: a worktree's `.git` file is the agent's to write, and an earlier run could
    have pointed it elsewhere (the main checkout's git dir, to have it bound writable).
    Raises OperationError when they are not."""
    own = Path(run_git(worktree, "rev-parse", "--absolute-git-dir").strip()).resolve()
    common = run_git(worktree, "rev-parse", "--path-format=absolute", "--git-common-dir")
    expected = run_git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
    found, wanted = Path(common.strip()).resolve(), Path(expected.strip()).resolve()
    back = ""
    with contextlib.suppress(OSError):
        back = (own / "gitdir").read_text().strip()
    links_back = back and Path(back).resolve() == (worktree / ".git").resolve()
    if found != wanted or own.parent != wanted / "worktrees" or not links_back:
        raise OperationError(
            f"the worktree {worktree} is no longer a git worktree of {repo} (its .git leads "
            f"to {own}): no sandbox is made from it; the work is left there"
        )
    return own, wanted


def make_share(root: Path, worktree: Path, repo: Path, branch: str) -> GitShare:
    """Private git pieces for a run in `worktree` (of `repo`) on `branch`, under `root`
    (made new)."""
    own, common = worktree_git_dirs(worktree, repo)
    ref = f"refs/heads/{branch}"
    ref_dir = ref.rsplit("/", 1)[0]
    tip = run_git(worktree, "rev-parse", "--verify", "--quiet", ref, check=False).strip()
    shutil.rmtree(root, ignore_errors=True)
    share = GitShare(
        root=root, common=common, worktree_git=own, branch=branch, branch_tip=tip, ref_dir=ref_dir
    )
    (share.objects / "pack").mkdir(parents=True)
    (share.objects / "info").mkdir()
    for private, real in ((share.refs, common / ref_dir), (share.logs, common / "logs" / ref_dir)):
        real.mkdir(parents=True, exist_ok=True)  # a mount point must exist in the read-only dir
        shutil.copytree(real, private, symlinks=True)
    found: dict[str, str] = {}
    for folder, _dirs, files in os.walk(share.refs):
        for file in files:
            path = Path(folder) / file
            if path.is_file() and not path.is_symlink():
                text = path.read_text(errors="replace")[:100].split("\n", 1)[0].strip()
                found[path.relative_to(share.refs).as_posix()] = text
    share = share.model_copy(update={"refs_at_start": found})
    # Beside the pieces, outside what the sandbox sees: what recovery needs to take them
    # back if the engine dies while the run goes on.
    (root / RECORD).write_text(share.model_dump_json())
    return share


def left_share(root: Path) -> GitShare | None:
    """The pieces a run left at `root` (its engine died), if any."""
    try:
        return GitShare.model_validate_json((root / RECORD).read_text())
    except (OSError, ValueError):
        return None


def clear_links(own: Path, branch: str) -> list[str]:
    """Remove what a sandboxed agent may have left in its worktree's own git dir (`own`,
    which it may write) for git outside, the engine's, to write through: a symbolic
    link, a FIFO, a socket, a device, at any depth. Git appends its reflog
    (`logs/HEAD`), writes ORIG_HEAD and COMMIT_EDITMSG, following links: a `logs/HEAD`
    made a link to ~/.bashrc had the engine's next commit append a line there. A `HEAD`
    that is not a plain file is written back as the branch's. Notes for the run's log
    (names only). Called before the engine runs any git there after the run."""
    removed: list[str] = []
    for folder, folders, files in os.walk(own):  # never into a linked folder
        for name in [*folders, *files]:
            path = Path(folder) / name
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
                continue
            try:
                path.unlink()
            except OSError:
                continue
            removed.append(path.relative_to(own).as_posix())
    head = own / "HEAD"
    if "HEAD" in removed or not head.exists():
        head.write_text(f"ref: refs/heads/{branch}\n")
    if not removed:
        return []
    listed = ", ".join(sorted(removed)[:10]) + (" …" if len(removed) > 10 else "")
    return [
        f"sandbox: removed what the agent left in its worktree's git dir for git to write "
        f"through (links, FIFOs): {listed}"
    ]
