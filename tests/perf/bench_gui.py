"""The window: start-up to a painted board, GUI stalls and memory under a flood of
events, opening a run with a million events."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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
        times = []
        for _ in range(rounds):
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

    from seedbed.domain.models import TaskState
    from seedbed.store import Store
    from seedbed.store.settings import load_settings
    from seedbed.ui.bridge import Bridge
    from seedbed.ui.context import AppContext, SettingsHolder
    from seedbed.ui.host import EngineHost
    from seedbed.ui.main_window import MainWindow

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
        store = Store.open(data_dir)
        bridge = Bridge()
        host = EngineHost(data_dir, bridge, max_parallel=runs)
        settings = load_settings(data_dir)
        context = AppContext(
            data_dir=data_dir,
            store=store,
            bridge=bridge,
            host=host,
            settings=SettingsHolder(data_dir, settings),
        )
        context.project_id = store.find_project(PROJECT).id
        host.start()
        window = MainWindow(context)
        window.resize(1400, 850)
        window.show()
        gaps: list[float] = []
        last = [time.perf_counter()]
        flooding = [False]

        def beat() -> None:
            now = time.perf_counter()
            if flooding[0]:
                gaps.append(now - last[0])
            last[0] = now

        heartbeat = QTimer()
        heartbeat.setInterval(5)
        heartbeat.timeout.connect(beat)
        heartbeat.start()

        def phase_counts() -> tuple[int, int]:
            tasks = [store.get_task(i) for i in ids]
            implementing = sum(1 for t in tasks if t.phase.value == "implementing")
            done = sum(1 for t in tasks if t.state is TaskState.AWAITING_REVIEW)
            return implementing, done

        loop = QEventLoop()
        selected = [False]

        def check() -> None:
            # Short indexed reads, like the window's own; no sleeping on the GUI thread.
            if not selected[0] and window.board.select_task(ids[0]):
                selected[0] = True
            implementing, done = phase_counts()
            if implementing == runs and not flooding[0]:
                log(f"all {runs} runs flooding; heartbeat on")
                flooding[0] = True
                last[0] = time.perf_counter()
            if done == runs:
                loop.quit()

        checker = QTimer()
        checker.setInterval(200)
        checker.timeout.connect(check)
        checker.start()
        QTimer.singleShot(180_000, loop.quit)
        loop.exec()
        checker.stop()
        flooding[0] = False
        heartbeat.stop()
        rss = _rss_mb()
        events = sum(store.count_events(r.id) for i in ids for r in store.list_runs(i))
        window.close()
        host.stop()
        store.close()
        window.deleteLater()
        app.processEvents()
    if not gaps:
        raise RuntimeError("the flood never had all runs going at once")
    stall = max(gaps) * 1000
    log(
        f"{events} events stored; {len(gaps)} heartbeats; longest gap {stall:.1f} ms; "
        f"RSS {rss:.0f} MB"
    )
    return {"gui_max_stall_ms": round(stall, 1), "gui_rss_mb_20_runs": round(rss, 1)}
