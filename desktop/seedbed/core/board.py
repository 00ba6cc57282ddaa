"""What the window reads to draw itself: projects, agent profiles, tasks and their runs
(blocking, short SQLite reads), and the one write on profiles it does of its own.

Each takes the `Context` explicitly, like every verb (core/context.py): in issue 16's
step 2 the window calls these same verbs over the engine's API instead of its store.
"""

from __future__ import annotations

from collections.abc import Iterable

from seedbed.core.context import Context
from seedbed.domain.models import AgentProfile, Project, Run, Task, TaskState


def list_projects(ctx: Context) -> list[Project]:
    return ctx.store.list_projects()


def get_project(ctx: Context, project_id: int) -> Project:
    """UserError when there is no such project."""
    return ctx.store.get_project(project_id)


def list_profiles(ctx: Context) -> list[AgentProfile]:
    return ctx.store.list_profiles()


def get_task(ctx: Context, task_id: int) -> Task:
    """UserError when there is no such task (it was deleted meanwhile)."""
    return ctx.store.get_task(task_id)


def list_tasks(ctx: Context, states: Iterable[TaskState] | None = None) -> list[Task]:
    """Every project's tasks, or those in `states`."""
    return ctx.store.list_tasks(states=states)


def list_runs(ctx: Context, task_id: int) -> list[Run]:
    """The task's runs, the first first."""
    return ctx.store.list_runs(task_id)
