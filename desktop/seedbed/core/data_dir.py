"""The data dir as a whole: its settings, whether it can be written, what a storage
error means for the user, and the engine's lock on it (one engine per data dir)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from seedbed.core.context import Context
from seedbed.domain.errors import UserError
from seedbed.domain.models import Settings
from seedbed.paths import database_path
from seedbed.store import connection, problems
from seedbed.store.lock import EngineLock
from seedbed.store.settings import load_settings


def settings(ctx: Context) -> Settings:
    return load_settings(ctx.data_dir)


def read_only_problem(data_dir: Path) -> str:
    """Why nothing can change in a read-only data dir, for the user."""
    return connection.read_only_problem(data_dir)


def storage_problem(exc: BaseException, data_dir: Path) -> str | None:
    """What a SQLite or OS error on the data dir's database means for the user (a full
    disk, a read-only mount, …); None when it is not one of those."""
    return problems.storage_problem(exc, database_path(data_dir))


@contextlib.contextmanager
def owning(ctx: Context, wait: float = 0.0) -> Iterator[None]:
    """Hold the engine's lock on the data dir for the block (EngineBusy if another
    engine owns it after `wait` seconds)."""
    lock = EngineLock(ctx.data_dir)
    lock.acquire(wait=wait)
    try:
        yield
    finally:
        lock.release()


def database_problem(data_dir: Path) -> str | None:
    """Why the data dir's database cannot be opened, in one sentence; None when it opens.
    What a window says when its engine could not start (the engine's log has the rest)."""
    try:
        Context.open(data_dir).store.close()
    except UserError as exc:
        return str(exc)
    except (sqlite3.Error, OSError) as exc:
        return storage_problem(exc, data_dir)
    return None
