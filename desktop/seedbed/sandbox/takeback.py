"""Taking back what a sandboxed run made in its private git pieces (gitshare.py), once
git's own checks passed on it, in a SHA-1 or a SHA-256 repository alike.

1. Its loose objects that are sound (a git object of a known type, its size said, that
   hashes to its name in the repository's object format) are copied into a directory of
   the engine's beside the pieces (`checked`); each pack it made is indexed there by
   `git index-pack`, which names every object itself. From then on git reads only that
   directory: never a file the agent could still change, a link or a FIFO it left, an
   `info/alternates` it wrote.
2. The objects new to its branch (`git rev-list --objects TIP --not --branches --tags
   --remotes`, read through that directory: a missing tree or parent fails here) go
   into the repository with every blob it made (its index may name them) as one pack,
   through `git index-pack --strict`: fsck's rules on each object (no `.git`, `..` or
   `/` in a tree, a well-formed commit) and on every link it has, to the pack or the
   repository. So do, in a pack of their own, those of a HEAD it left detached. Trees
   and commits neither reaches (an amended commit) are dropped.
3. The branch moves to its tip, compare-and-swap.

A branch whose new objects fail is not moved: its blobs alone come in (the worktree's
index names them, and Seedbed commits what the agent left), the note says why, and the
private pieces stay where they are for inspection. Whatever else it changed (another
ref) is named in the notes and dropped.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import stat
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from seedbed.sandbox.gitshare import RECORD, GitShare
from seedbed.vcs.runner import GitError, run_git

CHECKED = "checked"  # beside the pieces, under the share's root: never seen inside
NAME_LENGTHS = {"sha1": 40, "sha256": 64}  # `git rev-parse --show-object-format`
HEX = frozenset("0123456789abcdef")
OBJECT_HEAD = re.compile(rb"(?:blob|tree|commit|tag) (?P<size>0|[1-9][0-9]{0,18})\0")
READ_BYTES = 1 << 16
HEAD_BYTES = 32  # "commit 18446744073709551615\0" and then some
REF_BYTES = 100


def take_back(share: GitShare) -> list[str]:
    """Bring what the run made into the repository: the objects of its branch's new
    commits once `git index-pack --strict` read them, every blob it made, and its branch
    where it left it. Notes for the run's log (what was dropped, and why). The private
    pieces are removed, unless the branch (or a HEAD it left detached) was not taken
    back, or something failed unforeseen: then they stay for inspection."""
    checked = share.root / CHECKED
    keep = True
    try:
        notes, keep = _take_back(share, checked)
    finally:
        shutil.rmtree(checked, ignore_errors=True)
        if not keep:
            # The record first: pieces left behind (a folder the agent made read-only)
            # are then known to be taken back, free to remove (core.sandboxing).
            (share.root / RECORD).unlink(missing_ok=True)
            shutil.rmtree(share.root, ignore_errors=True)
    return notes


def _take_back(share: GitShare, checked: Path) -> tuple[list[str], bool]:
    """The notes, and whether the private pieces are to be kept."""
    object_format = run_git(share.common, "rev-parse", "--show-object-format").strip()
    length = NAME_LENGTHS.get(object_format, 0)
    if not length:
        return [f"sandbox: git's object format {object_format!r} is unknown here"], True
    notes = _check_objects(share, checked, object_format)
    leaf = share.branch.rsplit("/", 1)[-1]
    tip = _ref_text(share.refs / leaf)
    moved = bool(tip) and tip != share.branch_tip
    why = "" if not moved or _is_name(tip, length) else "its ref names no commit"
    blobs = _blobs(share.common, checked)
    try:
        _take_objects(share.common, checked, [tip] if moved and not why else [], blobs)
    except GitError as exc:
        why = why or f"git's checks refused what it made: {_reason(exc)}"
        try:
            _take_objects(share.common, checked, [], blobs)
        except GitError as again:
            notes.append(f"sandbox: the files it staged were not taken: {_reason(again)}")
    if moved and not why:
        try:
            run_git(share.common, "cat-file", "-e", f"{tip}^{{commit}}")
            ref = f"refs/heads/{share.branch}"
            run_git(share.common, "update-ref", ref, tip, share.branch_tip)
        except GitError as exc:
            why = _reason(exc)
    if why:
        notes.append(
            f"sandbox: {share.branch} was not moved to the agent's commit {tip[:12]} ({why}); "
            f"what the agent made is kept in {share.root} for inspection"
        )
    kept = _take_detached(share, checked, length, tip)
    return notes + kept + _other_refs(share, leaf), bool(why or kept)


def _take_detached(share: GitShare, checked: Path, length: int, tip: str) -> list[str]:
    """The commits of a HEAD the agent left detached (the commit of what it left
    uncommitted puts them back on its branch when they follow it); a note if they are
    refused."""
    head = _ref_text(share.worktree_git / "HEAD")  # a name only when it is detached
    if not _is_name(head, length) or head in (tip, share.branch_tip):
        return []
    try:
        _take_objects(share.common, checked, [head], [])
    except GitError as exc:
        return [
            f"sandbox: the commit {head[:12]} the agent's detached HEAD is at was not taken "
            f"(git's checks refused what it made: {_reason(exc)}); what the agent made is "
            f"kept in {share.root} for inspection"
        ]
    return []


def _check_objects(share: GitShare, checked: Path, object_format: str) -> list[str]:
    """Copy the run's sound loose objects into `checked`, and index each of its packs
    there. Only plain files are read: a link the agent left (to /dev/zero, to a secret)
    is never followed, a FIFO never waited on."""
    notes: list[str] = []
    shutil.rmtree(checked, ignore_errors=True)
    (checked / "pack").mkdir(parents=True)
    length = NAME_LENGTHS[object_format]
    bad = 0
    found: dict[str, Path] = {}
    for folder in sorted(share.objects.glob("[0-9a-f][0-9a-f]")):
        if not _plain(folder, stat.S_ISDIR):
            bad += 1
            continue
        for path in folder.iterdir():
            name = folder.name + path.name
            if _is_name(name, length):
                found[name] = path
    # Only what the repository lacks: git in the sandbox writes again, privately, an
    # object the repository has but it could not freshen there (read-only).
    for name in _missing(share.common, found):
        if not _copy_sound(found[name], name, checked, object_format):
            bad += 1
    if bad:
        notes.append(f"sandbox: {bad} object(s) whose content did not match their name dropped")
    packs = share.objects / "pack"
    for pack in sorted(packs.glob("*.pack") if _plain(packs, stat.S_ISDIR) else []):
        stream = _open_plain(pack)
        if stream is None:
            continue
        try:
            with stream:
                _index_pack(share.common, stream, checked / "pack", _reading(checked))
        except (GitError, OSError) as exc:
            notes.append(f"sandbox: the pack {pack.name} it made was not taken: {_reason(exc)}")
    return notes


def _copy_sound(path: Path, name: str, checked: Path, object_format: str) -> bool:
    """Copy the loose object file at `path` into `checked` if it holds the object `name`:
    a git object header ("blob 12\\0", of a known type, its size that of the rest) and a
    hash of the whole that is its name; inflated a piece at a time (a small file may
    inflate to gigabytes)."""
    stream = _open_plain(path)
    if stream is None:
        return False
    folder = checked / name[:2]
    folder.mkdir(exist_ok=True)
    temporary = folder / f".{name[2:]}.tmp"
    digest = hashlib.new(object_format, usedforsecurity=False)
    inflater = zlib.decompressobj()
    head = b""
    size = 0
    try:
        with stream, temporary.open("wb") as copy:
            while chunk := stream.read(READ_BYTES):
                copy.write(chunk)
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
        temporary.unlink(missing_ok=True)
        return False
    match = OBJECT_HEAD.match(head)
    sound = (
        match is not None
        and int(match["size"]) == size - match.end()
        and inflater.eof
        and digest.hexdigest() == name
    )
    if sound:
        os.replace(temporary, folder / name[2:])
    else:
        temporary.unlink()
    return sound


def _missing(repo: Path, names: Iterable[str]) -> list[str]:
    """Those of `names` the repository has no object of."""
    listed = "".join(f"{name}\n" for name in names)
    if not listed:
        return []
    out = run_git(
        repo,
        "cat-file",
        "--batch-check=%(objectname)",
        input=listed,
        env={"GIT_NO_REPLACE_OBJECTS": "1"},
    )
    return [line.split()[0] for line in out.splitlines() if line.endswith(" missing")]


def _blobs(repo: Path, checked: Path) -> list[str]:
    """The blobs among the run's checked objects (`git cat-file`, reading them only)."""
    out = run_git(
        repo,
        "cat-file",
        "--batch-all-objects",
        "--unordered",
        "--batch-check=%(objectname) %(objecttype)",
        env={"GIT_OBJECT_DIRECTORY": str(checked), "GIT_ALTERNATE_OBJECT_DIRECTORIES": ""},
    )
    return [line.split()[0] for line in out.splitlines() if line.endswith(" blob")]


