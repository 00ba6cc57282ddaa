"""The window as a client of the engine process: start-up to a painted board (the
engine running or started by the window, beside a bare Qt window), GUI stalls and memory
under a flood of events (idle cores and busy ones), opening a run with a million events
(its pages read over the API)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import Figures, benchmark, cli, cli_subprocess, log, make_repo, median, temp_dir

from seedbed.service import launch
from seedbed.service.ready_window import READY_ENV, ready_socket

TERMINAL_SESSION_ENV = "SEEDBED_PERF_WINDOW_IN_TERMINAL_SESSION"  # flood_window.py's

HERE = Path(__file__).resolve().parent

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


BARE_QT = """
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

class Probe(QObject):
    done = False

    def eventFilter(self, watched, event):
        if not self.done and event.type() == QEvent.Type.Paint:
            self.done = True
            QTimer.singleShot(0, self.report)
        return False

    def report(self):
        sys.stderr.write(f"board-painted {time.time():.6f}\\n")
        sys.stderr.flush()
        QApplication.quit()

app = QApplication(sys.argv[:1])
window = QMainWindow()
label = QLabel("a bare window")
window.setCentralWidget(label)
probe = Probe()
label.installEventFilter(probe)
window.resize(1400, 850)
window.show()
app.exec()
"""


def _painted_at(argv: list[str], env: dict[str, str]) -> float:
    """Spawn `argv`; seconds from just before the spawn to the `board-painted` stamp it
    writes to stderr (the wall clock, so the two processes agree)."""
    start = time.time()
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    painted = [
        line.split()[1] for line in result.stderr.splitlines() if line.startswith("board-painted ")
    ]
    if result.returncode != 0 or not painted:
        raise RuntimeError(f"{argv[1:3]} exited {result.returncode}: {result.stderr[-2000:]}")
    return float(painted[0]) - start


def _gui_env() -> dict[str, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SEEDBED_STARTUP_PROBE": "1"}
    # A user's second start: Python has cached its bytecode by then. (Some shells,
    # this sandbox's too, set PYTHONDONTWRITEBYTECODE; then every start compiles
    # pydantic and Qt's bindings again, +0.3 s.) The first, warming start is not timed.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _median_s(times: list[float]) -> float:
    return round(median(times), 3)


@benchmark("gui_start_to_board_s", order=60)
def gui_start_to_board_s(quick: bool) -> Figures:
    """A real `seedbed gui` process, from just before it is spawned to its first painted
    board with 1,000 tasks (offscreen platform; the window quits once it has painted):
    - engine_running: `seedbed engine start` ran first; the window connects to it;
    - engine_started: no engine runs; the window starts it, detached, and waits until it
      answers (the engine is stopped after each round, untimed);
    - bare_qt: a bare PySide6 QMainWindow with one label, started by the same interpreter
      and painted; `gui_start_vs_bare_qt` is engine_running ÷ bare_qt (the floor).
    engine_running is a window opened while the engine runs, after the first: once a
    window has closed, the engine keeps a ready window (service/ready_window.py), and the
    next ones open in a fork of it (one untimed window first, then the ready one waited
    for). `no_ready_window` is the same start with an engine that keeps none
    (SEEDBED_READY_WINDOW=0): every import done again, as for the first window.
    Each is the median of 3 (quick) or 5 rounds after one warming round."""
    n_tasks = 1000
    rounds = 3 if quick else 5
    env = _gui_env()
    with temp_dir("gui-start") as tmp:
        data_dir = _project(tmp)
        _seed_board(data_dir, n_tasks)
        gui = [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "gui"]
        bare = [_painted_at([sys.executable, "-c", BARE_QT], env) for _ in range(rounds + 1)][1:]
        started: list[float] = []
        running: list[float] = []
        try:
            for round_number in range(rounds + 1):
                took = _painted_at(gui, env)
                if launch.stop(data_dir) is None:
                    raise RuntimeError("the window started no engine")
                if round_number:
                    started.append(took)
            # Without a ready window (an engine that keeps none): every import each time.
            cold_env = {**env, READY_ENV: "0"}
            cli_subprocess(data_dir, "engine", "start", env={READY_ENV: "0"})
            cold = [_painted_at(gui, cold_env) for _ in range(rounds + 1)][1:]
            launch.stop(data_dir)
            cli_subprocess(data_dir, "engine", "start")
            _painted_at(gui, env)  # the first window: closed, the engine readies the next
            _wait_for_ready_window(data_dir)
            running = [_painted_at(gui, env) for _ in range(rounds)]
        finally:
            launch.stop(data_dir)
    log(f"bare Qt window to painted: {[round(t, 3) for t in bare]}")
    log(f"engine started by the window, to painted board: {[round(t, 3) for t in started]}")
    log(f"engine already running, to painted board: {[round(t, 3) for t in running]}")
    log(f"the same without a ready window: {[round(t, 3) for t in cold]}")
    return {
        "gui_start_to_board_s_engine_running": _median_s(running),
        "gui_start_to_board_s_engine_started": _median_s(started),
        "gui_start_bare_qt_s": _median_s(bare),
        "gui_start_vs_bare_qt": round(median(running) / median(bare), 2),
        "gui_start_engine_started_vs_bare_qt": round(median(started) / median(bare), 2),
        "gui_start_to_board_s_no_ready_window": _median_s(cold),
        "gui_start_no_ready_window_vs_bare_qt": round(median(cold) / median(bare), 2),
    }


def _wait_for_ready_window(data_dir: Path, timeout_s: float = 20.0) -> None:
    """Until the engine's ready window listens (it imports for ~0.4 s once started)."""
    path = ready_socket(data_dir)
    deadline = time.monotonic() + timeout_s
    while path is None or not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the engine kept no ready window ({path})")
        time.sleep(0.05)


