"""Budgets the engine enforces itself: per task and per project, tokens and dollars; per
task, a time limit on its runs. Past one, the run is stopped (its work committed) with a
reason that names the budget (Qt-free)."""

from __future__ import annotations

import time

from pydantic import Field

from seedbed.domain.models import Model, Project, Run, Task
from seedbed.store import Store


class Spent(Model):
    """What runs have used so far."""

    tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = Field(0.0, description="Agent time: each run's start to its end (or now).")


def spent(runs: list[Run], now: float | None = None) -> Spent:
    now = time.time() if now is None else now
    total = Spent()
    for run in runs:
        total.tokens += run.tokens_in + run.tokens_out
        total.cost_usd += run.cost_usd
        if run.started_at:
            total.seconds += max(0.0, (run.ended_at or now) - run.started_at)
    return total


def project_runs(store: Store, project_id: int) -> list[Run]:
    return [run for task in store.list_tasks(project_id) for run in store.list_runs(task.id)]


def over_budget(
    project: Project, task: Task, by_task: Spent, by_project: Spent, running: bool = False
) -> str:
    """The budget that is used up, said plainly; "" while every one holds. A run that is
    going is stopped once it goes past a budget (the call that reaches it exactly may
    have been its last); one is not started once a budget is reached."""

    def past(used: float, limit: float) -> bool:
        return bool(limit) and (used > limit if running else used >= limit)

    if past(by_task.cost_usd, task.budget_usd):
        return f"cost budget reached: ${by_task.cost_usd:.2f} of the task's ${task.budget_usd:.2f}"
    if past(by_task.tokens, task.budget_tokens):
        return (
            f"token budget reached: {by_task.tokens:,} of the task's {task.budget_tokens:,} tokens"
        )
    if past(by_task.seconds, task.time_limit_s):
        return (
            f"time limit reached: {by_task.seconds / 60:.1f} of the task's "
            f"{task.time_limit_s / 60:.1f} minutes"
        )
    if past(by_project.cost_usd, project.budget_usd):
        return (
            f"project cost budget reached: ${by_project.cost_usd:.2f} of "
            f"{project.name}'s ${project.budget_usd:.2f}"
        )
    if past(by_project.tokens, project.budget_tokens):
        return (
            f"project token budget reached: {by_project.tokens:,} of "
            f"{project.name}'s {project.budget_tokens:,} tokens"
        )
    return ""


def check_budget(store: Store, project: Project, task: Task, running: bool = False) -> str:
    """`over_budget` from the store's runs (blocking: one read per run list)."""
    by_task = spent(store.list_runs(task.id))
    by_project = (
        spent(project_runs(store, project.id))
        if project.budget_usd or project.budget_tokens
        else Spent()
    )
    return over_budget(project, task, by_task, by_project, running)
