"""Rotating backups of the database, made with SQLite's online backup API, and putting
one back when the database is damaged.

The engine makes one when it starts and then at most every BACKUP_EVERY_S, into
`<data dir>/backups/seedbed-<UTC time>.<ms>.db`, keeping the newest BACKUP_KEEP. A database
that fails `PRAGMA quick_check` is never backed up: a damaged copy must not push the
good ones out of the rotation.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from pathlib import Path

from seedbed.domain.errors import UserError
from seedbed.paths import database_path
from seedbed.store.connection import connect_read_only

BACKUP_DIR = "backups"
BACKUP_KEEP = 5
BACKUP_EVERY_S = 6 * 3600.0
BACKUP_EVERY_VARIABLE = "SEEDBED_BACKUP_EVERY_S"  # another interval (tests: 0, always)
PREFIX = "seedbed-"
STAMP = "%Y%m%d-%H%M%S"


def backup_every() -> float:
    try:
        return float(os.environ.get(BACKUP_EVERY_VARIABLE, BACKUP_EVERY_S))
    except ValueError:
        return BACKUP_EVERY_S


def backups_dir(data_dir: Path) -> Path:
    return data_dir / BACKUP_DIR


def list_backups(data_dir: Path) -> list[Path]:
    """The backups kept, newest first (their names sort by time)."""
    return sorted(backups_dir(data_dir).glob(f"{PREFIX}*.db"), reverse=True)


def quick_check(path: Path) -> str:
    """ "ok", or what SQLite's quick_check (or opening the file) found wrong."""
    try:
        with contextlib.closing(connect_read_only(path)) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        return str(exc)
    found = [str(row[0]) for row in rows]
    return "ok" if found == ["ok"] else "; ".join(found[:3])


def back_up(data_dir: Path) -> Path | None:
    """A new backup when the newest is older than the interval and the database is
    sound; the backup's path, or None when none was due or the database is damaged."""
    db = database_path(data_dir)
    kept = list_backups(data_dir)
    if kept and time.time() - kept[0].stat().st_mtime < backup_every():
        return None
    if not db.is_file():
        return None
    now = time.time()
    stamp = f"{time.strftime(STAMP, time.gmtime(now))}.{int(now * 1000) % 1000:03d}"
    target = backups_dir(data_dir) / f"{PREFIX}{stamp}.db"
    partial = target.with_name(target.name + ".part")
    target.parent.mkdir(exist_ok=True)
    try:
        with contextlib.closing(connect_read_only(db)) as source:
            if source.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
                return None
            with contextlib.closing(sqlite3.connect(partial)) as copy:
                source.backup(copy)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    for old in list_backups(data_dir)[BACKUP_KEEP:]:
        old.unlink(missing_ok=True)
    return target


def newest_good_backup(data_dir: Path) -> Path | None:
    return next((b for b in list_backups(data_dir) if quick_check(b) == "ok"), None)


def backup_time(backup: Path) -> str:
    """When a backup was made, as its name says (UTC)."""
    stamp = backup.stem.removeprefix(PREFIX).split(".")[0]
    try:
        made = time.strptime(stamp, STAMP)
    except ValueError:
        return "unknown time"
    return time.strftime("%Y-%m-%d %H:%M UTC", made)


def restore_newest(data_dir: Path) -> tuple[Path, Path]:
    """Move the damaged database aside and put the newest good backup in its place;
    (the backup restored, where the damaged file went). The caller holds the engine
    lock: no engine writes meanwhile."""
    db = database_path(data_dir)
    problem = quick_check(db) if db.is_file() else ""
    if problem == "ok":
        raise UserError(f"{db} passes SQLite's quick_check: there is nothing to restore")
    backup = newest_good_backup(data_dir)
    if backup is None:
        raise UserError(
            f"no good backup in {backups_dir(data_dir)}: move {db} aside to start afresh"
        )
    aside = db.with_name(f"{db.name}.broken-{time.strftime(STAMP, time.gmtime())}")
    if db.exists():
        os.replace(db, aside)
    for suffix in ("-wal", "-shm"):  # they belong to the damaged file, not the backup
        extra = Path(f"{db}{suffix}")
        if extra.exists():
            os.replace(extra, Path(f"{aside}{suffix}"))
    partial = db.with_name(db.name + ".part")
    shutil.copyfile(backup, partial)
    os.replace(partial, db)
    return backup, aside
