"""Keeping the built-in agent's file tools inside its worktree.

A path from the model is checked twice. First in pure code (`resolve_path`): it must be
relative, must not climb out with `..`, must not name `.git`, and its `os.path.realpath`
must stay inside the worktree's realpath, so a symlink pointing outside (a file, a
directory, a parent) is refused before anything is opened. Then the file is opened by
walking the resolved path one component at a time from a descriptor of the worktree
root with `O_NOFOLLOW` (`open_dir`, `read_bytes`, `replace_file`): a component that
became a symlink between the check and the open fails instead of being followed.
Writes replace the file through a temporary file and a rename, so a hard link to a file
outside the worktree is broken rather than written through.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass

GIT_DIR_NAME = ".git"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused as not a file.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class PathRefused(Exception):
    """A path the tools will not touch; the message is written for the model."""


@dataclass(frozen=True)
class Resolved:
    """A checked path: `parts` of its realpath below the worktree root (empty: the root)."""

    parts: tuple[str, ...]

    @property
    def rel(self) -> str:
        return "/".join(self.parts)

    @property
    def shown(self) -> str:
        return self.rel or "."


def is_git_name(part: str) -> bool:
    return part.casefold() == GIT_DIR_NAME


def resolve_path(root: str, raw: str, *, allow_root: bool = False) -> Resolved:
    """Check `raw` (from the model) against the worktree `root` (already a realpath).

    Any component named `.git` (case-insensitively, at any depth: a nested `.git` is a
    submodule's link into the main repository too) is refused, before and after
    symlinks are resolved.
    """
    if "\0" in raw:
        raise PathRefused("the path contains a NUL byte")
    if raw in ("", "."):
        if allow_root:
            return Resolved(())
        raise PathRefused("the path is empty; give a file path relative to the worktree root")
    if os.path.isabs(raw):
        hint = ""
        inside = os.path.normpath(raw)
        if inside.startswith(root + os.sep):
            hint = f"; use {os.path.relpath(inside, root)!r}"
        raise PathRefused(f"absolute paths are not allowed ({raw!r}){hint}")
    normal = posixpath.normpath(raw)
    if normal == ".." or normal.startswith("../"):
        raise PathRefused(f"{raw!r} leads outside the worktree; paths must stay inside it")
    if any(is_git_name(part) for part in normal.split("/")):
        raise PathRefused(f"{raw!r} is inside .git, which the tools do not read or change")
    real = os.path.realpath(os.path.join(root, raw))
    if real == root:
        if allow_root:
            return Resolved(())
        raise PathRefused(f"{raw!r} is the worktree root, not a file")
    if not real.startswith(root + os.sep):
        raise PathRefused(f"{raw!r} resolves outside the worktree through a symbolic link; refused")
    parts = tuple(real[len(root) + 1 :].split(os.sep))
    if any(is_git_name(part) for part in parts):
        raise PathRefused(f"{raw!r} resolves into .git, which the tools do not read or change")
    return Resolved(parts)


def open_dir(root: str, parts: tuple[str, ...], *, create: bool = False) -> int:
    """A descriptor of the directory root/parts, no component followed if it is a symlink.

    With `create`, missing directories are made. Raises OSError (ELOOP for a symlink).
    """
    fd = os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)
    try:
        for part in parts:
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except NotADirectoryError:
                # O_DIRECTORY | O_NOFOLLOW on a symlink says ENOTDIR; say what it is.
                if stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), part) from None
                raise
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


class DirCache:
    """Keeps the last directory descriptor open: sorted file lists share parents."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._parts: tuple[str, ...] | None = None
        self._fd = -1

    def get(self, parts: tuple[str, ...]) -> int:
        if parts != self._parts:
            self.close()
            self._fd = open_dir(self.root, parts)
            self._parts = parts
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._parts = -1, None


@contextlib.contextmanager
def open_regular(dir_fd: int, name: str) -> Iterator[int]:
    """A read descriptor of a regular file in dir_fd; not followed if a symlink."""
    fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(mode):
            raise PathRefused("not a regular file")
        os.set_blocking(fd, True)
        yield fd
    finally:
        os.close(fd)


def read_chunks(fd: int, size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := os.read(fd, size):
        yield chunk


def read_bytes(root: str, resolved: Resolved, limit: int | None = None) -> bytes:
    """The file's bytes (at most `limit`); OSError or PathRefused as for open_regular."""
    dir_fd = open_dir(root, resolved.parts[:-1])
    try:
        with open_regular(dir_fd, resolved.parts[-1]) as fd:
            chunks: list[bytes] = []
            total = 0
            for chunk in read_chunks(fd):
                chunks.append(chunk)
                total += len(chunk)
                if limit is not None and total >= limit:
                    break
            data = b"".join(chunks)
            return data if limit is None else data[:limit]
    finally:
        os.close(dir_fd)


def file_size(root: str, resolved: Resolved) -> int:
    dir_fd = open_dir(root, resolved.parts[:-1])
    try:
        with open_regular(dir_fd, resolved.parts[-1]) as fd:
            return os.fstat(fd).st_size
    finally:
        os.close(dir_fd)


def replace_file(root: str, resolved: Resolved, data: bytes) -> bool:
    """Write `data` as root/parts (parents created) by temporary file and rename.

    Keeps the permission bits of a file it replaces. Returns True if the file is new.
    """
    dir_fd = open_dir(root, resolved.parts[:-1], create=True)
    name = resolved.parts[-1]
    try:
        try:
            old = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if old is not None and stat.S_ISDIR(old.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if old is not None and not stat.S_ISREG(old.st_mode):
            raise PathRefused("not a regular file")
        temp = f".{name[:100]}.seedbed-{secrets.token_hex(4)}.tmp"
        fd = os.open(
            temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o666, dir_fd=dir_fd,
        )  # fmt: skip
        try:
            try:
                if old is not None and stat.S_ISREG(old.st_mode):
                    os.fchmod(fd, stat.S_IMODE(old.st_mode))
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=dir_fd)
            raise
        return old is None
    finally:
        os.close(dir_fd)


def describe_os_error(shown: str, error: OSError) -> str:
    """An OSError as the model should read it: the worktree path, not ours."""
    if error.errno == errno.ELOOP:
        return f"{shown}: is a symbolic link (or passes through one); refused"
    if error.errno == errno.ENOENT:
        return f"{shown}: no such file or directory"
    if error.errno == errno.ENOTDIR:
        return f"{shown}: a parent of this path is a file, not a directory"
    if error.errno == errno.EISDIR:
        return f"{shown}: is a directory"
    reason = error.strerror or type(error).__name__
    return f"{shown}: {reason}"