def _take_objects(repo: Path, checked: Path, tips: list[str], blobs: list[str]) -> None:
    """One pack of the objects new to `tips` (from no branch, tag or remote ref of the
    repository) and of `blobs`, read through `checked`, into the repository once `git
    index-pack --strict` passed it; GitError (git's reason) when anything fails."""
    names: Iterable[str] = blobs
    reading = {**_reading(checked), "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(repo / "objects")}
    if tips:
        new = run_git(
            repo,
            "rev-list",
            "--objects",
            "--no-object-names",
            *tips,
            "--not",
            "--branches",
            "--tags",
            "--remotes",
            env=reading,
        )
        names = [*new.split(), *blobs]
    listed = "".join(f"{name}\n" for name in names)
    if not listed:
        return
    one_pack = ("-c", "pack.packSizeLimit=0")  # a user's limit would split it in several
    out = str(checked / "out")
    made = run_git(repo, *one_pack, "pack-objects", "--quiet", out, input=listed, env=reading)
    with (checked / f"out-{made.strip()}.pack").open("rb") as pack:
        _index_pack(repo, pack, repo / "objects" / "pack", {}, strict=True)


def _index_pack(
    repo: Path, pack: BinaryIO, into: Path, env: dict[str, str], strict: bool = False
) -> None:
    """Copy a pack into the pack directory `into` once `git index-pack` read every object
    of it (it computes each one's name itself), under the name git gives it. Until then
    it lies in a directory of its own beside `into`, which no git looks into (as git's
    own quarantine of a push)."""
    incoming = into.parent / f"tmp_seedbed_{secrets.token_hex(8)}"
    incoming.mkdir()
    try:
        received = incoming / "incoming.pack"
        with received.open("wb") as copy:
            shutil.copyfileobj(pack, copy)
        checks = ["--strict"] if strict else []
        said = run_git(repo, "index-pack", *checks, str(received), env=env)
        name = said.strip()
        if len(name) not in NAME_LENGTHS.values() or not set(name) <= HEX:
            raise GitError(f"git index-pack said {said!r}", 0, "", "")
        for suffix in (".pack", ".rev", ".idx"):  # the index last: git finds a pack by it
            made = received.with_suffix(suffix)
            if made.exists():
                os.replace(made, into / f"pack-{name}{suffix}")
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def _reading(checked: Path) -> dict[str, str]:
    """Git's environment to read the checked objects (and write there, for a pack);
    replacement refs are no part of what the run made."""
    return {"GIT_OBJECT_DIRECTORY": str(checked), "GIT_NO_REPLACE_OBJECTS": "1"}


def _other_refs(share: GitShare, leaf: str) -> list[str]:
    """A note for each ref other than its branch the agent changed in its private copy
    (dropped)."""
    notes: list[str] = []
    for folder, _dirs, files in os.walk(share.refs):  # symlinks to folders not followed
        for file in files:
            path = Path(folder) / file
            name = path.relative_to(share.refs).as_posix()
            if name == leaf or name.endswith(".lock"):
                continue
            if _ref_text(path) != share.refs_at_start.get(name, ""):
                notes.append(
                    f"sandbox: the agent moved {share.ref_dir}/{name}, which is not its "
                    "branch: dropped"
                )
    return notes


def _reason(exc: GitError | OSError) -> str:
    """Git's own reason, its first line (`error: object …: hasDotgit: contains '.git'`)."""
    said = getattr(exc, "stderr", "") or str(exc)
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    return lines[0] if lines else str(exc)


def _is_name(text: str, length: int) -> bool:
    return len(text) == length and set(text) <= HEX


def _plain(path: Path, kind: Callable[[int], bool]) -> bool:
    """Whether `path` itself (not what a symlink leads to) is of this kind."""
    try:
        return kind(path.lstat().st_mode)
    except OSError:
        return False


def _open_plain(path: Path) -> BinaryIO | None:
    """`path` opened for reading if it is itself a regular file: never through a link,
    never waiting for a FIFO's writer."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return None
    stream = os.fdopen(descriptor, "rb")
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        stream.close()
        return None
    return stream


def _ref_text(path: Path) -> str:
    """What a loose ref file says (a plain file only, its first line, 100 bytes at most);
    "" for anything else."""
    stream = _open_plain(path)
    if stream is None:
        return ""
    try:
        with stream:
            return stream.read(REF_BYTES).decode("ascii", "replace").split("\n", 1)[0].strip()
    except OSError:
        return ""
