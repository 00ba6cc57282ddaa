"""The window: start-up to a painted board, GUI stalls and memory under a flood of
events, opening a run with a million events."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import Figures, benchmark, cli, log, make_repo, temp_dir

PROJECT = "bench"
FLOOD_SCRIPT = """
import sys, time
rate, seconds = {rate}, {seconds}
start = time.monotonic()
for i in range(rate * seconds):
    delay = start + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    sys.stdout.write(f"event {{i}} of a busy agent, with some text to carry\\n")
    if i % 10 == 0:
        sys.stdout.flush()
"""


def _project(tmp: Path) -> Path:
    repo = make_repo(tmp / "repo", 20)
    data_dir = tmp / "data"
    data_dir.mkdir()
    cli(data_dir, "project", "add", repo, "--name", PROJECT)
    return data_dir


def _seed_board(data_dir: Path, n_tasks: int) -> None:
    """n tasks straight into the store, spread over the four columns."""
    from seedbed.domain.models import Phase, TaskState
    from seedbed.store import Store

    store = Store.open(data_dir)
    project = store.find_project(PROJECT)
    states = [
        (TaskState.PLANNED, Phase.DRAFT),
        (TaskState.AWAITING_REVIEW, Phase.READY),
        (TaskState.MERGED, Phase.NONE),
    ]
    now = time.time()
    with store.transaction() as conn:
        for i in range(n_tasks):
            state, phase = states[i % len(states)]
            conn.execute(
                "INSERT INTO tasks (project_id, title, prompt, state, phase, position,"
                " base_branch, created_at, updated_at, diff_files, diff_insertions,"
                " diff_deletions) VALUES (?, ?, ?, ?, ?, ?, 'main', ?, ?, ?, ?, ?)",
                (
                    project.id,
                    f"Task {i}: make the thing number {i} better",
                    "prompt",
                    state.value,
                    phase.value,
                    i,
                    now - i,
                    now - i,
                    i % 7,
                    i % 300,
                    i % 40,
                ),
            )
    store.close()


@benchmark("gui_start_to_board_s", order=60)
def gui_start_to_board_s(quick: bool) -> Figures:
    """A real `seedbed gui` process, from before it is spawned to its first painted
    board with 1,000 tasks (offscreen platform)."""
    n_tasks = 1000
    rounds = 3 if quick else 5
    with temp_dir("gui-start") as tmp:
        data_dir = _project(tmp)
        _seed_board(data_dir, n_tasks)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SEEDBED_STARTUP_PROBE": "1"}
        # A user's second start: Python has cached its bytecode by then. (Some shells,
        # this sandbox's too, set PYTHONDONTWRITEBYTECODE; then every start compiles
        # pydantic and Qt's bindings again, +0.3 s.) The first, warming start is not timed.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        times = []
        for round_number in range(rounds + 1):
            start = time.time()
            result = subprocess.run(
                [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "gui"],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )
            painted = [
                line.split()[1]
                for line in result.stderr.splitlines()
                if line.startswith("board-painted ")
            ]
            if result.returncode != 0 or not painted:
                raise RuntimeError(f"gui exited {result.returncode}: {result.stderr[-2000:]}")
            if round_number:
                times.append(float(painted[0]) - start)
        log(f"start to painted board with {n_tasks} tasks: {[round(t, 3) for t in times]}")
        return {"gui_start_to_board_s": round(sorted(times)[len(times) // 2], 3)}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@benchmark("gui_max_stall_ms", order=61)
def gui_max_stall_ms(quick: bool) -> Figures:
    """20 runs each printing 500 lines/s for 10 s (every line an event), the engine in
    this process, the window open on one run's log; a 5 ms heartbeat timer on the GUI
    thread records its longest gap. Also the process's memory at the end."""
    runs, rate, seconds = 20, 500, (5 if quick else 10)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from seedbed.app import tune_process
    from seedbed.domain.models import TaskState
    from seedbed.service import launch
    from seedbed.store import Store
    from seedbed.store.settings import load_settings, save_settings
    from seedbed.ui.common.context import AppContext
    from seedbed.ui.window.main_window import MainWindow

    tune_process()  # as `seedbed gui` does
    app = QApplication.instance() or QApplication([])
    with temp_dir("gui-flood") as tmp:
        data_dir = _project(tmp)
        script = tmp / "flood.py"
        script.write_text(FLOOD_SCRIPT.format(rate=rate, seconds=seconds))
        cli(
            data_dir,
            "profile",
            "add",
            "flood",
            "--kind",
            "command",
            "--command",
            f"{sys.executable} {script}",
        )
        ids = [
            int(
                cli(
                    data_dir,
                    "task",
                    "add",
                    "--project",
                    PROJECT,
                    "--title",
                    f"Flood {i}",
                    "--start",
                )
            )
            for i in range(runs)
        ]
        save_settings(data_dir, load_settings(data_dir).model_copy(update={"max_parallel": runs}))
        context = AppContext.open(data_dir)  # starts the engine, detached
        store, host = Store.open(data_dir), context.host
        window = MainWindow(context)
        window.resize(1400, 850)
        window.show()
        # Every heartbeat gap, stamped with the wall clock; afterwards the stored events
        # say exactly when all twenty were emitting (the figure the issue names) and
        # when they were ending together (commit, diff stats: reported beside it).
        beats: list[tuple[float, float]] = []
        last = [time.perf_counter()]
        measuring = [False]

        def beat() -> None:
            now = time.perf_counter()
            if measuring[0]:
                beats.append((now - last[0], time.time()))
            last[0] = now

        heartbeat = QTimer()
        heartbeat.setInterval(5)
        heartbeat.timeout.connect(beat)
        heartbeat.start()
        project_id = store.find_project(PROJECT).id
        loop = QEventLoop()
        selected = [False]

        def check() -> None:
            # One short read, like the window's own; no sleeping on the GUI thread.
            if not selected[0] and window.board.select_task(ids[0]):
                selected[0] = True
            tasks = store.list_tasks(project_id)
            running = sum(1 for t in tasks if t.state is TaskState.RUNNING)
            done = sum(1 for t in tasks if t.state is TaskState.AWAITING_REVIEW)
            if running and not measuring[0]:
                measuring[0] = True
                last[0] = time.perf_counter()
            if done == runs:
                loop.quit()

        checker = QTimer()
        checker.setInterval(20)  # the windows change within 20 ms of the runs
        checker.timeout.connect(check)
        checker.start()
        QTimer.singleShot(180_000, loop.quit)
        loop.exec()
        checker.stop()
        measuring[0] = False
        heartbeat.stop()
        # All twenty emitting: from the last first line to the first last line.
        run_ids = [r.id for i in ids for r in store.list_runs(i)]
        marks = ", ".join("?" for _ in run_ids)
        firsts_lasts = store.conn.execute(
            f"SELECT MIN(ts), MAX(ts) FROM events WHERE kind = 'output' AND run_id IN ({marks})"
            " GROUP BY run_id",
            run_ids,
        ).fetchall()
        flood_from = max(row[0] for row in firsts_lasts)
        flood_to = min(row[1] for row in firsts_lasts)
        gaps = {
            "flood": [(g, t) for g, t in beats if flood_from <= t - g and t <= flood_to],
            "ending": [(g, t) for g, t in beats if t > flood_to],
        }
        log(f"all {runs} emitting for {flood_to - flood_from:.1f} s")
        rss = _rss_mb()
        events = sum(store.count_events(r.id) for i in ids for r in store.list_runs(i))
        window.close()
        host.stop()
        launch.stop(data_dir)
        store.close()
        window.deleteLater()
        app.processEvents()
    if not gaps["flood"]:
        raise RuntimeError("the flood never had all runs going at once")
    figures = {}
    for name, found in gaps.items():
        if not found:
            continue
        begin = found[0][1]
        worst = sorted(found, reverse=True)[:3]
        log(
            f"{name}: {len(found)} heartbeats, longest gaps "
            + ", ".join(f"{g * 1000:.0f} ms at {t - begin:.1f} s" for g, t in worst)
        )
        figures[name] = round(worst[0][0] * 1000, 1)
    log(f"{events} events stored; RSS {rss:.0f} MB")
    return {
        "gui_max_stall_ms": figures["flood"],
        "gui_max_stall_ending_ms": figures.get("ending", 0.0),
        "gui_rss_mb_20_runs": round(rss, 1),
    }


