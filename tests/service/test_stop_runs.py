"""`engine.stop_runs`, what a window closing with "Stop" asks: a real engine process
running a real agent."""

from __future__ import annotations

from pathlib import Path

from seedbed.api.sync_client import SyncClient
from seedbed.service import launch
from seedbed.service.topics import TASKS, RunsStopped
from tests.conftest import SeedbedCli
from tests.service.conftest import Engines
from tests.service.test_engine_process import NEVER_IDLE, wait_for


def start_slow_task(engines: Engines, seedbed: SeedbedCli, project: str, data_dir: Path) -> int:
    seedbed.ok("profile", "add", "slow", "--kind", "command", "--command", "sleep 30")
    task = int(
        seedbed.ok(
            "task", "add", "--project", project, "--title", "Slow", "--profile", "slow", "--start"
        ).out
    )
    engines.start(env=NEVER_IDLE)
    wait_for(
        lambda: launch.status(data_dir).running_tasks == [task],  # type: ignore[union-attr]
        15,
        "the engine runs the task",
    )
    return task


def window(data_dir: Path) -> SyncClient:
    """A client that watches as a window does (subscribed to "tasks")."""
    client = SyncClient.connect(data_dir, client_name="window")
    client.subscribe([TASKS])
    return client


def test_the_last_window_stopping_the_runs_stops_the_engine(
    engines: Engines, seedbed: SeedbedCli, project: str, data_dir: Path
) -> None:
    task = start_slow_task(engines, seedbed, project, data_dir)
    with window(data_dir):  # the closing window; it asks on a connection of its own
        assert launch.stop_runs(data_dir) == RunsStopped(runs=1, engine_stops=True)
        assert engines.wait_gone(timeout=30)
    shown = seedbed.show(task)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
    assert launch.stop_runs(data_dir) is None  # no engine: nothing to stop


def test_with_another_window_open_the_engine_goes_on(
    engines: Engines, seedbed: SeedbedCli, project: str, data_dir: Path
) -> None:
    task = start_slow_task(engines, seedbed, project, data_dir)
    with window(data_dir), window(data_dir):  # the closing window, and another
        assert launch.stop_runs(data_dir) == RunsStopped(runs=1, engine_stops=False)
        wait_for(lambda: seedbed.show(task)["phase"] == "interrupted", 30, "the run stopped")
        status = launch.status(data_dir)
        assert status is not None and status.running_tasks == []
