"""The diff reviewer (issue 6): opening a task with a 20,000-line diff over 500 files to
its painted file list and first file, and scrolling through a 5,000-line file.

Set-up (not timed): a real repository with 500 Python modules on `main`, one of them
5,000 lines long; a `seedbed/…` branch in a real worktree (`git worktree add`) that
changes all 500 files, 20,000 changed lines in all (insertions + deletions, as
`git diff --shortstat` counts them): 2,500 lines of the big module modified (5,000
changed lines, one 7,500-row hunk), the other 499 modules 30 lines each (8 modified, 14
added; 30 of them one more). The task goes straight into the store, awaiting review and
ready, with its branch, base branch and worktree, so `load_review` runs exactly as for
an agent's finished task.

Timed, in this process on the offscreen platform, with the engine host running (the
reviewer reads through it, as in the app):
- open: from `ReviewWindow(context, task_id)` (constructed, then shown) to the first
  paint of the file list's viewport with rows (`git diff --raw`; the counts follow), and,
  beside it, to the paint after the whole diff was parsed (diff_open_whole_diff_ms);
- first file: from the same start to the first paint of the diff text's viewport with
  the first file's rows set (the blocks in view are highlighted before that paint), and,
  beside it, to the first paint after the intraline spans came back from the worker;
  also the next (small) file selected to its painted rows and spans (diff_next_file_ms);
- scroll: the big module selected (its selection cost is reported beside), then the diff
  text's vertical scroll bar stepped a page at a time to the end, each step waiting for
  its paint, with a 5 ms heartbeat timer running; the figure is the longest heartbeat gap.

Every figure is the median of several rounds, each with a new window; the first round
(cold: lexer look-up, first git reads) is logged and reported beside, never in the median.
"""

from __future__ import annotations

import functools
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import Figures, benchmark, cli, git, log, make_repo, median, temp_dir

PROJECT = "bench"
N_FILES = 500
BIG_INDEX = 250  # module_00250.py: the 5,000-line file (not first in the list)
BIG_LINES = 5000
SMALL_MODIFIED = 8  # value lines changed in each small module
SMALL_ADDED = 14  # lines appended to each small module
TOTAL_CHANGED = 20_000
TIMEOUT_S = 60.0


def _module_path(i: int) -> str:
    return f"src/pkg{i // 100:03d}/module_{i:05d}.py"


def _big_module(changed: bool) -> str:
    """5,000 lines; changed: in each group of four lines the first two are modified."""
    lines = ['"""The big generated module."""', ""]
    while len(lines) < BIG_LINES:
        k = len(lines)
        if changed and k % 4 in (2, 3):
            lines.append(
                f'ITEM_{k:05d} = make_item({k}, "renamed {k}", weight={k % 19}, tag="t{k % 5}")'
            )
        else:
            lines.append(f'ITEM_{k:05d} = make_item({k}, "item {k}", weight={k % 17})')
    return "\n".join(lines) + "\n"


def _small_module(i: int, added: int) -> str:
    """make_repo's module i with SMALL_MODIFIED value lines changed and `added` appended."""
    values = []
    for j in range(12):
        if j < SMALL_MODIFIED:
            values.append(f"    value_{j} = {i * 31 + j} * scale + offset_{j % 3}\n")
        else:
            values.append(f"    value_{j} = {i * 31 + j}\n")
    tail = [
        "",
        "",
        f"def g_{i}(items, limit={i % 50}):",
        f'    """Filter the items of module {i}."""',
        "    result = []",
        "    for item in items:",
        "        if item.weight > limit:",
        "            result.append(item.name.upper())",
        "        elif item.weight == limit:",
        "            result.append(item.name)",
        "        else:",
        "            continue",
    ]
    while len(tail) < added - 1:
        tail.append(f"    # note {len(tail)} on module {i}")
    tail.append("    return sorted(result)")
    return (
        f'"""Generated module {i}."""\n\n\ndef f_{i}():\n'
        + "".join(values)
        + "    return value_0\n"
        + "\n".join(tail)
        + "\n"
    )


