"""The bridge and the engine host: a real engine serving its socket, real queued signals."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from seedbed.core import reads, tasks
from seedbed.domain.errors import UserError
from seedbed.service import launch
from seedbed.store.lock import engine_running
from seedbed.ui.common.bridge import COALESCE_MS, Bridge
from seedbed.ui.common.host import ENGINE, LOST, EngineHost
from tests.conftest import SeedbedCli
from tests.ui.conftest import ThreadEngine


def test_a_flood_from_another_thread_arrives_coalesced(qtbot: QtBot) -> None:
    bridge = Bridge()
    tasks: list[list[int]] = []
    events: list[dict[int, int]] = []
    arrived: list[float] = []
    bridge.tasks_changed.connect(tasks.append)
    bridge.events_appended.connect(
        lambda batch: (events.append(batch), arrived.append(time.monotonic()))
    )

    def flood() -> None:
        # ~0.6 s of notes from 20 runs while the GUI thread keeps running.
        for i in range(30_000):
            bridge.note_events(i % 20, i, i)
            if i % 1000 == 0:
                bridge.note_task(i // 1000)
                time.sleep(0.02)

    thread = threading.Thread(target=flood)
    started = time.monotonic()
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=10_000)
    flood_ended = time.monotonic()
    qtbot.waitUntil(lambda: bool(events) and events[-1].get(19) == 29_999)
    elapsed = time.monotonic() - started
    # Batches arrived while the flood went on, not all at its end …
    assert sum(1 for t in arrived if t < flood_ended) >= 3
    # … and 30,000 notes became at most one signal per 50 ms, each carrying the newest
    # seq per run.
    assert len(events) <= elapsed * 1000 / COALESCE_MS + 2
    merged: dict[int, int] = {}
    for batch in events:
        merged.update(batch)
    assert merged == {run: 29_980 + run for run in range(20)}
    assert sorted({t for batch in tasks for t in batch}) == list(range(30))


def test_the_rows_told_with_events_arrive_with_them(qtbot: QtBot) -> None:
    """Each run of a burst with its largest count told; None for a run told without one
    (its log asks), even when another note of the burst told a count."""
    bridge = Bridge()
    with (
        qtbot.waitSignal(bridge.events_appended) as events,
        qtbot.waitSignal(bridge.rows_appended) as rows,
    ):
        bridge.note_events(1, 0, 9, 7)
        bridge.note_events(1, 10, 19, 15)
        bridge.note_events(2, 0, 4, 3)
        bridge.note_events(2, 5, 6, None)
        bridge.note_events(3, 0, 0)
    assert events.args == [{1: 19, 2: 6, 3: 0}]
    assert rows.args == [{1: 15, 2: None, 3: None}]


def test_calls_return_on_the_gui_thread(qtbot: QtBot, data_dir: Path, engine: ThreadEngine) -> None:
    bridge = Bridge()
    host = EngineHost(data_dir, bridge)
    host.start()
    try:
        seen: list[tuple[object, bool]] = []
        gui = threading.get_ident()

        def done(value: object) -> None:
            seen.append((value, threading.get_ident() == gui))

        def fail(error: BaseException) -> None:
            seen.append((str(error), threading.get_ident() == gui))

        host.call(lambda: threading.get_ident() != gui, on_done=done)
        host.call(int, "not a number", on_error=fail)
        qtbot.waitUntil(lambda: len(seen) == 2)
        assert (True, True) in seen
        assert any("not a number" in str(v) and on_gui for v, on_gui in seen)
    finally:
        host.stop()


@pytest.mark.usefixtures("project")
def test_verbs_are_called_in_the_engine_without_a_context(
    qtbot: QtBot, data_dir: Path, engine: ThreadEngine
) -> None:
    bridge = Bridge()
    host = EngineHost(data_dir, bridge)
    host.start()
    try:
        assert host.mode == ENGINE
        seen: list[object] = []
        host.call(reads.list_projects, on_done=seen.append)
        host.call(reads.get_task, 99, on_error=seen.append)
        qtbot.waitUntil(lambda: len(seen) == 2)
        projects = next(v for v in seen if isinstance(v, list))
        assert [p.name for p in projects] == ["demo"]
        error = next(v for v in seen if isinstance(v, BaseException))
        assert isinstance(error, UserError) and "99" in str(error)
        # A write: the engine publishes what it changed, and the window hears it.
        project_id = projects[0].id
        with qtbot.waitSignal(bridge.tasks_changed, timeout=5000):
            draft = tasks.TaskDraft(project=project_id, title="Over the API")
            done = host.call(tasks.create_task, draft).result(10)
        assert engine.ctx.store.get_task(done.value.id).title == "Over the API"
    finally:
        host.stop()


def test_a_host_with_no_engine_starts_one_detached(data_dir: Path) -> None:
    """No engine runs: the window starts one in a process of its own, which outlives it."""
    host = EngineHost(data_dir, Bridge())
    host.start()
    try:
        hello = launch.answering(data_dir)
        assert hello is not None
        host.stop()
        assert engine_running(data_dir)  # closing the window leaves the engine running
    finally:
        launch.stop(data_dir)
    assert not engine_running(data_dir)


def test_a_host_whose_engine_stops_says_so(
    qtbot: QtBot, data_dir: Path, engine: ThreadEngine
) -> None:
    bridge = Bridge()
    host = EngineHost(data_dir, bridge)
    host.start()
    try:
        with qtbot.waitSignal(bridge.engine_lost, timeout=10_000) as lost:
            engine.stop()
        assert "stopped" in lost.args[0]
        assert host.mode == LOST
        failed: list[BaseException] = []
        host.call(reads.list_projects, on_error=failed.append)
        qtbot.waitUntil(lambda: bool(failed))
        assert "engine" in str(failed[0])
    finally:
        host.stop()


@pytest.mark.usefixtures("project")
def test_changes_by_another_process_reach_the_window(
    qtbot: QtBot, data_dir: Path, seedbed: SeedbedCli, engine: ThreadEngine
) -> None:
    bridge = Bridge()
    host = EngineHost(data_dir, bridge)
    host.start()
    try:
        with qtbot.waitSignal(bridge.tasks_changed, timeout=5000) as signal:
            proc = seedbed.spawn("task", "add", "--project", "demo", "--title", "Added elsewhere")
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        ids = signal.args[0]
        assert ids == [1]
    finally:
        host.stop()


def test_calls_after_stop_are_dropped_quietly(
    qtbot: QtBot, data_dir: Path, engine: ThreadEngine
) -> None:
    bridge = Bridge()
    host = EngineHost(data_dir, bridge)
    host.start()
    host.stop()
    called: list[object] = []
    future = host.call(int, "1", on_done=called.append, on_error=called.append)
    assert future.cancelled()
    qtbot.wait(100)
    assert called == []


def test_start_returns_after_recovery(qtbot: QtBot, data_dir: Path) -> None:
    """A run left "running" by a crash is interrupted before the engine answers a verb,
    so a run the window sees as running really is one."""
    from seedbed.domain.models import Project, Run, RunStatus, Task
    from seedbed.store import Store

    store = Store.open(data_dir)
    project = store.add_project(Project(name="p", path=data_dir, base_branch="main"))
    task = store.add_task(Task(project_id=project.id, title="t", base_branch="main"))
    run = store.add_run(Run(task_id=task.id, number=0, status=RunStatus.RUNNING))
    bridge = Bridge()
    host = EngineHost(data_dir, bridge)
    host.start()  # no engine runs: it starts one, detached
    try:
        assert host.call(reads.list_runs, task.id).result(10)[0].status is RunStatus.INTERRUPTED
        assert store.list_runs(task.id)[0].status is RunStatus.INTERRUPTED
        assert run.id
    finally:
        host.stop()
        launch.stop(data_dir)
        store.close()
        # What the host's thread posted to the bridge is delivered here, and the bridge
        # is deleted here, on the GUI thread: left to the garbage collector, it once went
        # on another thread while the next test's events ran (a crash in processEvents).
        qtbot.wait(50)
        del host, bridge


@pytest.mark.usefixtures("project")
def test_a_reorder_by_another_process_reaches_the_window(
    qtbot: QtBot, data_dir: Path, seedbed: SeedbedCli, engine: ThreadEngine
) -> None:
    for title in ("A", "B"):
        seedbed.ok("task", "add", "--project", "demo", "--title", title)
    bridge = Bridge()
    host = EngineHost(data_dir, bridge)
    host.start()
    try:
        with qtbot.waitSignal(bridge.tasks_changed, timeout=5000) as signal:
            proc = seedbed.spawn("task", "move", "2", "--before", "1")
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        assert sorted(signal.args[0]) == [1, 2]
    finally:
        host.stop()


def test_callbacks_stay_on_the_gui_thread(
    qtbot: QtBot, data_dir: Path, engine: ThreadEngine
) -> None:
    """The worker finishing a call never holds its callbacks (which hold widgets): the
    bridge keeps them under a token and drops them on the GUI thread."""
    import gc
    import weakref

    bridge = Bridge()
    host = EngineHost(data_dir, bridge)
    host.start()
    try:

        class Holder:
            def done(self, _value: object) -> None:
                pass

        holder = Holder()
        ref = weakref.ref(holder)
        future = host.call(int, "1", on_done=holder.done)
        del holder
        qtbot.waitUntil(future.done)
        qtbot.waitUntil(lambda: not bridge._callbacks)
        gc.collect()
        assert ref() is None  # released, by the GUI thread, once delivered
        assert all("done" not in repr(cb) for cb in getattr(future, "_done_callbacks", []))
    finally:
        host.stop()


def test_a_burst_of_finished_calls_wakes_the_gui_thread_once(qtbot: QtBot) -> None:
    bridge = Bridge()
    gui = threading.get_ident()
    got: list[tuple[int, int, int]] = []
    wakes: list[int] = []
    bridge._calls_finished.connect(lambda: wakes.append(1))

    def done(i: int) -> Callable[[int], None]:
        return lambda value: got.append((i, value, threading.get_ident()))

    tokens = [bridge.register(done(i), None, None) for i in range(500)]

    def finish() -> None:
        for i, token in enumerate(tokens):
            future: Future[int] = Future()
            future.set_result(2 * i)
            bridge.deliver(token, future)

    worker = threading.Thread(target=finish)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(got) == 500)
    assert got == [(i, 2 * i, gui) for i in range(500)]  # in order, on the GUI thread
    assert len(wakes) == 1


def test_a_failing_callback_leaves_the_others_of_its_burst(qtbot: QtBot) -> None:
    bridge = Bridge()
    got: list[int] = []
    tokens = [bridge.register(got.append, None, None) for _ in range(3)]
    failing = bridge.register(None, None, None)  # no on_error: the error is raised
    with qtbot.capture_exceptions() as caught:
        for i, token in enumerate([tokens[0], failing, tokens[1], tokens[2]]):
            future: Future[int] = Future()
            if token == failing:
                future.set_exception(UserError("no task with id 9"))
            else:
                future.set_result(i)
            bridge.deliver(token, future)
        qtbot.waitUntil(lambda: len(got) == 3)
    assert got == [0, 2, 3]
    assert [str(exc) for _kind, exc, _tb in caught] == ["no task with id 9"]


@pytest.mark.usefixtures("project")
def test_calls_made_in_one_turn_each_get_their_own_answer(
    qtbot: QtBot, data_dir: Path, engine: ThreadEngine
) -> None:
    """Calls the GUI thread makes in a row start together (one wake-up of the loop), and
    each still gets its own answer, its own error, and is counted until it has."""
    bridge = Bridge()
    host = EngineHost(data_dir, bridge)
    host.start()
    try:
        answers: dict[int, object] = {}
        futures = []
        for i in range(40):
            if i % 4 == 3:
                fn: Callable[..., object] = reads.get_task
                args: tuple[object, ...] = (1000 + i,)
            else:
                fn, args = int, (str(i),)  # a function of the window's: a worker thread
            done = lambda value, i=i: answers.__setitem__(i, value)  # noqa: E731
            futures.append(host.call(fn, *args, on_done=done, on_error=done))
        assert host.pending() == 40
        qtbot.waitUntil(lambda: len(answers) == 40, timeout=10_000)
        for i in range(40):
            if i % 4 == 3:
                assert isinstance(answers[i], UserError) and str(1000 + i) in str(answers[i])
            else:
                assert answers[i] == i == futures[i].result(0)
        qtbot.waitUntil(lambda: host.pending() == 0)
    finally:
        host.stop()
