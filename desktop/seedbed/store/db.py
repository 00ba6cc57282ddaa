"""The Store: every query Seedbed makes, over one SQLite file in WAL mode.

`Store` is the one class callers use. Its connection handling is `connection.Database`
and its queries come in groups: tasks and runs (`tasks`), a run's event log (`events`)
and the board (`board`), the user's MCP servers (`mcp_servers`); projects and profiles
are here. Rows become models in `rows`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from seedbed.domain.errors import UserError
from seedbed.domain.models import SQLITE_MAX_INT, AgentProfile, Project
from seedbed.paths import database_path
from seedbed.store.board import BoardQueries
from seedbed.store.comments import CommentQueries
from seedbed.store.connection import BUSY_TIMEOUT_S
from seedbed.store.events import EventQueries
from seedbed.store.mcp_servers import McpServerQueries
from seedbed.store.questions import QuestionQueries
from seedbed.store.rows import LIST_COLUMNS, profile_from_row, project_from_row
from seedbed.store.tasks import TaskQueries

__all__ = ["BUSY_TIMEOUT_S", "Store"]


class Store(
    TaskQueries, EventQueries, BoardQueries, CommentQueries, McpServerQueries, QuestionQueries
):
    """Persistence for projects, profiles, tasks, runs, events, comments, the user's MCP
    servers and what agents ask."""

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        return cls(database_path(data_dir))

    # -- projects ---------------------------------------------------------------------

    def add_project(self, project: Project) -> Project:
        values = {"name": project.name, "path": str(project.path), **_settings(project)}
        values["created_at"] = time.time()
        names, marks = ", ".join(values), ", ".join("?" for _ in values)
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM projects WHERE name = ?", (project.name,)).fetchone():
                raise UserError(f"a project named {project.name!r} already exists")
            cur = conn.execute(
                f"INSERT INTO projects ({names}) VALUES ({marks})", list(values.values())
            )
        return project.model_copy(update={"id": cur.lastrowid})

    def list_projects(self) -> list[Project]:
        rows = self.conn.execute("SELECT * FROM projects ORDER BY id").fetchall()
        return [project_from_row(row) for row in rows]

    def get_project(self, project_id: int) -> Project:
        row = self.conn.execute("SELECT * FROM projects WHERE id = ?", (project_id,)).fetchone()
        if row is None:
            raise UserError(f"no project with id {project_id}")
        return project_from_row(row)

    def find_project(self, id_or_name: str) -> Project:
        row = self.conn.execute("SELECT * FROM projects WHERE name = ?", (id_or_name,)).fetchone()
        # An id only as SQLite stores them: ASCII digits ("²" is a digit to isdigit, not
        # to int()), at most SQLITE_MAX_INT (a larger one is no project's).
        number = id_or_name.isascii() and id_or_name.isdigit()
        if row is None and number and int(id_or_name) <= SQLITE_MAX_INT:
            row = self.conn.execute(
                "SELECT * FROM projects WHERE id = ?", (int(id_or_name),)
            ).fetchone()
        if row is None:
            raise UserError(f"no project named or numbered {id_or_name!r}")
        return project_from_row(row)

    def update_project(self, project: Project) -> Project:
        """Save a project's settings (not its path or name)."""
        values = _settings(project)
        sets = ", ".join(f"{name} = ?" for name in values)
        with self.transaction() as conn:
            conn.execute(f"UPDATE projects SET {sets} WHERE id = ?", [*values.values(), project.id])
        return project

    def delete_project(self, project_id: int) -> None:
        """Forget a project and its tasks' records (runs, logs, comments); refused while
        one of its tasks runs or awaits review, checked in the same transaction."""
        with self.transaction() as conn:
            active = conn.execute(
                "SELECT id, state FROM tasks WHERE project_id = ?"
                " AND state IN ('running', 'awaiting_review') ORDER BY id",
                (project_id,),
            ).fetchall()
            if active:
                listed = ", ".join(f"#{row['id']} ({row['state']})" for row in active)
                raise UserError(
                    f"tasks of this project are active: {listed}; stop or finish them first"
                )
            conn.execute(
                "INSERT INTO retired_ids (name, last_id) SELECT 'tasks', MAX(id) FROM tasks"
                " WHERE project_id = ? HAVING MAX(id) IS NOT NULL ON CONFLICT (name)"
                " DO UPDATE SET last_id = MAX(last_id, excluded.last_id)",
                (project_id,),
            )
            tasks = "SELECT id FROM tasks WHERE project_id = ?"
            runs = f"SELECT id FROM runs WHERE task_id IN ({tasks})"
            conn.execute(f"DELETE FROM events WHERE run_id IN ({runs})", (project_id,))
            conn.execute(f"DELETE FROM questions WHERE task_id IN ({tasks})", (project_id,))
            conn.execute(f"DELETE FROM runs WHERE task_id IN ({tasks})", (project_id,))
            conn.execute(f"DELETE FROM comments WHERE task_id IN ({tasks})", (project_id,))
            conn.execute("DELETE FROM tasks WHERE project_id = ?", (project_id,))
            conn.execute("DELETE FROM mcp_servers WHERE project_id = ?", (project_id,))
            conn.execute("DELETE FROM projects WHERE id = ?", (project_id,))

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
        return [profile_from_row(row) for row in rows]

    def get_profile(self, profile_id: int) -> AgentProfile:
        row = self.conn.execute("SELECT * FROM profiles WHERE id = ?", (profile_id,)).fetchone()
        if row is None:
            raise UserError(f"no profile with id {profile_id}")
        return profile_from_row(row)

    def find_profile(self, name: str) -> AgentProfile:
        row = self.conn.execute("SELECT * FROM profiles WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UserError(f"no profile named {name!r} (see `seedbed profile list`)")
        return profile_from_row(row)

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
                "SELECT id FROM tasks WHERE ? IN (profile_id, planner_profile_id,"
                " reviewer_profile_id) AND state IN ('planned', 'running', 'awaiting_review')"
                " ORDER BY id",
                (profile_id,),
            ).fetchall()
            if used:
                listed = ", ".join(f"#{row['id']}" for row in used)
                raise UserError(
                    f"{len(used)} task(s) on the board use this profile ({listed}); it is kept"
                )
            # Done tasks and the projects' defaults let go of it (every role).
            for table, columns in (
                ("tasks", ("profile_id", "planner_profile_id", "reviewer_profile_id")),
                ("projects", ("executor_profile_id", "planner_profile_id", "reviewer_profile_id")),
            ):
                for column in columns:
                    conn.execute(
                        f"UPDATE {table} SET {column} = NULL WHERE {column} = ?", (profile_id,)
                    )
            conn.execute("DELETE FROM profiles WHERE id = ?", (profile_id,))


def _settings(project: Project) -> dict[str, Any]:
    """The project's columns that its settings fill (all but id, name, path, created_at):
    one list for adding and saving, so a new setting cannot be written by one only."""
    data = project.model_dump(mode="json", exclude={"id", "name", "path"})
    for name in LIST_COLUMNS:
        data[name] = json.dumps(data[name])
    return data
