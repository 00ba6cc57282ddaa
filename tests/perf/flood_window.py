"""The window of the 20-agent flood (bench_gui.gui_max_stall_ms), in a process of its own.

`python flood_window.py DATA_DIR PROJECT TASK_ID N_RUNS TIMEOUT_S` opens the window as
`seedbed gui` does (its context starts the engine of DATA_DIR, detached, when none runs),
selects TASK_ID's card (its log shows), and keeps a 5 ms heartbeat timer on the GUI
thread. It asks the engine for the project's tasks every 20 ms (one call at a time,
through the host, like the window's own reads) until N_RUNS of them await review. While
every run is going it samples its own RSS and the engine's twice a second. It prints one
JSON object: every heartbeat gap (seconds) stamped with the wall clock, the largest RSS
of each process, and the engine's pid. Nothing here reads SQLite: this process is the
window and only the window.

With SEEDBED_PERF_PROFILE=FILE, the GUI thread runs under cProfile and its stats are
dumped to FILE (to see what the stalls cost).
"""

from __future__ import annotations

import cProfile
import json
import os
import sys
import time
from pathlib import Path

RSS_EVERY_S = 0.5


def rss_mb(pid: int | str) -> float:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str]) -> int:
    data_dir, project, task_id = Path(argv[0]), argv[1], int(argv[2])
    runs, timeout_s = int(argv[3]), float(argv[4])

    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from seedbed.app import tune_process
    from seedbed.core.reads import list_tasks
    from seedbed.domain.models import Task, TaskState
    from seedbed.service import launch
    from seedbed.ui.common.context import AppContext
    from seedbed.ui.window.main_window import MainWindow

    tune_process()  # as `seedbed gui` does
    app = QApplication(sys.argv[:1])
    context = AppContext.open(data_dir)  # starts the engine, detached, when none runs
    hello = launch.answering(data_dir)
    engine_pid = hello.pid if hello is not None else 0
    window = MainWindow(context)
    window.resize(1400, 850)
    window.show()

    beats: list[tuple[float, float]] = []
    last = [time.perf_counter()]
    measuring = [False]

    def beat() -> None:
        now = time.perf_counter()
        if measuring[0]:
            beats.append((now - last[0], time.time()))
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(beat)
    heartbeat.start()

    loop = QEventLoop()
    selected = [False]
    asking = [False]
    peak = {"gui": 0.0, "engine": 0.0}
    sampled = [0.0]

    def answered(tasks: list[Task]) -> None:
        asking[0] = False
        running = sum(1 for t in tasks if t.state is TaskState.RUNNING)
        done = sum(1 for t in tasks if t.state is TaskState.AWAITING_REVIEW)
        if running and not measuring[0]:
            measuring[0] = True
            last[0] = time.perf_counter()
        if running == runs and time.monotonic() - sampled[0] >= RSS_EVERY_S:
            sampled[0] = time.monotonic()
            peak["gui"] = max(peak["gui"], rss_mb("self"))
            peak["engine"] = max(peak["engine"], rss_mb(engine_pid))
        if done == runs:
            loop.quit()

    def failed(error: BaseException) -> None:
        asking[0] = False
        sys.stderr.write(f"list_tasks failed: {error}\n")

    def check() -> None:
        if not selected[0] and window.board.select_task(task_id):
            selected[0] = True
        if not asking[0]:
            asking[0] = True
            context.host.call(list_tasks, project, on_done=answered, on_error=failed, owner=window)

    checker = QTimer()
    checker.setInterval(20)  # the window changes within 20 ms of the runs
    checker.timeout.connect(check)
    checker.start()
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    checker.stop()
    heartbeat.stop()
    window.hide()
    context.close()  # the engine goes on: the benchmark stops it
    window.deleteLater()
    app.processEvents()
    json.dump(
        {
            "beats": beats,
            "gui_rss_mb": peak["gui"],
            "engine_rss_mb": peak["engine"],
            "engine_pid": engine_pid,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    profile_to = os.environ.get("SEEDBED_PERF_PROFILE")
    if not profile_to:
        sys.exit(main(sys.argv[1:]))
    profiler = cProfile.Profile()
    code = profiler.runcall(main, sys.argv[1:])
    profiler.dump_stats(profile_to)
    sys.exit(code)
