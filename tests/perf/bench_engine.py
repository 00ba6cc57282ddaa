"""The engine end to end: tasks through the whole lifecycle, and event ingest."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness import Figures, benchmark, cli, cli_subprocess, log, make_repo, temp_dir

PROJECT = "bench"


def _set_up(tmp: Path, repo_files: int, profile_command: str) -> Path:
    """A repository, a data dir with it as project `bench`, and one command profile."""
    repo = make_repo(tmp / "repo", repo_files)
    data_dir = tmp / "data"
    data_dir.mkdir()
    cli(data_dir, "project", "add", repo, "--name", PROJECT)
    cli(data_dir, "profile", "add", "agent", "--kind", "command", "--command", profile_command)
    return data_dir


def _add_task(data_dir: Path, title: str) -> int:
    return int(cli(data_dir, "task", "add", "--project", PROJECT, "--title", title, "--start"))


def _run_until_idle(data_dir: Path, max_parallel: int) -> float:
    """Wall seconds of `seedbed run --until-idle` as a real process, start to exit."""
    start = time.perf_counter()
    cli_subprocess(data_dir, "run", "--max-parallel", str(max_parallel), "--until-idle")
    return time.perf_counter() - start


def _tasks(data_dir: Path) -> list[dict[str, Any]]:
    return json.loads(cli(data_dir, "task", "list", "--json"))


def _require_ready(tasks: list[dict[str, Any]], expected: int) -> None:
    done = [t for t in tasks if (t["state"], t["phase"]) == ("awaiting_review", "ready")]
    if len(tasks) != expected or len(done) != expected:
        others = [t for t in tasks if t not in done]
        for t in others[:5]:
            log(f"task {t['id']} ended {t['state']}/{t['phase']}: {t.get('error') or '-'}")
        raise RuntimeError(
            f"{len(done)} of {expected} tasks ended awaiting_review/ready "
            f"({len(tasks)} tasks on the board); the first few others are logged above"
        )


@benchmark("lifecycle_tasks_per_min", order=20)
def lifecycle_tasks_per_min(quick: bool) -> Figures:
    n_tasks = 20 if quick else 100
    with temp_dir("lifecycle") as tmp:
        data_dir = _set_up(tmp, 50, "echo done > done-$SEEDBED_TASK_ID.txt")
        for i in range(n_tasks):
            _add_task(data_dir, f"Task number {i + 1}")
        log(f"{n_tasks} tasks queued; running the engine with --max-parallel 8")
        seconds = _run_until_idle(data_dir, 8)
        log(f"the engine exited after {seconds:.2f}s ({n_tasks / seconds * 60:.1f} tasks/min)")
        tasks = _tasks(data_dir)
        _require_ready(tasks, n_tasks)
        for task in tasks:
            marker = Path(task["worktree"]) / f"done-{task['id']}.txt"
            if not marker.is_file():
                raise RuntimeError(f"task {task['id']}: the agent's file {marker} is missing")
    return {
        "lifecycle_tasks_per_min": round(n_tasks / seconds * 60, 1),
        "lifecycle_s": round(seconds, 2),
    }


@benchmark("event_ingest_per_s", order=30)
def event_ingest_per_s(quick: bool) -> Figures:
    from seedbed.store import Store

    lines = 50_000 if quick else 200_000
    with temp_dir("ingest") as tmp:
        data_dir = _set_up(tmp, 10, f"seq 1 {lines}")
        task_id = _add_task(data_dir, "Print many lines")
        log(f"one task printing {lines} lines")
        wall = _run_until_idle(data_dir, 1)
        _require_ready(_tasks(data_dir), 1)
        store = Store.open(data_dir)
        try:
            runs = store.list_runs(task_id)
            if len(runs) != 1:
                raise RuntimeError(f"expected one run, found {len(runs)}")
            run = runs[0]
            persisted = store.count_events(run.id)
        finally:
            store.close()
    if persisted < lines:
        raise RuntimeError(f"only {persisted} events persisted for {lines} lines printed")
    if run.started_at is None or run.ended_at is None:
        raise RuntimeError("the run has no start or end time")
    run_s = run.ended_at - run.started_at
    log(f"{persisted} events persisted; run took {run_s:.2f}s, the engine process {wall:.2f}s")
    return {
        "event_ingest_per_s": round(lines / run_s),
        "event_ingest_run_s": round(run_s, 2),
        "event_ingest_wall_s": round(wall, 2),
    }
