"""The Store's base: one SQLite file in WAL mode, a connection per thread, migrations."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from seedbed.domain.errors import UserError
from seedbed.store.schema import MIGRATIONS

BUSY_TIMEOUT_S = 30.0
BUSY_TIMEOUT_VARIABLE = "SEEDBED_BUSY_TIMEOUT_S"  # a shorter wait, for tests


def busy_timeout() -> float:
    """How long a write waits for another process's write (the environment may say)."""
    try:
        return float(os.environ.get(BUSY_TIMEOUT_VARIABLE, BUSY_TIMEOUT_S))
    except ValueError:
        return BUSY_TIMEOUT_S


class Database:
    """Connections and transactions, which every group of queries builds on.

    Each thread gets its own connection (sqlite3 connections must not cross threads).
    Writes are short `BEGIN IMMEDIATE` transactions, so two Seedbed processes on one data
    dir wait for each other (busy timeout) instead of corrupting anything.

    A database in a directory this process cannot write to (a read-only mount) is
    opened read-only: no migration, no lock; reads work and any write fails.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.read_only = path.exists() and not os.access(path.parent, os.W_OK)
        self._timeout = busy_timeout()
        self._local = threading.local()
        self._migrate()

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self.read_only:
                conn = connect_read_only(self.path, self._timeout)
            else:
                conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            if not self.read_only:
                _enable_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk does): the error that
            # matters is the first one, never "no transaction is active".
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        # Reading the version takes no lock: a database that is up to date opens even
        # while another process holds a long write, and on a read-only mount.
        if self.conn.execute("PRAGMA user_version").fetchone()[0] >= len(MIGRATIONS):
            return
        if self.read_only:
            raise UserError(
                f"{self.path} was written by an older Seedbed and must be upgraded, but "
                + read_only_problem(self.path.parent)
            )
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap "anything new?" poll."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])


def read_only_problem(data_dir: Path) -> str:
    return (
        f"the data dir {data_dir} is read-only: it can be read, not changed "
        "(mount it read-write, or choose another with --data-dir)"
    )


def connect_read_only(path: Path, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """`path` opened read-only, as SQLite allows it: a WAL database whose shared-memory
    file does not exist (the last writer closed cleanly) and cannot be made on a
    read-only mount opens only as immutable (nothing changes it while it is read-only)."""
    target = f"file:{quote(str(path))}?mode=ro"
    conn = sqlite3.connect(target, timeout=timeout, isolation_level=None, uri=True)
    try:
        conn.execute("PRAGMA user_version").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_CANTOPEN or path.is_dir():
            raise
    return sqlite3.connect(target + "&immutable=1", timeout=timeout, isolation_level=None, uri=True)


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode (a no-op once it is).

    Switching a fresh file needs it to itself for a moment, and SQLite answers
    "database is locked" at once instead of waiting on the busy timeout, so two
    processes opening a new data dir together would crash; retry instead.
    """
    deadline = time.monotonic() + busy_timeout()
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