def _review_task(tmp: Path) -> tuple[Path, int, str]:
    """The repository, data dir, branch, worktree and task; (data dir, task id, branch)."""
    from seedbed.domain.models import Phase, Task, TaskState
    from seedbed.domain.slug import task_branch
    from seedbed.store import Store

    repo = make_repo(tmp / "repo", N_FILES)
    (repo / _module_path(BIG_INDEX)).write_text(_big_module(changed=False))
    git(repo, "commit", "-q", "-am", "a big module")
    data_dir = tmp / "data"
    data_dir.mkdir()
    cli(data_dir, "project", "add", repo, "--name", PROJECT)

    store = Store.open(data_dir)
    project = store.find_project(PROJECT)
    title = "Rework every module"
    task = store.add_task(
        Task(
            project_id=project.id,
            title=title,
            base_branch="main",
            state=TaskState.AWAITING_REVIEW,
            phase=Phase.READY,
        )
    )
    branch = task_branch(task.id, title)
    worktree = tmp / "worktrees" / str(task.id)
    git(repo, "worktree", "add", "-q", "-b", branch, str(worktree), "main")
    small_changed = TOTAL_CHANGED - BIG_LINES  # the big module: 2,500 - and 2,500 +
    per_file = 2 * SMALL_MODIFIED + SMALL_ADDED
    extra = small_changed - (N_FILES - 1) * per_file  # files that get one more line
    small = 0
    for i in range(N_FILES):
        path = worktree / _module_path(i)
        if i == BIG_INDEX:
            path.write_text(_big_module(changed=True))
            continue
        path.write_text(_small_module(i, SMALL_ADDED + (1 if small < extra else 0)))
        small += 1
    git(worktree, "add", "-A")
    git(worktree, "commit", "-q", "-m", title)
    stat = git(repo, "diff", "--shortstat", f"main...{branch}").strip()
    log(f"branch {branch}: {stat}")
    store.update_task(task.id, branch=branch, worktree=worktree, workspace_ready=True)
    store.close()
    return data_dir, task.id, branch


def _probe_class() -> type:
    from PySide6.QtCore import QEvent, QObject, QTimer

    class PaintProbe(QObject):
        """Counts a viewport's paints and stamps the first one that `ready()` says shows
        what is measured: `began` as it starts, `at` once it is over (a zero timer posted
        from the paint fires after the frame). Every paint pokes the waiting session."""

        def __init__(self, ready: Callable[[], bool], poke: Callable[[], None]) -> None:
            super().__init__()
            self.ready = ready
            self.poke = poke
            self.began: float | None = None
            self.at: float | None = None
            self.paints = 0

        def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                if self.began is None and self.ready():
                    self.began = time.perf_counter()
                    QTimer.singleShot(0, self._first_painted)
                else:
                    QTimer.singleShot(0, self._painted)
            return False

        def _first_painted(self) -> None:
            self.at = time.perf_counter()
            self._painted()

        def _painted(self) -> None:
            self.paints += 1
            self.poke()

    return PaintProbe


