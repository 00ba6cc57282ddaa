"""A database as an older Seedbed left it: the first migrations only, one project and
one task, for the tests of the migrations that follow."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from seedbed.store.schema import MIGRATIONS


def old_database(
    path: Path, version: int, task_state: str = "awaiting_review"
) -> sqlite3.Connection:
    """The first `version` migrations applied to a new file at `path` (user_version set
    as the Store would), with project 1 and its task 1; an open autocommit connection."""
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:version], start=1):
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute(
        "INSERT INTO projects (name, path, base_branch, created_at) VALUES ('p', '/', 'main', 0)"
    )
    phase = {"awaiting_review": "ready", "planned": "draft"}[task_state]
    conn.execute(
        "INSERT INTO tasks (project_id, title, state, phase, position, base_branch,"
        " created_at, updated_at) VALUES (1, 't', ?, ?, 0, 'main', 0, 0)",
        (task_state, phase),
    )
    return conn
