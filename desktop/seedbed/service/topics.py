"""What the engine publishes, by topic, each payload a pydantic model; and its own verbs.

- "tasks": tasks' cards changed (new, edited, moved, gone): their ids.
- "projects": the projects or the agent profiles changed: nothing more.
- "events": runs' events were written: which runs, of which tasks, their seqs and how
  many log rows each shows now.
- "changes": what a verb called over the API said it changed (core's `Changed`).

A client reloads what it shows of a task, a project list or a log from these; they are
hints, never the data itself. "tasks" and "events" are gathered and each change told
once (service/publisher.py), at most every 0.05 s.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# The engine's own verbs (beside core's): what it is, stopping it, stopping its runs.
STATUS = "engine.status"
STOP = "engine.stop"
STOP_RUNS = "engine.stop_runs"

TASKS = "tasks"
PROJECTS = "projects"
EVENTS = "events"
CHANGES = "changes"
TOPICS = (TASKS, PROJECTS, EVENTS, CHANGES)


class TasksChanged(BaseModel):
    """These tasks' cards changed (new, edited, moved, gone)."""

    model_config = ConfigDict(frozen=True)

    task_ids: list[int]


class EventsWritten(BaseModel):
    """Events `first`..`last` (seqs, both included) of run `run_id` are in the store;
    `rows`: how many of the run's events a log view shows now (`log_row_count`), so a
    client following the log grows it without asking (None: not told, ask)."""

    model_config = ConfigDict(frozen=True)

    task_id: int
    run_id: int
    first: int
    last: int
    rows: int | None = None


class RunsWritten(BaseModel):
    """What "events" carries: the runs with new events since the last notification."""

    model_config = ConfigDict(frozen=True)

    runs: list[EventsWritten]


class EngineStatus(BaseModel):
    """What `engine.status` answers."""

    pid: int
    version: str
    data_dir: str
    socket: str
    started_at: float  # seconds since the epoch
    uptime_s: float
    running_tasks: list[int]  # the tasks whose run this engine drives now
    queued_tasks: int  # tasks waiting for a free slot
    clients: int  # connections now, the asking one included
    idle_exit_s: float | None  # how long it waits, idle, before it exits (None: never)


class RunsStopped(BaseModel):
    """What `engine.stop_runs` answers: how many runs it stops, and whether the engine
    stops with them (no other window watches)."""

    runs: int
    engine_stops: bool
