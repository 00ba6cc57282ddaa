"""The Store's queries on tasks (adding, moving, reordering) and on their runs."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Unpack

from seedbed.domain.errors import UserError
from seedbed.domain.lifecycle import check_move, check_phase
from seedbed.domain.models import Phase, Run, RunStatus, Task, TaskChanges, TaskState
from seedbed.store.approving import approve_alive
from seedbed.store.connection import Database
from seedbed.store.rows import (
    CHECK_COLUMNS,
    run_from_row,
    run_values,
    task_from_row,
    task_or_error,
    task_values,
    write_task,
)


class TaskQueries(Database):
    """Tasks and their runs."""

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
            values = task_values(task)
            values["id"] = conn.execute(
                "SELECT MAX(COALESCE((SELECT MAX(id) FROM tasks), 0),"
                " COALESCE((SELECT last_id FROM retired_ids WHERE name = 'tasks'), 0)) + 1"
            ).fetchone()[0]
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
        return task_from_row(row)

    def list_tasks(
        self,
        project_id: int | None = None,
        states: Iterable[TaskState] | None = None,
        phase: Phase | None = None,
        task_ids: Iterable[int] | None = None,
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
        if task_ids is not None:
            ids = list(task_ids)
            where.append(f"id IN ({', '.join('?' for _ in ids)})")
            args.extend(ids)
        sql = "SELECT * FROM tasks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY position, id"
        return [task_from_row(row) for row in self.conn.execute(sql, args).fetchall()]

    def update_task(
        self, task_id: int, expect: TaskState | None = None, **fields: Unpack[TaskChanges]
    ) -> Task:
        """Change fields that are not the state (phase within a state, branch, control …);
        with `expect`, only while the task is still in that state."""
        if "state" in fields:
            raise ValueError("use move_task to change a task's state")
        with self.transaction() as conn:
            task = task_or_error(conn, task_id)
            if expect is not None and task.state != expect:
                raise UserError(
                    f"task {task_id} is {task.state.value} now, not {expect.value}; nothing changed"
                )
            updated = Task.model_validate(
                {**task.model_dump(), **fields, "updated_at": time.time()}
            )
            check_phase(updated.state, updated.phase)
            write_task(conn, updated, fields.keys() | {"updated_at"})
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
            task = task_or_error(conn, task_id)
            if expect is not None and task.state != expect:
                raise UserError(
                    f"task {task_id} is {task.state.value} now, not {expect.value}; nothing changed"
                )
            check_move(task_id, task.state, target)
            check_phase(target, phase)
            if task.phase is Phase.NEEDS_INPUT and not (
                target is TaskState.RUNNING and phase is not Phase.QUEUED
            ):
                # Only the answer (or the run's end) takes it on: its agent still runs.
                raise UserError(
                    f"task {task_id}'s agent waits on your answer: answer it "
                    f"(seedbed task answer {task_id} TEXT) or stop the task first"
                )
            if task.merge_request is not None and target is not TaskState.MERGED:
                if approve_alive(self.path.parent, task_id):
                    raise UserError(
                        f"task {task_id} is being merged (its merge result is queued or "
                        "checked): wait for it to land or fail"
                    )
                fields = {**fields, "merge_request": None}  # that approve's process died
            if target is TaskState.RUNNING and "error" not in fields:
                # Every way back to running (resume, request changes, a fix, a conflict
                # to resolve) starts a new run: the last run's error is no longer news.
                fields = {**fields, "error": ""}
            updated = Task.model_validate(
                {
                    **task.model_dump(),
                    **fields,
                    "state": target,
                    "phase": phase,
                    "updated_at": time.time(),
                }
            )
            write_task(conn, updated, fields.keys() | {"state", "phase", "updated_at"})
        return updated

    def reorder_task(self, task_id: int, before_id: int | None) -> None:
        """Put task_id just before before_id in its project's board order (None: last)."""
        with self.transaction() as conn:
            task = task_or_error(conn, task_id)
            if before_id is not None:
                other = task_or_error(conn, before_id)
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
            values = run_values(run)
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
            run = Run.model_validate({**run_from_row(row).model_dump(), **fields})
            values = run_values(run)
            keys = {"checks"} & fields.keys()
            columns = (fields.keys() - keys) | (CHECK_COLUMNS if keys else set())
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
        return [run_from_row(row) for row in rows]

    def task_of_run(self, run_id: int) -> int | None:
        """The id of the task run `run_id` belongs to; None for no such run."""
        row = self.conn.execute("SELECT task_id FROM runs WHERE id = ?", (run_id,)).fetchone()
        return int(row[0]) if row is not None else None

    def runs_to_watch(self, newer_than: int) -> list[tuple[int, bool]]:
        """(id, still running) of each run that runs now or is newer than `newer_than`:
        what a window following another engine reads the new events of."""
        rows = self.conn.execute(
            "SELECT id, status = ? FROM runs WHERE status = ? OR id > ? ORDER BY id",
            (RunStatus.RUNNING.value, RunStatus.RUNNING.value, newer_than),
        )
        return [(row[0], bool(row[1])) for row in rows.fetchall()]

    def newest_run_id(self) -> int:
        return int(self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0])

    def runs_with_status(self, status: str) -> list[Run]:
        rows = self.conn.execute("SELECT * FROM runs WHERE status = ? ORDER BY id", (status,))
        return [run_from_row(row) for row in rows.fetchall()]
