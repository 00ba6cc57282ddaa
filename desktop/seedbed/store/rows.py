"""Mapping between SQLite rows and the domain models (projects, profiles, tasks, runs)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentProfile, CheckResult, Project, Run, Task

TASK_COLUMNS = [
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
    "reviewed_commit",
    "merge_base_first",
    "plan",
    "fix_rounds_used",
    "after_ids",  # Task.after, as a JSON list
    "budget_usd",
    "budget_tokens",
    "time_limit_s",
    "reviewer_profile_id",
    "review_verdict",
    "auto_merge",
    "planner_profile_id",
    "auto_approve_plan",
    "parent_id",
    "origin_id",
    "plan_approved",
    "merge_request",  # Task.merge_request, as JSON ('' for none)
]
TASK_FLAGS = (
    "workspace_ready",
    "foreground",
    "plan_first",
    "merge_base_first",
    "auto_merge",
    "auto_approve_plan",
    "plan_approved",
)
CHECK_COLUMNS = {
    "check_status",
    "check_exit_code",
    "check_output_tail",
    "check_tree",
    "check_base",
    "check_commands",
}
RUN_COLUMNS = [
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
    "check_tree",
    "check_base",
    "check_commands",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "context_fill",
    "conversation",
    "progress",
]


Saved = TypeVar("Saved", bound=BaseModel)


def validated(model: type[Saved], data: dict[str, Any]) -> Saved:
    """`model` from saved data. A setting an older Seedbed let through that the model's
    bounds now refuse (a budget of inf, a NaN price saved as null) gets its default, so
    that one such value cannot make every command that reads it fail."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        fields = model.model_fields
        if not bad or any(name not in fields or fields[name].is_required() for name in bad):
            raise
        return model.model_validate({k: v for k, v in data.items() if k not in bad})


# The project's list settings, kept as JSON text.
LIST_COLUMNS = ("copy_globs", "allowed_hosts", "sandbox_paths", "sandbox_env")


def project_from_row(row: sqlite3.Row) -> Project:
    data = dict(row)
    data.pop("created_at")
    for name in LIST_COLUMNS:
        data[name] = json.loads(data[name])
    return validated(Project, data)


def profile_from_row(row: sqlite3.Row) -> AgentProfile:
    config = json.loads(row["config"])
    return validated(AgentProfile, {**config, "id": row["id"], "name": row["name"]})


def task_from_row(row: sqlite3.Row | dict[str, Any]) -> Task:
    data = dict(row)
    for flag in TASK_FLAGS:
        data[flag] = bool(data[flag])
    data["after"] = json.loads(data.pop("after_ids"))
    data["merge_request"] = json.loads(data["merge_request"]) if data["merge_request"] else None
    return validated(Task, data)


def task_values(task: Task) -> dict[str, Any]:
    data = task.model_dump(mode="json")
    for flag in TASK_FLAGS:
        data[flag] = int(data[flag])
    data["after_ids"] = json.dumps(data.pop("after"))
    request = data["merge_request"]
    data["merge_request"] = json.dumps(request) if request is not None else ""
    return {column: data[column] for column in TASK_COLUMNS}


def task_or_error(conn: sqlite3.Connection, task_id: int) -> Task:
    row = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        raise UserError(f"no task with id {task_id}")
    return task_from_row(row)


def write_task(conn: sqlite3.Connection, task: Task, columns: Iterable[str]) -> None:
    values = task_values(task)
    columns = sorted("after_ids" if c == "after" else c for c in columns)
    sets = ", ".join(f"{c} = ?" for c in columns)
    conn.execute(f"UPDATE tasks SET {sets} WHERE id = ?", [values[c] for c in columns] + [task.id])


def run_from_row(row: sqlite3.Row) -> Run:
    data = dict(row)
    data["commit"] = data.pop("commit_sha")
    data["checks"] = CheckResult(
        status=data.pop("check_status"),
        exit_code=data.pop("check_exit_code"),
        output_tail=data.pop("check_output_tail"),
        tree=data.pop("check_tree"),
        base=data.pop("check_base"),
        commands=data.pop("check_commands"),
    )
    return Run.model_validate(data)


def run_values(run: Run) -> dict[str, Any]:
    data = run.model_dump(mode="json")
    data["commit_sha"] = data.pop("commit")
    checks = data.pop("checks")
    data["check_status"] = checks["status"]
    data["check_exit_code"] = checks["exit_code"]
    data["check_output_tail"] = checks["output_tail"]
    data["check_tree"] = checks["tree"]
    data["check_base"] = checks["base"]
    data["check_commands"] = checks["commands"]
    return {column: data[column] for column in RUN_COLUMNS}
