"""What of the repository's git metadata a sandboxed run may write, and taking it back.

The repository's `.git` is read-only inside. So that an agent that commits still can, a
run gets private copies, bound over the real ones inside the sandbox:

- its worktree's own git dir (`.git/worktrees/NAME`: HEAD, index), writable as it is;
- a private object directory (`GIT_OBJECT_DIRECTORY`, with the real one as an
  alternate): new objects go there, none of the repository's can be changed or deleted;
- a copy of the ref directory that holds its branch (`refs/heads/seedbed/`) and of its
  reflogs: it moves its own branch there, and any other ref it moves stays in the copy.

When the run ends, `take_back` copies its objects into the repository (each one checked
against its name; packs through `git index-pack`) and moves the task's branch to where
the agent left it, compare-and-swap, if it is a commit the repository has. Whatever else
it changed is named in the notes and dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import zlib
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from seedbed.domain.errors import OperationError
from seedbed.sandbox.plan import Bind
from seedbed.vcs.runner import GitError, run_git

OBJECTS_INSIDE = Path("/tmp/.seedbed-git-objects")  # /tmp is the sandbox's own
OBJECT_NAME = re.compile(r"[0-9a-f]{40}")
COMMIT_NAME = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
READ_BYTES = 1 << 16
RECORD = "share.json"
OBJECT_HEAD = re.compile(rb"(?:blob|tree|commit|tag) (?P<size>0|[1-9][0-9]{0,18})\0")
HEAD_BYTES = 32


class GitShare(BaseModel):
    """The private git pieces of one run (under `root`) and where they are seen inside."""

    model_config = ConfigDict(frozen=True)

    root: Path
    common: Path  # the repository's git dir (`git rev-parse --git-common-dir`)
    worktree_git: Path  # .git/worktrees/NAME
    branch: str
    branch_tip: str  # where the branch was when the run started
    ref_dir: str  # "refs/heads/seedbed": the directory of the branch's ref

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


def take_back(share: GitShare) -> list[str]:
    """Bring what the run made into the repository: its objects, and its branch where it
    left it. Notes for the run's log (what was dropped, and why); the private pieces are
    removed."""
    notes: list[str] = []
    try:
        notes += _take_objects(share)
        notes += _take_branch(share)
    finally:
        # The record first: pieces left behind (a folder the agent made read-only) are
        # then known to be taken back, free to remove (core.sandboxing).
        (share.root / RECORD).unlink(missing_ok=True)
        shutil.rmtree(share.root, ignore_errors=True)
    return notes


def _take_objects(share: GitShare) -> list[str]:
    """Copy the run's loose objects that hash to their names, and its packs git reads
    whole. Only plain files are read: a symlink the agent left (to /dev/zero, to a
    secret) is never followed by the engine."""
    notes: list[str] = []
    real = share.common / "objects"
    bad = 0
    for folder in sorted(share.objects.glob("[0-9a-f][0-9a-f]")):
        if not _plain(folder, stat.S_ISDIR):
            bad += 1
            continue
        for path in folder.iterdir():
            name = folder.name + path.name
            target = real / folder.name / path.name
            if not OBJECT_NAME.fullmatch(name) or target.exists():
                continue
            if not _plain(path, stat.S_ISREG) or not _sound_object(path, name):
                bad += 1
                continue
            target.parent.mkdir(exist_ok=True)
            temporary = target.with_name(f".{path.name}.tmp")
            shutil.copyfile(path, temporary)
            os.replace(temporary, target)
    if bad:
        notes.append(f"sandbox: {bad} object(s) whose content did not match their name dropped")
    packs = share.objects / "pack"
    for pack in sorted(packs.glob("*.pack") if _plain(packs, stat.S_ISDIR) else []):
        if not _plain(pack, stat.S_ISREG):
            continue
        try:
            _take_pack(pack, real / "pack")
        except (GitError, OSError) as exc:
            notes.append(f"sandbox: the pack {pack.name} it made was not taken: {exc}")
    return notes


def _plain(path: Path, kind: Callable[[int], bool]) -> bool:
    """Whether `path` itself (not what a symlink leads to) is of this kind."""
    try:
        return kind(path.lstat().st_mode)
    except OSError:
        return False


def _take_pack(pack: Path, into: Path) -> None:
    """Copy a pack the run made into the repository once `git index-pack` read every
    object of it (it computes each one's name itself)."""
    incoming = into / f".incoming-{pack.name}"
    shutil.copyfile(pack, incoming)
    try:
        said = run_git(into, "index-pack", "--strict", str(incoming)).split()
        name = said[-1] if said else ""
        if len(name) not in (40, 64):
            raise GitError(f"git index-pack said {said!r}", 0, "", "")
        os.replace(incoming, into / f"pack-{name}.pack")
        os.replace(incoming.with_suffix(".idx"), into / f"pack-{name}.idx")
    finally:
        incoming.unlink(missing_ok=True)
        incoming.with_suffix(".idx").unlink(missing_ok=True)


def _sound_object(path: Path, name: str) -> bool:
    """Whether the loose object file at `path` holds the object `name`: a git object
    header ("blob 12\\0", of a known type, its size that of the rest) and a SHA-1 of the
    whole that is its name; read and inflated a piece at a time (a small file may
    inflate to gigabytes)."""
    digest = hashlib.sha1(usedforsecurity=False)
    inflater = zlib.decompressobj()
    head = b""
    size = 0
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(READ_BYTES):
                while chunk:
                    piece = inflater.decompress(chunk, READ_BYTES)
                    digest.update(piece)
                    if len(head) < HEAD_BYTES:
                        head += piece[: HEAD_BYTES - len(head)]
                    size += len(piece)
                    chunk = inflater.unconsumed_tail
            rest = inflater.flush()
            digest.update(rest)
            size += len(rest)
    except (OSError, zlib.error):
        return False
    match = OBJECT_HEAD.match(head)
    if match is None or not inflater.eof:
        return False
    return int(match["size"]) == size - match.end() and digest.hexdigest() == name


def _take_branch(share: GitShare) -> list[str]:
    """Move the task's branch to the commit the agent left in its private ref, if the
    repository has it; name every other ref it changed (dropped)."""
    notes: list[str] = []
    leaf = share.branch.rsplit("/", 1)[-1]
    tip = _ref_text(share.refs / leaf)
    ref = f"refs/heads/{share.branch}"
    if tip and tip != share.branch_tip:
        try:
            if not COMMIT_NAME.fullmatch(tip):
                raise GitError("its ref does not name a commit", 0, "", "")
            run_git(share.common, "cat-file", "-e", f"{tip}^{{commit}}")
            run_git(share.common, "update-ref", ref, tip, share.branch_tip)
        except GitError as exc:
            notes.append(f"sandbox: {share.branch} was not moved as the agent left it: {exc}")
    for folder, _dirs, files in os.walk(share.refs):  # symlinks to folders not followed
        for file in files:
            path = Path(folder) / file
            name = path.relative_to(share.refs).as_posix()
            if name == leaf or name.endswith(".lock"):
                continue
            real = share.common / share.ref_dir / name
            if _ref_text(path) != _ref_text(real):
                notes.append(
                    f"sandbox: the agent moved {share.ref_dir}/{name}, which is not its "
                    "branch: dropped"
                )
    return notes


def _ref_text(path: Path) -> str:
    """What a loose ref file says (a plain file only, its first line, 100 bytes at most);
    "" for anything else."""
    if not _plain(path, stat.S_ISREG):
        return ""
    try:
        with path.open("rb") as stream:
            return stream.read(100).decode("ascii", "replace").split("\n", 1)[0].strip()
    except OSError:
        return ""
