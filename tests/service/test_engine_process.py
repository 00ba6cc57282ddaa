"""The engine as a process of its own: started detached, answering over its socket,
stopped, exiting when idle, recovered after kill -9 — all with real processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from seedbed.api.protocol import Notification
from seedbed.api.sync_client import SyncClient
from seedbed.core.tasks import create_task, move_before
from seedbed.core.verbs import verb_name
from seedbed.domain.errors import UserError
from seedbed.domain.models import Settings
from seedbed.service import launch
from seedbed.service.engine_process import IDLE_EXIT_ENV, idle_exit_seconds
from seedbed.store.settings import save_settings
from tests.conftest import SeedbedCli, make_repo
from tests.service.conftest import Engines

NEVER_IDLE = {IDLE_EXIT_ENV: "600"}


def status(engines: Engines) -> tuple[int, dict[str, Any]]:
    result = engines.command("engine", "status", "--json")
    return result.returncode, json.loads(result.stdout)


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def heard_task(client: SyncClient, task_id: int, timeout: float = 5.0) -> bool:
    """True once `client` receives a "tasks" notification naming `task_id`."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            note: Notification = client.receive(timeout=left)
        except TimeoutError:
            return False
        if note.params["topic"] == "tasks" and task_id in note.params["payload"]["task_ids"]:
            return True
    return False


