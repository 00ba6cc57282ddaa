"""What the board holds, read as the command line lists and shows it: projects,
profiles, tasks, their runs and a run's events. Plain reads of the store, no git."""

from __future__ import annotations

from seedbed.core.context import Context
from seedbed.domain.models import AgentProfile, Project, Run, Task, TaskState


def list_projects(ctx: Context) -> list[Project]:
    return ctx.store.list_projects()


def find_project(ctx: Context, ref: str) -> Project:
    """A project by name, or by id; UserError when there is none."""
    return ctx.store.find_project(ref)


def get_project(ctx: Context, project_id: int) -> Project:
    """UserError when there is no such project."""
    return ctx.store.get_project(project_id)


def list_profiles(ctx: Context) -> list[AgentProfile]:
    return ctx.store.list_profiles()


def find_profile(ctx: Context, name: str) -> AgentProfile:
    """A profile by name; UserError when there is none."""
    return ctx.store.find_profile(name)


def list_tasks(
    ctx: Context,
    project_ref: str | None = None,
    state: TaskState | None = None,
    states: list[TaskState] | None = None,
    task_ids: list[int] | None = None,
) -> list[Task]:
    """Tasks in board order: of one project (by name or id), in one state or in `states`,
    among `task_ids` (those of them that exist), if given."""
    project_id = ctx.store.find_project(project_ref).id if project_ref else None
    wanted = [state] if state is not None else states
    return ctx.store.list_tasks(project_id=project_id, states=wanted, task_ids=task_ids)


def get_task(ctx: Context, task_id: int) -> Task:
    return ctx.store.get_task(task_id)


def list_runs(ctx: Context, task_id: int) -> list[Run]:
    """The task's runs, oldest first."""
    return ctx.store.list_runs(task_id)


def read_events(ctx: Context, run_id: int, after_seq: int = -1) -> list[tuple[int, str]]:
    """A run's events after `after_seq`, as (seq, JSON text), oldest first."""
    return ctx.store.read_events(run_id, after_seq)