def _paint_probe_class() -> type:
    from PySide6.QtCore import QEvent, QObject

    class PaintProbe(QObject):
        """Notes the first paint of a log panel's list that shows rows."""

        def __init__(self, panel: Any) -> None:
            super().__init__()
            self.panel = panel
            self.painted = False

        def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and self.panel.model.rowCount() > 0:
                self.painted = True
            return False

    return PaintProbe


@benchmark("log_open_1m_events_ms", order=62)
def log_open_1m_events_ms(quick: bool) -> Figures:
    """A run with 1,000,000 stored events (200,000 with --quick): from asking the log
    panel for it to its first painted page."""
    n_events = 200_000 if quick else 1_000_000
    from PySide6.QtWidgets import QApplication

    from seedbed.domain.events import OutputEvent, Stream
    from seedbed.domain.models import Run, RunStatus, Task
    from seedbed.store import Store
    from seedbed.ui.common.context import AppContext
    from seedbed.ui.log.log_view import LogPanel

    app = QApplication.instance() or QApplication([])
    PaintProbe = _paint_probe_class()
    with temp_dir("log-open") as tmp:
        data_dir = _project(tmp)
        store = Store.open(data_dir)
        project = store.find_project(PROJECT)
        task = store.add_task(Task(project_id=project.id, title="Huge log", base_branch="main"))
        run = store.add_run(Run(task_id=task.id, number=0, status=RunStatus.SUCCEEDED))
        batch = 50_000
        for first in range(0, n_events, batch):
            rows = [
                (
                    1.0,
                    "output",
                    OutputEvent(
                        stream=Stream.STDOUT, line=f"line {i} of a long log"
                    ).model_dump_json(),
                    True,
                )
                for i in range(first, first + batch)
            ]
            store.append_events(run.id, first, rows)
        log(f"{store.count_events(run.id)} events stored")
        context = AppContext.open(data_dir, snapshot=True)  # an engine that starts no run
        host = context.host
        times = []
        for _ in range(3 if quick else 5):
            panel = LogPanel(context)
            panel.resize(900, 700)
            panel.show()
            app.processEvents()
            probe = PaintProbe(panel)
            panel.view.viewport().installEventFilter(probe)
            start = time.perf_counter()
            panel.show_run(run.id)
            while not probe.painted and time.perf_counter() - start < 30:
                app.processEvents()
            elapsed = (time.perf_counter() - start) * 1000
            if not probe.painted:
                raise RuntimeError("the log never painted")
            times.append(elapsed)
            panel.close()
            panel.deleteLater()
            app.processEvents()
        host.stop()  # stops the engine it started
        store.close()
    log(f"open {n_events} events to first paint: {[round(t, 1) for t in times]} ms")
    return {"log_open_1m_events_ms": round(sorted(times)[len(times) // 2], 1)}
