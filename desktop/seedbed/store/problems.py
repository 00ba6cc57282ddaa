"""What is wrong with the database or the disk under it, said in one sentence.

SQLite and the OS raise codes ("file is not a database", ENOSPC); the user needs the
file, what is wrong with it and what to do. The command line and the window word every
storage failure here; the engine asks `disk_full` to end a run for it.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from seedbed.store.backup import newest_good_backup
from seedbed.store.connection import read_only_problem

FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
ALMOST_FULL_BYTES = 1 << 20  # less than this free: a write of the engine may fail
NO_SPACE_TEXT = "No space left on device"  # what git and other programs print for ENOSPC


def disk_full(exc: BaseException) -> bool:
    """True when `exc` says the disk (or the user's quota) is full."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL or (
            "disk is full" in str(exc)
        )
    if isinstance(exc, OSError):
        return exc.errno in FULL_ERRNOS
    return NO_SPACE_TEXT in str(exc) or "Disk quota exceeded" in str(exc)


def out_of_space(path: Path) -> bool:
    """True when the disk holding `path` has (next to) no space left for us."""
    try:
        return shutil.disk_usage(path).free < ALMOST_FULL_BYTES
    except OSError:
        return False


def disk_full_reason(exc: BaseException, where: Path) -> str:
    """The reason a run ends with when the disk under `where` is full."""
    return f"disk full: the disk holding {where} has no space left ({exc})"


def restore_hint(db: Path) -> str:
    """What to do with the broken database `db`: restore a backup when there is a good
    one, else (an engine never ran here, or every backup is damaged too) move it aside."""
    if newest_good_backup(db.parent) is None:
        return f"no backup yet: move {db} aside to start afresh"
    return (
        "restore the newest backup with `seedbed doctor --restore-backup`, "
        f"or move {db.name} aside to start afresh"
    )


def storage_problem(exc: BaseException, db: Path) -> str | None:
    """One sentence for a failure of the database file `db` or of its disk; None when
    `exc` is not such a failure (then it is a bug, and stays a traceback)."""
    if disk_full(exc):
        return (
            f"disk full: the disk holding {db.parent} has no space left; "
            "free some space and try again"
        )
    if isinstance(exc, OSError):
        if exc.errno == errno.EROFS:
            return read_only_problem(db.parent)
        return None
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_NOTADB:
        return f"{db} is not a database (SQLite: {exc}): {restore_hint(db)}"
    if code == sqlite3.SQLITE_CORRUPT:
        return f"{db} is damaged (SQLite: {exc}): {restore_hint(db)}"
    if code == sqlite3.SQLITE_READONLY:
        return read_only_problem(db.parent)
    if code == sqlite3.SQLITE_BUSY:
        holders = lock_holders(db)
        who = (
            ", ".join(f"pid {pid} ({_command(pid)})" for pid in holders)
            if holders
            else "another process"
        )
        return f"{db} is locked: {who} holds a long write on it; wait for it to finish, or end it"
    if code == sqlite3.SQLITE_CANTOPEN:
        if db.is_dir():
            return f"{db} is a directory, not a database file: move it aside"
        if not os.access(db.parent, os.W_OK):
            return read_only_problem(db.parent)
        return f"cannot open {db} (SQLite: {exc}): check that it is a readable file"
    if code in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return f"cannot read or write {db} (SQLite: {exc})"
    return None


def lock_holders(db: Path) -> list[int]:
    """Other processes holding a write lock on the database or its shared-memory file
    (Linux's /proc/locks); empty when that cannot be told."""
    wanted: set[tuple[int, int, int]] = set()
    for path in (db, Path(f"{db}-shm")):
        try:
            st = path.stat()
        except OSError:
            continue
        wanted.add((os.major(st.st_dev), os.minor(st.st_dev), st.st_ino))
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    holders: list[int] = []
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[1] != "POSIX" or fields[3] != "WRITE":
            continue
        try:
            pid = int(fields[4])
            major, minor, inode = fields[5].split(":")
            key = (int(major, 16), int(minor, 16), int(inode))
        except ValueError:
            continue
        if key in wanted and pid != os.getpid() and pid not in holders:
            holders.append(pid)
    return holders


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(raw.decode(errors="replace").replace("\0", " ").split())[:80]
