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

It runs in a session of its own, as `seedbed` starts a window (service/ready_window.py);
SEEDBED_PERF_WINDOW_IN_TERMINAL_SESSION=1 leaves it in its starter's.

With SEEDBED_PERF_PROFILE=FILE, the GUI thread runs under cProfile and its stats are
dumped to FILE (to see what the stalls cost). With SEEDBED_PERF_DIAG=1 it also writes
"diag:" lines to stderr (bench_gui logs them): the longest gaps each with the GUI
thread's own CPU time and its wait for a core (/proc/thread-self/schedstat) within it
(a gap much longer than both is waiting for the GIL or a blocking call), the CPU seconds
of each of its threads and of the engine process, and the garbage collector's
collections.
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

RSS_EVERY_S = 0.5
DIAG = bool(os.environ.get("SEEDBED_PERF_DIAG"))


def rss_mb(pid: int | str) -> float:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(stat_path: str) -> float:
    """utime + stime of a /proc/…/stat, in seconds."""
    try:
        text = Path(stat_path).read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Collections:
    """The garbage collector's collections: generation, seconds, thread."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float, str]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            took = time.perf_counter() - self._started
            self.seen.append((info["generation"], took, threading.current_thread().name))


def run_delay_s() -> float:
    """The calling thread's time spent runnable but waiting for a core (schedstat)."""
    try:
        return int(Path("/proc/thread-self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def write_diag(
    gaps: list[tuple[float, float, float]], collections: Collections, engine_pid: int
) -> None:
    longest = ", ".join(
        f"{g * 1000:.0f}/{c * 1000:.0f}/{d * 1000:.0f}" for g, c, d in sorted(gaps)[::-1][:12]
    )
    sys.stderr.write(
        f"diag: longest gaps (wall ms/GUI-thread CPU ms/waiting for a core ms): {longest}\n"
    )
    wall, cpu = sum(g for g, _c, _d in gaps), sum(c for _g, c, _d in gaps)
    sys.stderr.write(
        f"diag: GUI thread while runs went: {cpu:.2f} CPU s in {wall:.2f} s"
        f" ({cpu / max(wall, 1e-9):.3f} CPU s per second)\n"
    )
    names = {t.native_id: t.name for t in threading.enumerate()}
    threads = ", ".join(
        f"{names.get(int(tid), tid)} {cpu_s(f'/proc/self/task/{tid}/stat'):.2f}"
        for tid in sorted(os.listdir("/proc/self/task"))
    )
    engine = cpu_s(f"/proc/{engine_pid}/stat")
    sys.stderr.write(f"diag: CPU s: {threads}; engine process {engine:.2f}\n")
    seen = collections.seen
    oldest = sum(1 for generation, _s, _t in seen if generation == 2)
    longest_gc = max((s for _g, s, _t in seen), default=0.0) * 1000
    sys.stderr.write(
        f"diag: gc: {len(seen)} collections, {oldest} of generation 2,"
        f" longest {longest_gc:.0f} ms\n"
    )


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

    if not os.environ.get("SEEDBED_PERF_WINDOW_IN_TERMINAL_SESSION"):
        os.setsid()  # as `seedbed` starts a window (service/ready_window.py)
    tune_process()  # as `seedbed gui` does
    collections = Collections()
    if DIAG:
        gc.callbacks.append(collections)
    app = QApplication(sys.argv[:1])
    context = AppContext.open(data_dir)  # starts the engine, detached, when none runs
    hello = launch.answering(data_dir)
    engine_pid = hello.pid if hello is not None else 0
    window = MainWindow(context)
    window.resize(1400, 850)
    window.show()

    beats: list[tuple[float, float]] = []
    # (wall, this thread's CPU, its wait for a core) of each beat
    gaps: list[tuple[float, float, float]] = []
    last = [time.perf_counter(), time.thread_time(), 0.0]
    measuring = [False]

    def beat() -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        delay = run_delay_s() if DIAG else 0.0
        if measuring[0]:
            beats.append((now - last[0], time.time()))
            gaps.append((now - last[0], cpu - last[1], delay - last[2]))
        last[:] = [now, cpu, delay]

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
            now = time.perf_counter()
            last[:] = [now, time.thread_time(), run_delay_s() if DIAG else 0.0]
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
    if DIAG:
        write_diag(gaps, collections, engine_pid)
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