class Heartbeat:
    """A 5 ms timer on the GUI thread; `gaps` are the intervals while measuring."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self.measuring = False
        self.last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        now = time.perf_counter()
        if self.measuring:
            self.gaps.append(now - self.last)
        self.last = now

    def start(self) -> None:
        self.gaps = []
        self.last = time.perf_counter()
        self.measuring = True
        self.timer.start()

    def stop(self) -> float:
        """Stop; the longest gap in ms (a last gap up to now counts too)."""
        self.gaps.append(time.perf_counter() - self.last)
        self.measuring = False
        self.timer.stop()
        return max(self.gaps) * 1000


class Session:
    """A QApplication, the fixture and an AppContext with its host started."""

    def __init__(self, tmp: Path) -> None:
        from PySide6.QtWidgets import QApplication

        from seedbed.app import tune_process
        from seedbed.ui.common.context import AppContext

        tune_process()  # as `seedbed gui` does
        self.app = QApplication.instance() or QApplication([])
        self.repo = tmp / "repo"
        self.data_dir, self.task_id, self.branch = _review_task(tmp)
        # An engine that starts no run: nothing may pick the task up.
        self.context = AppContext.open(self.data_dir, snapshot=True)
        self.PaintProbe = _probe_class()
        self._waiting: tuple[Any, Callable[[], bool]] | None = None

    def probe(self, ready: Callable[[], bool]) -> Any:
        return self.PaintProbe(ready, self._poke)

    def wait(self, done: Callable[[], bool], what: str) -> None:
        """Run the event loop until done() (checked after every probed paint). The GUI
        thread idles in Qt meanwhile, as in the app: no polling, no sleeps."""
        from PySide6.QtCore import QEventLoop, QTimer

        if done():
            return
        loop = QEventLoop()
        self._waiting = (loop, done)
        deadline = QTimer()
        deadline.setSingleShot(True)
        deadline.timeout.connect(loop.quit)
        deadline.start(int(TIMEOUT_S * 1000))
        loop.exec()
        deadline.stop()
        self._waiting = None
        if not done():
            raise RuntimeError(f"timed out waiting for {what}")

    def _poke(self) -> None:
        if self._waiting is not None and self._waiting[1]():
            self._waiting[0].quit()

    def open_window(self) -> tuple[Any, dict[str, float]]:
        """A new reviewer on the task; ms from its construction to the painted list,
        first file and intraline spans."""
        from seedbed.ui.review.reviewer import ReviewWindow

        start = time.perf_counter()
        window = ReviewWindow(self.context, self.task_id)
        window.show()
        listed = self.probe(lambda: window.files.model.rowCount() > 0)
        window.files.view.viewport().installEventFilter(listed)
        text = window.diff.text  # the unified view, the default
        first = self.probe(lambda: bool(text.rows))
        spans = self.probe(lambda: bool(text.rows) and bool(text.highlighter.spans))
        for probe in (first, spans):
            text.viewport().installEventFilter(probe)
        probes = (listed, first, spans)
        self.wait(lambda: all(p.at is not None for p in probes), "the reviewer to paint")
        window.probes = probes  # kept alive with the window
        times = {
            "list": (listed.at - start) * 1000,
            "list_began": (listed.began - start) * 1000,
            "first": (first.at - start) * 1000,
            "spans": (spans.at - start) * 1000,
        }
        # The outline came first; the whole diff follows (the list is set again).
        whole = self.probe(lambda: window.data is not None and not window.data.outline)
        window.files.view.viewport().installEventFilter(whole)
        window.files.view.viewport().update()
        self.wait(lambda: whole.at is not None, "the whole diff")
        window.probes = (*probes, whole)
        times["whole"] = (whole.at - start) * 1000
        return window, times

    def git_diff(self) -> float:
        """ms for `git diff main...BRANCH` (the reviewer's range) run as a subprocess,
        its whole output read: the floor of opening the reviewer."""
        start = time.perf_counter()
        result = subprocess.run(
            ["git", "diff", f"main...{self.branch}"],
            cwd=self.repo,
            capture_output=True,
            check=True,
        )
        elapsed = (time.perf_counter() - start) * 1000
        if not result.stdout:
            raise RuntimeError("git diff printed nothing")
        return elapsed

    def close_window(self, window: Any) -> None:
        window.close()
        window.deleteLater()
        self.app.processEvents()

    def close(self) -> None:
        self.context.host.stop()
        self.app.processEvents()


@functools.cache
def _open_rounds(quick: bool) -> dict[str, list[float]]:
    """Open the reviewer 1 (cold) + 3 (quick) or 7 times; ms per round and figure."""
    rounds = 3 if quick else 7
    found: dict[str, list[float]] = {}
    with temp_dir("review-open") as tmp:
        session = Session(tmp)
        try:
            for _ in range(rounds + 1):
                window, times = session.open_window()
                # Then the next file, as a reviewer moves on: a small module.
                second = _select_file(session, window, _module_path(1))
                session.close_window(window)
                times.update({f"next_{key}": value for key, value in second.items()})
                # The file list and the first file both painted, beside `git diff` of
                # the same range (run right after, in the same round).
                times["list_and_first"] = max(times["list"], times["first"])
                times["git_diff"] = session.git_diff()
                for key, value in times.items():
                    found.setdefault(key, []).append(value)
        finally:
            session.close()
    for key, values in found.items():
        log(f"open → {key}: cold {values[0]:.0f} ms, then {[round(v) for v in values[1:]]} ms")
    return found


def _figure(values: list[float]) -> float:
    return round(median(values[1:]), 1)


@benchmark("diff_open_file_list_ms", order=70)
def diff_open_file_list_ms(quick: bool) -> Figures:
    """Task with a 20,000-line diff over 500 files: reviewer constructed to its painted
    file list (target 300 ms)."""
    found = _open_rounds(quick)
    return {
        "diff_open_file_list_ms": _figure(found["list"]),
        "diff_open_file_list_cold_ms": round(found["list"][0], 1),
        "diff_open_whole_diff_ms": _figure(found["whole"]),
    }


@benchmark("diff_first_file_ms", order=71)
def diff_first_file_ms(quick: bool) -> Figures:
    """The same, to the first file's painted, highlighted hunks (target 100 ms); beside
    it, to the paint with the intraline spans. `diff_open_vs_git`: the file list and the
    first file painted (the later of the two) ÷ `git diff main...BRANCH` run as a
    subprocess in the same round (target 2)."""
    found = _open_rounds(quick)
    return {
        "diff_first_file_ms": _figure(found["first"]),
        "diff_first_file_cold_ms": round(found["first"][0], 1),
        "diff_first_file_intraline_ms": _figure(found["spans"]),
        "diff_next_file_ms": _figure(found["next_paint"]),
        "diff_next_file_intraline_ms": _figure(found["next_spans"]),
        "diff_git_diff_ms": _figure(found["git_diff"]),
        "diff_open_vs_git": round(
            median(found["list_and_first"][1:]) / median(found["git_diff"][1:]), 2
        ),
    }


def _select_file(session: Session, window: Any, path: str) -> dict[str, float]:
    """Select `path` in the file list; ms to its first painted rows, to the paint with
    its intraline spans, and the longest 5 ms heartbeat gap meanwhile."""
    files, text = window.files, window.diff.text
    painted = session.probe(lambda: window.diff.file.path == path and bool(text.rows))
    spanned = session.probe(lambda: window.diff.file.path == path and bool(text.highlighter.spans))
    for probe in (painted, spanned):
        text.viewport().installEventFilter(probe)
    heartbeat = Heartbeat()
    heartbeat.start()
    start = time.perf_counter()
    files.select_row(files.model.row_of(path))
    session.wait(lambda: painted.at is not None and spanned.at is not None, path)
    stall = heartbeat.stop()
    window.select_probes = (painted, spanned)
    return {
        "paint": (painted.at - start) * 1000,
        "spans": (spanned.at - start) * 1000,
        "stall": stall,
    }


def _scroll_round(session: Session) -> dict[str, float]:
    from PySide6.QtWidgets import QAbstractSlider

    window, _ = session.open_window()
    try:
        text = window.diff.text
        # Selecting the big module: its rows are laid out and the blocks in view
        # highlighted, then the spans come back and those blocks get them.
        selected = _select_file(session, window, _module_path(BIG_INDEX))
        painted = window.select_probes[0]
        rows = len(text.rows)
        bar = text.verticalScrollBar()
        if bar.value() != 0 or bar.maximum() < 50 * bar.pageStep():
            raise RuntimeError(f"unexpected scroll bar: {bar.value()}/{bar.maximum()}")

        steps = 0
        heartbeat = Heartbeat()
        heartbeat.start()
        scroll_start = time.perf_counter()
        while bar.value() < bar.maximum():
            before = painted.paints
            bar.triggerAction(QAbstractSlider.SliderAction.SliderPageStepAdd)
            session.wait(lambda: painted.paints > before, "a scrolled paint")  # noqa: B023
            steps += 1
        total = (time.perf_counter() - scroll_start) * 1000
        stall = heartbeat.stop()
        return {
            "rows": rows,
            "steps": steps,
            "select_paint": selected["paint"],
            "select_spans": selected["spans"],
            "select_stall": selected["stall"],
            "stall": stall,
            "total": total,
            "beats": len(heartbeat.gaps),
        }
    finally:
        session.close_window(window)


@benchmark("diff_scroll_max_stall_ms", order=72)
def diff_scroll_max_stall_ms(quick: bool) -> Figures:
    """The 5,000-line module selected, then scrolled page by page to the end: the
    longest gap of a 5 ms heartbeat (target 30 ms); the total time, and the selection's
    own cost and stall, beside it."""
    rounds = 3 if quick else 5
    with temp_dir("review-scroll") as tmp:
        session = Session(tmp)
        try:
            results = [_scroll_round(session) for _ in range(rounds + 1)]
        finally:
            session.close()
    first = results[0]
    log(f"big file: {first['rows']:.0f} rows, {first['steps']:.0f} page steps")
    for key in ("select_paint", "select_spans", "select_stall", "stall", "total"):
        values = [r[key] for r in results]
        log(f"scroll {key}: cold {values[0]:.0f} ms, then {[round(v) for v in values[1:]]} ms")

    def figure(key: str) -> float:
        return round(median([r[key] for r in results[1:]]), 1)

    return {
        "diff_scroll_max_stall_ms": figure("stall"),
        "diff_scroll_total_ms": figure("total"),
        "diff_select_big_file_ms": figure("select_paint"),
        "diff_select_big_file_intraline_ms": figure("select_spans"),
        "diff_select_big_file_max_stall_ms": figure("select_stall"),
    }