class BusyCores:
    """One `while True: pass` process per core, from `start()` to `stop()` (never left
    behind: killed by pid and waited for). They run in the benchmark's session, the one
    the window is started from: as a build or a test suite run in the terminal that
    started `seedbed` would."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> BusyCores:
        for _ in range(os.cpu_count() or 1):
            self.processes.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        return self

    def __exit__(self, *_exc: object) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait(10)


def _flood(quick: bool, loaded: bool, window_own_session: bool = True) -> Figures:
    """20 runs each printing 500 lines/s for 10 s (5 with --quick; every line an event),
    the engine in its own process (started by the window), the window in another
    (flood_window.py) open on one run's log; a 5 ms heartbeat timer on its GUI thread
    records its longest gap. With `loaded`, one busy-looping process per core runs from
    before the window starts until it has ended. Also both processes' largest RSS while
    all twenty run."""
    runs, rate, seconds = 20, 500, (5 if quick else 10)
    from seedbed.store import Store
    from seedbed.store.settings import load_settings, save_settings

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
            # The window's figure, as before sandboxes: its script lives under /tmp,
            # which a sandbox hides (the sandbox has its own benchmark).
            "--no-sandbox",
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
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        if not window_own_session:
            env[TERMINAL_SESSION_ENV] = "1"
        argv = [sys.executable, str(HERE / "flood_window.py"), str(data_dir), PROJECT]
        argv += [str(ids[0]), str(runs), "180"]
        busy = BusyCores() if loaded else contextlib.nullcontext()
        try:
            with busy:
                result = subprocess.run(
                    argv, capture_output=True, text=True, env=env, timeout=300, check=False
                )
        finally:
            launch.stop(data_dir)
        if result.returncode != 0:
            raise RuntimeError(f"the window exited {result.returncode}: {result.stderr[-2000:]}")
        found = json.loads(result.stdout)
        for line in result.stderr.splitlines():
            if line.startswith("diag: "):  # SEEDBED_PERF_DIAG=1
                log(line)
        beats = [(float(g), float(t)) for g, t in found["beats"]]
        # All twenty emitting: from the last first line to the first last line (the
        # stored events' own stamps; the engine has stopped, so nothing writes).
        store = Store.open(data_dir)
        run_ids = [r.id for i in ids for r in store.list_runs(i)]
        marks = ", ".join("?" for _ in run_ids)
        firsts_lasts = store.conn.execute(
            f"SELECT MIN(ts), MAX(ts) FROM events WHERE kind = 'output' AND run_id IN ({marks})"
            " GROUP BY run_id",
            run_ids,
        ).fetchall()
        events = sum(store.count_events(r) for r in run_ids)
        store.close()
    if len(firsts_lasts) != runs:
        raise RuntimeError(f"only {len(firsts_lasts)} of {runs} runs wrote output")
    flood_from = max(row[0] for row in firsts_lasts)
    flood_to = min(row[1] for row in firsts_lasts)
    gaps = {
        "flood": [(g, t) for g, t in beats if flood_from <= t - g and t <= flood_to],
        "ending": [(g, t) for g, t in beats if t > flood_to],
    }
    log(f"all {runs} emitting for {flood_to - flood_from:.1f} s" + (" (cores busy)" * loaded))
    if not gaps["flood"]:
        raise RuntimeError("the flood never had all runs going at once")
    figures = {}
    for name, chosen in gaps.items():
        if not chosen:
            continue
        begin = chosen[0][1]
        worst = sorted(chosen, reverse=True)[:3]
        log(
            f"{name}: {len(chosen)} heartbeats, longest gaps "
            + ", ".join(f"{g * 1000:.0f} ms at {t - begin:.1f} s" for g, t in worst)
        )
        figures[name] = round(worst[0][0] * 1000, 1)
    log(
        f"{events} events stored; RSS window {found['gui_rss_mb']:.0f} MB, "
        f"engine {found['engine_rss_mb']:.0f} MB"
    )
    figures["gui_rss_mb"] = round(found["gui_rss_mb"], 1)
    figures["engine_rss_mb"] = round(found["engine_rss_mb"], 1)
    return figures


@benchmark("gui_max_stall_ms", order=61)
def gui_max_stall_ms(quick: bool) -> Figures:
    """The flood on idle cores (target 30 ms); the window's RSS (target 200 MB) and the
    engine's while all twenty run."""
    found = _flood(quick, loaded=False)
    return {
        "gui_max_stall_ms": found["flood"],
        "gui_max_stall_ending_ms": found.get("ending", 0.0),
        "gui_rss_mb": found["gui_rss_mb"],
        "engine_rss_mb": found["engine_rss_mb"],
    }


