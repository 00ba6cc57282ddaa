"""What one run may do through Seedbed's tools is bounded: an agent in a loop fills
neither the board nor the log. The engine's real desk, over a real store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from seedbed.domain.models import Run
from seedbed.engine.desk import MAX_CREATED, EngineDesk
from seedbed.engine.run_log import RunLog
from seedbed.engine.run_state import RunState
from seedbed.store import Store
from seedbed.talkback.tools import ToolRefused
from tests.conftest import SeedbedCli


async def _nothing() -> None:
    return None


def test_a_run_adds_twenty_tasks_at_most_and_reports_progress_once_a_second(
    seedbed: SeedbedCli, project: str, data_dir: Path
) -> None:
    seedbed.ok("profile", "add", "w", "--kind", "command", "--command", "true")
    task_id = int(seedbed.ok("task", "add", "--project", project, "--title", "Busy").out)
    store = Store.open(data_dir)
    changed: list[int] = []

    async def drive() -> tuple[list[str], str, str, str]:
        run_log = RunLog(store, data_dir, None, _nothing)
        state = RunState(store, data_dir, store.get_task(task_id), run_log, changed.append)
        state.run = store.add_run(Run(task_id=task_id, number=1))
        await run_log.begin(state.run.id)
        desk = EngineDesk(state)
        added = [await desk.create_task(f"Part {n}", "", []) for n in range(MAX_CREATED)]
        with pytest.raises(ToolRefused) as refused:
            await desk.create_task("One too many", "", [])
        first = await desk.report_progress("one")
        with pytest.raises(ToolRefused) as soon:
            await desk.report_progress("two")
        run_log.recorder.flush()
        return added, str(refused.value), first, str(soon.value)

    added, refused, first, soon = asyncio.run(drive())

    assert len(added) == MAX_CREATED and refused.startswith("a run adds 20 tasks at most")
    titles = [t.title for t in store.list_tasks() if t.origin_id == task_id]
    assert len(titles) == MAX_CREATED and "One too many" not in titles
    assert first == "shown on your task's card"
    assert soon.startswith("progress is shown at most once every 1 s")
    assert store.list_runs(task_id)[0].progress == "one"
    store.close()