def heard(client: SyncClient, topic: str, timeout: float) -> Any:
    """The payload of the first notification of `topic` (None: none within `timeout` s)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            note = client.receive(timeout=left)
        except TimeoutError:
            return None
        if note.params["topic"] == topic:
            return note.params["payload"] if note.params["payload"] is not None else {}
    return None


def test_start_status_call_stop(engines: Engines, data_dir: Path) -> None:
    started_at = time.monotonic()
    started = engines.start(env=NEVER_IDLE)
    with SyncClient.connect(data_dir) as client:
        cards = client.call("merging.board_cards", {})
    print(f"engine start to a first answered call: {time.monotonic() - started_at:.2f} s")
    assert cards == []
    assert started["already_running"] is False

    code, running = status(engines)
    assert code == 0
    assert running["running"] is True
    assert running["pid"] == started["pid"]
    assert running["socket"] == str(data_dir / "engine.sock")
    assert running["running_tasks"] == []
    assert running["clients"] == 1  # the status command itself
    assert running["idle_exit_s"] == 600

    again = engines.start(env=NEVER_IDLE)
    assert again["already_running"] is True and again["pid"] == started["pid"]

    stopped = engines.command("engine", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == f"engine (pid {started['pid']}) stopped"
    assert engines.wait_gone(timeout=0)
    assert not (data_dir / "engine.sock").exists()
    code, gone = status(engines)
    assert code == 1 and gone["running"] is False
    assert "stopped: asked by a client" in (data_dir / "engine.log").read_text()
    assert engines.command("engine", "stop").stdout.strip() == f"no engine runs for {data_dir}"


def test_real_verbs_over_the_socket(
    engines: Engines, seedbed: SeedbedCli, project: str, data_dir: Path
) -> None:
    seedbed.ok("profile", "add", "writer", "--kind", "command", "--command", "echo hi > hi.txt")
    engines.start(env=NEVER_IDLE)
    with SyncClient.connect(data_dir) as client:
        add = verb_name(create_task)
        client.subscribe(["changes"])
        draft = {"project": project, "title": "First", "profile": "writer"}
        first = client.call(add, {"draft": draft})["value"]
        assert first["title"] == "First" and first["state"] == "planned"
        # What the verb changed reaches every client: the task it made.
        assert heard(client, "changes", timeout=5)["tasks"] == [first["id"]]
        second = client.call(add, {"draft": {"project": project, "title": "Second"}})["value"]

        moved = client.call(
            verb_name(move_before), {"task_id": second["id"], "before_id": first["id"]}
        )
        assert moved["value"] is None and second["id"] in moved["changed"]["tasks"]
        cards = client.call("merging.board_cards", {})
        assert [card["task"]["id"] for card in cards] == [second["id"], first["id"]]

        client.subscribe(["events"])
        queued = client.call("tasks.start_task", {"task_id": first["id"]})["value"]
        assert queued["state"] == "running"
        with pytest.raises(UserError, match="no task with id 999"):  # as in-process
            client.call("tasks.start_task", {"task_id": 999})

        def reviewable() -> bool:
            task = client.call("task_detail.task_detail", {"task_id": first["id"]})
            return bool(task["state"] == "awaiting_review")

        wait_for(reviewable, 15, "the started task ran and awaits review")
        heard_events = heard(client, "events", timeout=5)
        assert heard_events is not None
        told = heard_events["runs"][0]
        assert told["task_id"] == first["id"]
        assert told["run_id"] > 0 and 0 <= told["first"] <= told["last"]
    assert "hi.txt" in seedbed.ok("task", "diff", str(first["id"])).out


def test_two_clients_hear_a_move(
    engines: Engines, seedbed: SeedbedCli, project: str, data_dir: Path, tmp_path: Path
) -> None:
    one = int(seedbed.ok("task", "add", "--project", project, "--title", "One").out)
    two = int(seedbed.ok("task", "add", "--project", project, "--title", "Two").out)
    engines.start(env=NEVER_IDLE)
    with SyncClient.connect(data_dir) as mover, SyncClient.connect(data_dir) as watcher:
        mover.subscribe(["tasks"])
        watcher.subscribe(["tasks"])
        mover.call("tasks.move_before", {"task_id": two, "before_id": one})
        assert heard_task(mover, two)
        assert heard_task(watcher, two)
        watcher.subscribe(["projects"])
        make_repo(tmp_path / "other")
        seedbed.ok("project", "add", tmp_path / "other")
        assert heard(watcher, "projects", timeout=5) == {}


def test_an_idle_engine_exits_once_no_client_is_left(engines: Engines, data_dir: Path) -> None:
    engines.start(env={IDLE_EXIT_ENV: "1"})
    with SyncClient.connect(data_dir) as client:
        time.sleep(2.5)  # idle twice over, but a client is connected
        assert client.hello().pid in engines.pids
    assert engines.wait_gone(timeout=10)
    assert "stopped: idle for 1 s with no client" in (data_dir / "engine.log").read_text()


def test_an_engine_whose_data_dir_is_gone_exits(engines: Engines, data_dir: Path) -> None:
    """Its data dir deleted under it (a temporary one cleaned up), an engine left alone
    does not serve nothing for ever: it exits at its next look."""
    pid = engines.start(env={IDLE_EXIT_ENV: "600"})["pid"]
    shutil.rmtree(data_dir)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and "zombie" not in proc_state(pid):
        assert time.monotonic() < deadline, "the engine went on without its data dir"
        time.sleep(0.1)
    data_dir.mkdir()  # for the fixtures' own clean-up


def proc_state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "zombie"  # gone meanwhile
    return next((line for line in status.splitlines() if line.startswith("State:")), "").lower()


def test_the_idle_exit_comes_from_the_setting(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(IDLE_EXIT_ENV, raising=False)
    assert idle_exit_seconds(data_dir) == 600  # 10 minutes unless changed
    save_settings(data_dir, Settings(engine_idle_exit_minutes=2))
    assert idle_exit_seconds(data_dir) == 120
    save_settings(data_dir, Settings(engine_idle_exit_minutes=0))
    assert idle_exit_seconds(data_dir) is None
    monkeypatch.setenv(IDLE_EXIT_ENV, "soon")
    with pytest.raises(UserError, match="number of seconds"):
        idle_exit_seconds(data_dir)


def test_kill_9_then_start_recovers(
    engines: Engines, seedbed: SeedbedCli, project: str, data_dir: Path
) -> None:
    seedbed.ok("profile", "add", "slow", "--kind", "command", "--command", "sleep 8")
    task = int(
        seedbed.ok(
            "task", "add", "--project", project, "--title", "Slow", "--profile", "slow", "--start"
        ).out
    )
    first = engines.start(env=NEVER_IDLE)
    wait_for(
        lambda: launch.status(data_dir).running_tasks == [task],  # type: ignore[union-attr]
        10,
        "the engine runs the task",
    )
    os.kill(first["pid"], signal.SIGKILL)
    assert engines.wait_gone(timeout=10)
    assert (data_dir / "engine.sock").exists()  # left behind: nobody removed it

    second = engines.start(env=NEVER_IDLE)
    assert second["pid"] != first["pid"]
    shown = wait_for(
        lambda: (s := seedbed.show(task))["phase"] == "interrupted" and s, 10, "recovered"
    )
    assert shown["state"] == "awaiting_review"
    assert launch.status(data_dir) is not None
    assert engines.command("engine", "stop").returncode == 0


def test_run_until_idle_serves_the_api(
    engines: Engines, seedbed: SeedbedCli, project: str, data_dir: Path
) -> None:
    seedbed.ok("profile", "add", "nap", "--kind", "command", "--command", "sleep 2")
    seedbed.ok("task", "add", "--project", project, "--title", "Nap", "--profile", "nap", "--start")
    process = engines.spawn("run", "--until-idle")
    hello = wait_for(lambda: launch.answering(data_dir), 10, "`seedbed run` answers hello")
    assert hello.pid == process.pid
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out.splitlines()[-1] == "idle: 1 ready"
    assert launch.answering(data_dir) is None
    assert not (data_dir / "engine.sock").exists()


def test_ensure_engine_starts_one_only_when_none_answers(engines: Engines, data_dir: Path) -> None:
    started_at = time.monotonic()
    endpoint = launch.ensure_engine(data_dir)
    took = time.monotonic() - started_at
    hello = launch.answering(data_dir)
    assert hello is not None
    engines.pids.add(hello.pid)
    print(f"ensure_engine with none running: {took:.2f} s")
    assert endpoint.kind == "unix" and endpoint.path == data_dir / "engine.sock"
    assert launch.ensure_engine(data_dir) == endpoint
    again = launch.answering(data_dir)
    assert again is not None and again.pid == hello.pid
    assert launch.stop(data_dir) == hello.pid
    assert launch.answering(data_dir) is None
