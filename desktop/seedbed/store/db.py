"""The Store: every query Seedbed makes, over one SQLite file in WAL mode.

Each thread gets its own connection (sqlite3 connections must not cross threads).
Writes are short `BEGIN IMMEDIATE` transactions, so two Seedbed processes on one data
dir wait for each other (busy timeout) instead of corrupting anything.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from seedbed.domain.errors import UserError
from seedbed.domain.lifecycle import check_move, check_phase
from seedbed.domain.models import (
    AgentProfile,
    Card,
    CheckResult,
    CheckStatus,
    Phase,
    Project,
    Run,
    Task,
    TaskState,
)
from seedbed.store.schema import MIGRATIONS

BUSY_TIMEOUT_S = 30.0

_TASK_COLUMNS = [
    "id",
    "project_id",
    "title",
    "prompt",
    "state",
    "phase",
    "position",
    "profile_id",
    "branch",
    "worktree",
    "base_branch",
    "workspace_ready",
    "pending_kind",
    "pending_message",
    "control",
    "error",
    "created_at",
    "updated_at",
    "foreground",
    "plan_first",
    "diff_files",
    "diff_insertions",
    "diff_deletions",
]
_TASK_FLAGS = ("workspace_ready", "foreground", "plan_first")
_RUN_COLUMNS = [
    "id",
    "task_id",
    "number",
    "kind",
    "status",
    "exit_code",
    "reason",
    "follow_up",
    "pid",
    "started_at",
    "ended_at",
    "commit_sha",
    "check_status",
    "check_exit_code",
    "check_output_tail",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "context_fill",
    "conversation",
]


class Store:
    """Persistence for projects, profiles, tasks, runs, events and comments."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate()

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        return cls(data_dir / "seedbed.db")

    # -- connections and transactions -------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
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
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self) -> None:
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

    # -- projects ---------------------------------------------------------------------

    def add_project(self, project: Project) -> Project:
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM projects WHERE name = ?", (project.name,)).fetchone():
                raise UserError(f"a project named {project.name!r} already exists")
            cur = conn.execute(
                "INSERT INTO projects (name, path, base_branch, setup_command, check_command,"
                " copy_globs, diff_budget, check_timeout, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    project.name,
                    str(project.path),
                    project.base_branch,
                    project.setup_command,
                    project.check_command,
                    json.dumps(project.copy_globs),
                    project.diff_budget,
                    project.check_timeout,
                    time.time(),
                ),
            )
        return project.model_copy(update={"id": cur.lastrowid})

    def list_projects(self) -> list[Project]:
        rows = self.conn.execute("SELECT * FROM projects ORDER BY id").fetchall()
        return [_project(row) for row in rows]

    def get_project(self, project_id: int) -> Project:
        row = self.conn.execute("SELECT * FROM projects WHERE id = ?", (project_id,)).fetchone()
        if row is None:
            raise UserError(f"no project with id {project_id}")
        return _project(row)

    def find_project(self, id_or_name: str) -> Project:
        row = self.conn.execute("SELECT * FROM projects WHERE name = ?", (id_or_name,)).fetchone()
        if row is None and id_or_name.isdigit():
            row = self.conn.execute(
                "SELECT * FROM projects WHERE id = ?", (int(id_or_name),)
            ).fetchone()
        if row is None:
            raise UserError(f"no project named or numbered {id_or_name!r}")
        return _project(row)

    # -- profiles ---------------------------------------------------------------------

    def add_profile(self, profile: AgentProfile) -> AgentProfile:
        config = profile.model_dump_json(exclude={"id", "name"})
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM profiles WHERE name = ?", (profile.name,)).fetchone():
                raise UserError(f"a profile named {profile.name!r} already exists")
            cur = conn.execute(
                "INSERT INTO profiles (name, kind, config, created_at) VALUES (?, ?, ?, ?)",
                (profile.name, profile.kind.value, config, time.time()),
            )
        return profile.model_copy(update={"id": cur.lastrowid})

    def list_profiles(self) -> list[AgentProfile]:
        rows = self.conn.execute("SELECT * FROM profiles ORDER BY id").fetchall()
        return [_profile(row) for row in rows]

    def get_profile(self, profile_id: int) -> AgentProfile:
        row = self.conn.execute("SELECT * FROM profiles WHERE id = ?", (profile_id,)).fetchone()
        if row is None:
            raise UserError(f"no profile with id {profile_id}")
        return _profile(row)

    def find_profile(self, name: str) -> AgentProfile:
        row = self.conn.execute("SELECT * FROM profiles WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UserError(f"no profile named {name!r} (see `seedbed profile list`)")
        return _profile(row)

    # -- tasks ------------------------------------------------------------------------

    def add_task(self, task: Task) -> Task:
        now = time.time()
        with self.transaction() as conn:
            top = conn.execute(
                "SELECT COALESCE(MAX(position), -1) FROM tasks WHERE project_id = ?",
                (task.project_id,),
            ).fetchone()[0]
            task = task.model_copy(
                update={"position": top + 1, "created_at": now, "updated_at": now}
            )
            values = _task_values(task)
            del values["id"]
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            cur = conn.execute(
                f"INSERT INTO tasks ({names}) VALUES ({marks})", list(values.values())
            )
        return task.model_copy(update={"id": cur.lastrowid})

    def get_task(self, task_id: int) -> Task:
        row = self.conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise UserError(f"no task with id {task_id}")
        return _task(row)

    def list_tasks(
        self,
        project_id: int | None = None,
        states: Iterable[TaskState] | None = None,
        phase: Phase | None = None,
    ) -> list[Task]:
        where: list[str] = []
        args: list[Any] = []
        if project_id is not None:
            where.append("project_id = ?")
            args.append(project_id)
        if states is not None:
            state_list = [s.value for s in states]
            where.append(f"state IN ({', '.join('?' for _ in state_list)})")
            args.extend(state_list)
        if phase is not None:
            where.append("phase = ?")
            args.append(phase.value)
        sql = "SELECT * FROM tasks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY position, id"
        return [_task(row) for row in self.conn.execute(sql, args).fetchall()]

    def update_task(self, task_id: int, expect: TaskState | None = None, **fields: Any) -> Task:
        """Change fields that are not the state (phase within a state, branch, control …);
        with `expect`, only while the task is still in that state."""
        if "state" in fields:
            raise ValueError("use move_task to change a task's state")
        with self.transaction() as conn:
            task = _task_or_error(conn, task_id)
            if expect is not None and task.state != expect:
                raise UserError(
                    f"task {task_id} is {task.state.value} now, not {expect.value}; nothing changed"
                )
            updated = Task.model_validate(
                {**task.model_dump(), **fields, "updated_at": time.time()}
            )
            check_phase(updated.state, updated.phase)
            _write_task(conn, updated, fields.keys() | {"updated_at"})
        return updated

    def move_task(
        self,
        task_id: int,
        target: TaskState,
        phase: Phase,
        expect: TaskState | None = None,
        **fields: Any,
    ) -> Task:
        """Move a task to another column, atomically checking the lifecycle.

        `expect` guards against a race with another process: the move happens only
        if the task is still in that state.
        """
        with self.transaction() as conn:
            task = _task_or_error(conn, task_id)
            if expect is not None and task.state != expect:
                raise UserError(
                    f"task {task_id} is {task.state.value} now, not {expect.value}; nothing changed"
                )
            check_move(task_id, task.state, target)
            check_phase(target, phase)
            updated = Task.model_validate(
                {
                    **task.model_dump(),
                    **fields,
                    "state": target,
                    "phase": phase,
                    "updated_at": time.time(),
                }
            )
            _write_task(conn, updated, fields.keys() | {"state", "phase", "updated_at"})
        return updated

    def reorder_task(self, task_id: int, before_id: int | None) -> None:
        """Put task_id just before before_id in its project's board order (None: last)."""
        with self.transaction() as conn:
            task = _task_or_error(conn, task_id)
            if before_id is not None:
                other = _task_or_error(conn, before_id)
                if task.project_id != other.project_id:
                    raise UserError(f"tasks {task_id} and {before_id} belong to different projects")
            if task_id == before_id:
                return
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM tasks WHERE project_id = ? ORDER BY position, id",
                    (task.project_id,),
                )
            ]
            ids.remove(task_id)
            ids.insert(len(ids) if before_id is None else ids.index(before_id), task_id)
            conn.executemany(
                "UPDATE tasks SET position = ? WHERE id = ?",
                [(i, tid) for i, tid in enumerate(ids)],
            )

    # -- runs -------------------------------------------------------------------------

    def add_run(self, run: Run) -> Run:
        with self.transaction() as conn:
            number = conn.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM runs WHERE task_id = ?", (run.task_id,)
            ).fetchone()[0]
            run = run.model_copy(update={"number": number})
            values = _run_values(run)
            del values["id"]
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            cur = conn.execute(
                f"INSERT INTO runs ({names}) VALUES ({marks})", list(values.values())
            )
        return run.model_copy(update={"id": cur.lastrowid})

    def update_run(self, run_id: int, **fields: Any) -> Run:
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise UserError(f"no run with id {run_id}")
            run = Run.model_validate({**_run(row).model_dump(), **fields})
            values = _run_values(run)
            keys = {"checks"} & fields.keys()
            columns = (fields.keys() - keys) | (
                {"check_status", "check_exit_code", "check_output_tail"} if keys else set()
            )
            columns = {"commit_sha" if c == "commit" else c for c in columns}
            sets = ", ".join(f"{c} = ?" for c in columns)
            conn.execute(
                f"UPDATE runs SET {sets} WHERE id = ?", [values[c] for c in columns] + [run_id]
            )
        return run

    def list_runs(self, task_id: int) -> list[Run]:
        rows = self.conn.execute(
            "SELECT * FROM runs WHERE task_id = ? ORDER BY number", (task_id,)
        ).fetchall()
        return [_run(row) for row in rows]

    def runs_with_status(self, status: str) -> list[Run]:
        rows = self.conn.execute("SELECT * FROM runs WHERE status = ? ORDER BY id", (status,))
        return [_run(row) for row in rows.fetchall()]

    # -- events -----------------------------------------------------------------------

    def append_events(
        self, run_id: int, first_seq: int, rows: list[tuple[float, str, str, bool]]
    ) -> None:
        """Append (ts, kind, json, shown) rows numbered from first_seq, in one transaction.

        Shown events also get a log row number (0, 1, … per run): the window's log is a
        list over those, so row N is one indexed lookup however long the run. Streamed
        text pieces are not shown (the whole answer follows them) and get no row.
        """
        with self.transaction() as conn:
            next_row = conn.execute(
                "SELECT COALESCE(MAX(row), -1) + 1 FROM events"
                " WHERE run_id = ? AND row IS NOT NULL",
                (run_id,),
            ).fetchone()[0]
            values = []
            for i, (ts, kind, data, shown) in enumerate(rows):
                row = None
                if shown:
                    row, next_row = next_row, next_row + 1
                values.append((run_id, first_seq + i, ts, kind, data, row))
            conn.executemany(
                "INSERT INTO events (run_id, seq, ts, kind, data, row) VALUES (?, ?, ?, ?, ?, ?)",
                values,
            )

    def read_events(
        self, run_id: int, after_seq: int = -1, limit: int = 10_000
    ) -> list[tuple[int, str]]:
        """(seq, json) pairs after after_seq, oldest first."""
        rows = self.conn.execute(
            "SELECT seq, data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after_seq, limit),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def count_events(self, run_id: int) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM events WHERE run_id = ?", (run_id,))
        return int(row.fetchone()[0])

    def count_log_rows(self, run_id: int) -> int:
        """How many events a log view shows for the run (an index lookup, not a scan)."""
        row = self.conn.execute(
            "SELECT MAX(row) FROM events WHERE run_id = ? AND row IS NOT NULL", (run_id,)
        ).fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def read_log_rows(self, run_id: int, first_row: int, limit: int) -> list[tuple[int, int, str]]:
        """(row, seq, json) of the shown events from first_row on."""
        rows = self.conn.execute(
            "SELECT row, seq, data FROM events WHERE run_id = ? AND row >= ? AND row IS NOT NULL"
            " ORDER BY row LIMIT ?",
            (run_id, first_row, limit),
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def tool_results_after(self, run_id: int, row: int, window: int) -> list[str]:
        """The tool_result events among the `window` log rows after `row` (a tool call's
        result is near it): only those rows' JSON is read, not every row's."""
        rows = self.conn.execute(
            "SELECT data FROM events WHERE run_id = ? AND row > ? AND row <= ?"
            " AND row IS NOT NULL AND kind = 'tool_result' ORDER BY row LIMIT 64",
            (run_id, row, row + window),
        ).fetchall()
        return [r[0] for r in rows]

    def read_pending_text(self, run_id: int, limit: int = 4000) -> str:
        """The streamed text after the run's last shown event: an answer being written."""
        rows = self.conn.execute(
            "SELECT data FROM events WHERE run_id = ? AND row IS NULL AND seq > COALESCE("
            " (SELECT seq FROM events WHERE run_id = ? AND row IS NOT NULL"
            "  ORDER BY row DESC LIMIT 1), -1) ORDER BY seq LIMIT ?",
            (run_id, run_id, limit),
        ).fetchall()
        return "".join(json.loads(r[0]).get("text", "") for r in rows)

    def search_log_rows(
        self, run_id: int, needle: str, after_row: int, limit: int = 200, backward: bool = False
    ) -> list[tuple[int, str]]:
        """(row, json) of shown events whose JSON holds needle (ASCII case-insensitive),
        after after_row, or before it, nearest first, when backward.

        The needle is matched as it is written inside a JSON string (quotes and
        backslashes escaped), so a search for `say "hi"` finds it. Keys match too: the
        caller checks each candidate's text."""
        escaped = json.dumps(needle, ensure_ascii=False)[1:-1]
        order, compare = ("DESC", "<") if backward else ("ASC", ">")
        rows = self.conn.execute(
            f"SELECT row, data FROM events WHERE run_id = ? AND row IS NOT NULL AND row {compare} ?"
            f" AND instr(lower(data), lower(?)) > 0 ORDER BY row {order} LIMIT ?",
            (run_id, after_row, escaped, limit),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    # -- the board --------------------------------------------------------------------

    def cards(
        self, project_id: int | None = None, task_ids: Iterable[int] | None = None
    ) -> list[Card]:
        """Tasks with their runs summed up, in board order, in one query."""
        where: list[str] = ["t.state != 'discarded'"]
        args: list[Any] = []
        if project_id is not None:
            where.append("t.project_id = ?")
            args.append(project_id)
        if task_ids is not None:
            ids = list(task_ids)
            where.append(f"t.id IN ({', '.join('?' for _ in ids)})")
            args.extend(ids)
        sql = (
            "SELECT t.*, p.name AS profile_name,"
            " (SELECT COUNT(*) FROM runs r WHERE r.task_id = t.id) AS run_count,"
            " (SELECT COALESCE(SUM(tokens_in), 0) FROM runs r WHERE r.task_id = t.id) AS s_in,"
            " (SELECT COALESCE(SUM(tokens_out), 0) FROM runs r WHERE r.task_id = t.id) AS s_out,"
            " (SELECT COALESCE(SUM(cost_usd), 0) FROM runs r WHERE r.task_id = t.id) AS s_cost,"
            " l.id AS l_id, l.context_fill AS l_fill, l.check_status AS l_check,"
            " l.started_at AS l_start, l.ended_at AS l_end"
            " FROM tasks t LEFT JOIN profiles p ON p.id = t.profile_id"
            " LEFT JOIN runs l ON l.id = (SELECT MAX(id) FROM runs r WHERE r.task_id = t.id)"
            f" WHERE {' AND '.join(where)} ORDER BY t.position, t.id"
        )
        cards = []
        for row in self.conn.execute(sql, args).fetchall():
            data = dict(row)
            cards.append(
                Card(
                    task=_task({c: data[c] for c in _TASK_COLUMNS}),
                    profile_name=data["profile_name"] or "",
                    runs=data["run_count"],
                    tokens_in=data["s_in"],
                    tokens_out=data["s_out"],
                    cost_usd=data["s_cost"],
                    context_fill=data["l_fill"] or 0.0,
                    check_status=data["l_check"] or CheckStatus.NONE,
                    run_started_at=data["l_start"],
                    run_ended_at=data["l_end"],
                    last_run_id=data["l_id"],
                )
            )
        return cards

    def task_versions(self) -> dict[int, tuple[float, int, float, int]]:
        """Per task: (updated_at, position, tokens so far, runs): what tells a board that
        a card changed (a reorder changes positions only)."""
        rows = self.conn.execute(
            "SELECT t.id, t.updated_at, t.position,"
            " (SELECT COALESCE(SUM(tokens_in + tokens_out), 0) + COALESCE(SUM(context_fill), 0)"
            "  FROM runs r WHERE r.task_id = t.id),"
            " (SELECT COUNT(*) FROM runs r WHERE r.task_id = t.id)"
            " FROM tasks t"
        ).fetchall()
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    def last_events(self, run_ids: Iterable[int]) -> dict[int, int]:
        """The newest event's seq of each run that has any."""
        ids = list(run_ids)
        if not ids:
            return {}
        rows = self.conn.execute(
            f"SELECT run_id, MAX(seq) FROM events WHERE run_id IN ({', '.join('?' for _ in ids)})"
            " GROUP BY run_id",
            ids,
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def update_project(self, project: Project) -> Project:
        """Save a project's settings (not its path or name)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE projects SET base_branch = ?, setup_command = ?, check_command = ?,"
                " copy_globs = ?, diff_budget = ?, check_timeout = ? WHERE id = ?",
                (
                    project.base_branch,
                    project.setup_command,
                    project.check_command,
                    json.dumps(project.copy_globs),
                    project.diff_budget,
                    project.check_timeout,
                    project.id,
                ),
            )
        return project

    def update_profile(self, profile: AgentProfile) -> AgentProfile:
        config = profile.model_dump_json(exclude={"id", "name"})
        with self.transaction() as conn:
            clash = conn.execute(
                "SELECT 1 FROM profiles WHERE name = ? AND id != ?", (profile.name, profile.id)
            ).fetchone()
            if clash:
                raise UserError(f"a profile named {profile.name!r} already exists")
            conn.execute(
                "UPDATE profiles SET name = ?, kind = ?, config = ? WHERE id = ?",
                (profile.name, profile.kind.value, config, profile.id),
            )
        return profile

    def delete_profile(self, profile_id: int) -> None:
        with self.transaction() as conn:
            used = conn.execute(
                "SELECT COUNT(*) FROM tasks WHERE profile_id = ? AND state IN"
                " ('planned', 'running', 'awaiting_review')",
                (profile_id,),
            ).fetchone()[0]
            if used:
                raise UserError(f"{used} task(s) on the board use this profile; it is kept")
            conn.execute("UPDATE tasks SET profile_id = NULL WHERE profile_id = ?", (profile_id,))
            conn.execute("DELETE FROM profiles WHERE id = ?", (profile_id,))


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode (a no-op once it is).

    Switching a fresh file needs it to itself for a moment, and SQLite answers
    "database is locked" at once instead of waiting on the busy timeout, so two
    processes opening a new data dir together would crash; retry instead.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


# -- row mapping ----------------------------------------------------------------------


def _project(row: sqlite3.Row) -> Project:
    data = dict(row)
    data.pop("created_at")
    data["copy_globs"] = json.loads(data["copy_globs"])
    return Project.model_validate(data)


def _profile(row: sqlite3.Row) -> AgentProfile:
    config = json.loads(row["config"])
    return AgentProfile.model_validate({**config, "id": row["id"], "name": row["name"]})


def _task(row: sqlite3.Row) -> Task:
    data = dict(row)
    for flag in _TASK_FLAGS:
        data[flag] = bool(data[flag])
    return Task.model_validate(data)


def _task_values(task: Task) -> dict[str, Any]:
    data = task.model_dump(mode="json")
    for flag in _TASK_FLAGS:
        data[flag] = int(data[flag])
    return {column: data[column] for column in _TASK_COLUMNS}


def _task_or_error(conn: sqlite3.Connection, task_id: int) -> Task:
    row = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        raise UserError(f"no task with id {task_id}")
    return _task(row)


def _write_task(conn: sqlite3.Connection, task: Task, columns: Iterable[str]) -> None:
    values = _task_values(task)
    columns = sorted(columns)
    sets = ", ".join(f"{c} = ?" for c in columns)
    conn.execute(f"UPDATE tasks SET {sets} WHERE id = ?", [values[c] for c in columns] + [task.id])


def _run(row: sqlite3.Row) -> Run:
    data = dict(row)
    data["commit"] = data.pop("commit_sha")
    data["checks"] = CheckResult(
        status=data.pop("check_status"),
        exit_code=data.pop("check_exit_code"),
        output_tail=data.pop("check_output_tail"),
    )
    return Run.model_validate(data)


def _run_values(run: Run) -> dict[str, Any]:
    data = run.model_dump(mode="json")
    data["commit_sha"] = data.pop("commit")
    checks = data.pop("checks")
    data["check_status"] = checks["status"]
    data["check_exit_code"] = checks["exit_code"]
    data["check_output_tail"] = checks["output_tail"]
    return {column: data[column] for column in _RUN_COLUMNS}