@benchmark("gui_max_stall_loaded_ms", order=62)
def gui_max_stall_loaded_ms(quick: bool) -> Figures:
    """The same flood while another process per core busy-loops (target 50 ms), started
    from the benchmark's session, the window in a session of its own as `seedbed` starts
    it. Beside it, for the record, the same with the window left in the benchmark's
    session (how every window ran before: the busy loops then share its slice)."""
    found = _flood(quick, loaded=True)
    shared = _flood(quick, loaded=True, window_own_session=False)
    return {
        "gui_max_stall_loaded_ms": found["flood"],
        "gui_max_stall_loaded_ending_ms": found.get("ending", 0.0),
        "gui_max_stall_loaded_window_in_terminal_session_ms": shared["flood"],
    }


def _paint_probe_class() -> type:
    from PySide6.QtCore import QEvent, QObject

    class PaintProbe(QObject):
        """Notes the first paint of a log panel's list that shows rows with their data:
        every row in view has its page in the model (not a placeholder "…")."""

        def __init__(self, panel: Any) -> None:
            super().__init__()
            self.panel = panel
            self.painted = False

        def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and self._rows_in_view_loaded():
                self.painted = True
            return False

        def _rows_in_view_loaded(self) -> bool:
            model, view = self.panel.model, self.panel.view
            if model.rowCount() == 0:
                return False
            top = view.rowAt(0)
            bottom = view.rowAt(view.viewport().height() - 1)
            if bottom < 0:  # fewer rows than the view holds
                bottom = model.rowCount() - 1
            return top >= 0 and all(model.loaded(row) for row in range(top, bottom + 1))

    return PaintProbe


@benchmark("log_open_1m_events_ms", order=63)
def log_open_1m_events_ms(quick: bool) -> Figures:
    """A run with 1,000,000 stored events (200,000 with --quick): from asking the log
    panel for it to its first paint of the rows in view with their data (not the
    placeholders shown while their page is on its way). The panel holds no store: its
    row count, pending text and pages are asked of an engine process over the API's
    socket (`host.call`, answered on the GUI thread later), here one that starts no run
    (`snapshot`)."""
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
