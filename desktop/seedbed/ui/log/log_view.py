"""The log panel: a task's runs, one row per event, live, searchable, copyable.

A model/view list (LogModel in a LogList) rather than a text dump: every row has the
same height, so Qt places a million rows by arithmetic and paints only the visible
ones, and a huge run opens at once. The selected row's whole event shows in a detail
pane under the list.

The panel never waits on the engine: its runs, their row counts, the pending text, the
detail of a row, a search and a copy are asked with `host.call` (composed reads on a
worker thread, or verbs) and applied when they come back, the latest answer only.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from seedbed.core import reads, transcript
from seedbed.domain.models import Run, RunStatus
from seedbed.ui.common.actions import add_action
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.host import Remote
from seedbed.ui.log.log_model import LogModel, detail_text, find_row_wrapping, plain_rows
from seedbed.ui.log.log_render import first_line
from seedbed.ui.log.log_widgets import (
    FindBar,
    LogDelegate,
    LogList,
    NoteLabel,
    mono_font,
    tool_button,
)
from seedbed.ui.log.question_bar import QuestionBar

COPY_NOW_ROWS = 2_000  # bigger selections, or rows not in the model, are read off the GUI thread
DETAIL_DEBOUNCE_MS = 40
PENDING_CHARS = 300


def read_runs(remote: Remote, task_id: int) -> list[tuple[Run, int]]:
    """The task's runs, oldest first, each with its row count. Runs on a worker thread,
    asking the engine (`remote`)."""
    runs: list[Run] = remote(reads.list_runs, task_id)
    return [(run, remote(transcript.log_row_count, run.id)) for run in runs]


class LogPanel(QWidget):
    """A task's log: a run selector, the rows of the chosen run, live, and its details.

    The newest run is shown by default and a new run replaces it if the user was on
    the newest. While new rows arrive the list follows the end, unless the user
    scrolled up (follow switches off by itself, and back on at the bottom or with
    "End"). Streamed text without a row yet shows as a "writing…" line under the list,
    so the model holds only stored rows. Compact mode (a foreground tile) keeps the
    list and follow, and drops the run selector and the detail pane.

    Every read goes through `host.call` and is applied when it comes back; a
    BackgroundCall per kind of read keeps only the latest answer (one for a task or run
    no longer shown is dropped).

    Signals: search_finished(object): the matched row, or None.
    """

    search_finished = Signal(object)

    def __init__(
        self, context: AppContext, compact: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._compact = compact
        self._task_id: int | None = None
        self._runs: list[Run] = []
        self._rows: dict[int, int] = {}  # run id → its row count, as last read
        self._runs_known = True  # False while the task's runs are being read
        self._jump = False  # show the newest run when the runs come
        self._match: tuple[int, bool] | None = None  # a found row not in the model yet
        self._seen_run_id = 0
        self._scrolling = False
        self._search = BackgroundCall(context.host, self)  # the latest search only
        self._search.failed.connect(self._on_search_failed)
        self._runs_read = BackgroundCall(context.host, self)
        self._runs_read.failed.connect(self._on_runs_read_failed)
        self._pending_read = BackgroundCall(context.host, self)
        self._pending_again = False  # rows came while the pending text was read
        self._pending_read.failed.connect(self._on_pending_read_failed)
        self._detail_read = BackgroundCall(context.host, self)
        self._detail_read.failed.connect(self._on_detail_read_failed)
        self._copy = BackgroundCall(context.host, self)  # a later copy drops an earlier one
        self._copy.failed.connect(self._on_copy_failed)
        self.model = LogModel(context.host, self)
        self.view = LogList(self)
        self.view.setModel(self.model)
        self.delegate = LogDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.restyle()
        self._build(compact)
        self._connect()

    # -- building --------------------------------------------------------------------

    def _build(self, compact: bool) -> None:
        self.run_box = QComboBox(self)
        self.run_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.summary = QLabel(self)
        # The run's name keeps its room; the summary gives way (its tooltip has it all).
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.follow_button = tool_button(self, "Follow", "Keep the newest row in view", True)
        self.follow_button.setChecked(True)
        self.end_button = tool_button(self, "End ⤓", "Jump to the newest row and follow")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.run_box)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.follow_button)
        bar.addWidget(self.end_button)
        self.run_box.setVisible(not compact)
        self.summary.setVisible(not compact)
        self.find_bar = FindBar(self)
        self.find_bar.hide()
        self.question_bar = QuestionBar(self._context, self)
        self.note = NoteLabel(self)
        self.detail = QPlainTextEdit(self)
        self.detail.setReadOnly(True)
        self.detail.setFont(mono_font())
        self.detail.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.detail.hide()
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(2)
        top_layout.addWidget(self.view, 1)
        top_layout.addWidget(self.note)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.question_bar)
        layout.addWidget(self.find_bar)
        layout.addWidget(self.splitter, 1)
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(DETAIL_DEBOUNCE_MS)
        self.find_action = add_action(self, "find_in_log", self.open_find)
        self.find_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        # Tiles have no find bar: their key would make the main log's Ctrl+F ambiguous.
        self.find_action.setEnabled(not compact)

    def _connect(self) -> None:
        bridge = self._context.bridge
        bridge.rows_appended.connect(self._on_bridge_rows_appended)
        bridge.tasks_changed.connect(self._on_bridge_tasks_changed)
        bridge.engine_back.connect(self._on_bridge_engine_back)
        self.model.refreshed.connect(self._on_model_refreshed)
        self.run_box.activated.connect(self._on_run_box_activated)
        scroll = self.view.verticalScrollBar()
        scroll.valueChanged.connect(self._on_scroll_value_changed)
        scroll.rangeChanged.connect(self._on_scroll_range_changed)
        self.follow_button.toggled.connect(self._on_follow_button_toggled)
        self.end_button.clicked.connect(self._on_end_button_clicked)
        self.view.copy_requested.connect(self.copy_selection)
        self.view.detail_requested.connect(self.toggle_detail)
        self.view.doubleClicked.connect(self._on_view_double_clicked)
        self.view.selectionModel().currentChanged.connect(self._on_selection_current_changed)
        self._detail_timer.timeout.connect(self._on_detail_timer_timeout)
        self.find_bar.search_requested.connect(self.find_text)
        self.find_bar.closed.connect(self._on_find_bar_closed)

    # -- what is shown ---------------------------------------------------------------

    @property
    def task_id(self) -> int | None:
        return self._task_id

    @property
    def run_id(self) -> int | None:
        return self.model.run_id

    @property
    def following(self) -> bool:
        return self.follow_button.isChecked()

    def show_task(self, task_id: int | None) -> None:
        """Show this task's newest run (nothing for None), following its end; the runs
        are read off the GUI thread, the list stays empty meanwhile."""
        self._task_id = task_id
        self._runs = []
        self._rows = {}
        self._runs_known = task_id is None
        self._jump = True
        self.run_box.clear()
        self.show_run(None)
        self._reload_runs()
        self.question_bar.show_task(task_id)

    def show_run(self, run_id: int | None) -> None:
        self._search.drop()
        self._detail_read.drop()
        self._pending_read.drop()
        self._pending_again = False
        self._match = None
        self.model.set_run(run_id)  # its rows come when the engine has counted them
        if run_id is not None:
            self._seen_run_id = max(self._seen_run_id, run_id)
        index = next((i for i, r in enumerate(self._runs) if r.id == run_id), -1)
        self.run_box.setCurrentIndex(index)
        self._update_summary()
        self.note.set_note("")
        self._update_note()
        self.set_following(True)
        if self.detail.isVisible():
            self.detail.clear()

    def _reload_runs(self) -> None:
        """Read the task's runs again (and their row counts); applied when they come."""
        if self._task_id is None:
            self._runs_read.drop()
            self._runs_loaded([])
            return
        remote = self._context.host.remote
        self._runs_read.run(read_runs, remote, self._task_id, on_done=self._runs_loaded)

    @Slot(str)
    def _on_runs_read_failed(self, _message: str) -> None:
        self._runs_loaded([])  # the engine cannot say (it stopped): no runs to show

    def _runs_loaded(self, runs: list[tuple[Run, int]]) -> None:
        newest = self._runs[-1].id if self._runs else None
        on_newest = self.run_id is None or self.run_id == newest
        self._runs = [run for run, _rows in runs]
        self._rows = {run.id: rows for run, rows in runs}
        self._runs_known = True
        ids = [run.id for run in self._runs]
        box = self.run_box
        if ids == [box.itemData(i) for i in range(box.count())]:
            for i, run in enumerate(self._runs):  # relabel only: an open popup stays open
                box.setItemText(i, self._run_label(run))
        else:
            box.blockSignals(True)
            box.clear()
            for run in self._runs:
                box.addItem(self._run_label(run), run.id)
            box.blockSignals(False)
        if ids:
            self._seen_run_id = max(self._seen_run_id, ids[-1])
        new_run = on_newest and ids and ids[-1] != newest
        jump, self._jump = self._jump, False
        if jump or new_run or self.run_id not in ids:
            self.show_run(ids[-1] if ids else None)
        else:
            self.run_box.setCurrentIndex(ids.index(self.run_id))
            self._update_summary()
            self._update_note()

    def _run_label(self, run: Run) -> str:
        rows = self._rows.get(run.id, 0)
        if run.id == self.model.run_id:  # the live count, once read (a log never shrinks)
            rows = max(rows, self.model.rowCount())
        return f"Run {run.number} · {run.kind.value} · {run.status.value} · {rows:,} events"

    def _current_run(self) -> Run | None:
        return next((r for r in self._runs if r.id == self.run_id), None)

    def _update_summary(self) -> None:
        run = self._current_run()
        if run is None:
            self.summary.clear()
            return
        self.summary.setText(
            f"{run.tokens_in:,} in · {run.tokens_out:,} out · ${run.cost_usd:.4f}"
            f" · context {run.context_fill:.0%}"
        )
        index = self.run_box.currentIndex()
        if index >= 0:
            self.run_box.setItemText(index, self._run_label(run))

    def _update_note(self) -> None:
        run = self._current_run()
        text = ""
        if self._task_id is None:
            text = "No task selected."
        elif not self._runs_known:
            return  # the runs are on their way
        elif run is None:
            text = "No runs yet: the log appears when the task starts."
        elif run.status is RunStatus.RUNNING:
            # The note shown stays until the engine says what is being written now. One
            # read at a time (a slow engine would have each answer dropped by the next
            # question): rows told meanwhile ask once more when it comes.
            if self._pending_read.busy:
                self._pending_again = True
                return
            on_done = functools.partial(self._pending_read_done, run.id)
            self._pending_read.run(transcript.pending_text, run.id, on_done=on_done)
            return
        self._pending_again = False
        self._pending_read.drop()
        self.note.set_note(text)

    def _pending_read_over(self) -> None:
        if self._pending_again:
            self._pending_again = False
            self._update_note()

    @Slot(str)
    def _on_pending_read_failed(self, _message: str) -> None:
        self.note.set_note("")  # nothing known to be written now
        self._pending_read_over()

    def _pending_read_done(self, run_id: int, pending: str) -> None:
        if run_id != self.run_id:
            return
        text = "writing… " + first_line(pending[-PENDING_CHARS:], PENDING_CHARS) if pending else ""
        self.note.set_note(text)
        self._pending_read_over()

    # -- live ------------------------------------------------------------------------

    @Slot()
    def _on_bridge_engine_back(self) -> None:
        """Connected again: what was written while the engine was away was not told (a
        run may have ended, rows come): read the runs and the count again."""
        if self._task_id is not None:
            self._reload_runs()
        self.model.refresh()

    @Slot(object)
    def _on_bridge_rows_appended(self, changes: dict[int, int | None]) -> None:
        if self._task_id is not None and max(changes, default=0) > self._seen_run_id:
            self._seen_run_id = max(changes)
            self._reload_runs()  # perhaps a new run of this task
        if self.run_id in changes:
            # The rows stored since come in `_on_model_refreshed`: now, from the count
            # the engine told with the events, or once the model asked for it.
            count = changes[self.run_id]
            if count is None:
                self.model.refresh()
            else:
                self.model.grow(count)
            self._update_summary()
            self._update_note()

    @Slot(int)
    def _on_model_refreshed(self, added: int) -> None:
        if added and self.following:
            self.scroll_to_end()
        self._update_summary()  # the run's label counts its rows
        if self._match is not None and self._match[0] < self.model.rowCount():
            row, wrapped = self._match
            self._show_match(row, wrapped)

    @Slot(object)
    def _on_bridge_tasks_changed(self, task_ids: list[int]) -> None:
        if self._task_id is not None and self._task_id in task_ids:
            self._reload_runs()

    @Slot(int)
    def _on_run_box_activated(self, index: int) -> None:
        if 0 <= index < len(self._runs):
            self.show_run(self._runs[index].id)

    # -- following the end -----------------------------------------------------------

    def set_following(self, follow: bool) -> None:
        self.follow_button.setChecked(follow)
        if follow:
            self.scroll_to_end()

    def scroll_to_end(self) -> None:
        self._scrolling = True
        try:
            self.view.scrollToBottom()
        finally:
            self._scrolling = False

    @Slot(int)
    def _on_scroll_value_changed(self, value: int) -> None:
        if self._scrolling:
            return
        # The user moved: scrolling up stops following, reaching the end resumes it.
        at_end = value >= self.view.verticalScrollBar().maximum()
        if at_end != self.following:
            self.follow_button.setChecked(at_end)

    @Slot(int, int)
    def _on_scroll_range_changed(self, _minimum: int, maximum: int) -> None:
        # Layout can finish after scrollToBottom (delayed item layout): stay at the end.
        if self.following and self.view.verticalScrollBar().value() != maximum:
            self.scroll_to_end()

    @Slot(bool)
    def _on_follow_button_toggled(self, checked: bool) -> None:
        if checked:
            self.scroll_to_end()

    @Slot()
    def _on_end_button_clicked(self) -> None:
        self.set_following(True)

    # -- detail ----------------------------------------------------------------------

    def toggle_detail(self) -> None:
        """Show or hide the detail pane (never in compact mode)."""
        if self._compact:
            return
        self.detail.setVisible(not self.detail.isVisible())
        if self.detail.isVisible():
            self._on_detail_timer_timeout()

    @Slot(QModelIndex)
    def _on_view_double_clicked(self, _index: QModelIndex) -> None:
        self.toggle_detail()

    @Slot(QModelIndex, QModelIndex)
    def _on_selection_current_changed(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        if self.detail.isVisible():
            self._detail_timer.start()

    @Slot()
    def _on_detail_timer_timeout(self) -> None:
        row = self.view.currentIndex().row()
        run_id = self.run_id
        if row < 0 or run_id is None:
            self._detail_read.drop()
            self.detail.setPlainText("")
            return
        remote = self._context.host.remote
        self._detail_read.run(detail_text, remote, run_id, row, on_done=self.detail.setPlainText)

    @Slot(str)
    def _on_detail_read_failed(self, message: str) -> None:
        self.detail.setPlainText(f"Could not read this row: {message}")

    # -- search ----------------------------------------------------------------------

    def open_find(self) -> None:
        self.find_bar.show()
        self.find_bar.edit.setFocus()
        self.find_bar.edit.selectAll()

    @Slot(str, bool)
    def find_text(self, needle: str, backward: bool = False) -> None:
        """Find the next (previous) row saying needle, from the current row, on the
        engine's worker thread; the match is selected and scrolled to."""
        run_id = self.run_id
        if run_id is None or not needle:
            return
        current = self.view.currentIndex().row()
        if current < 0:
            current = self.model.rowCount() if backward else -1
        self.find_bar.status.setText("searching…")
        self._search.run(
            find_row_wrapping,
            self._context.host.remote,
            run_id,
            needle,
            current,
            backward,
            on_done=lambda found: self._show_match(*found),
        )

    def _show_match(self, row: int | None, wrapped: bool) -> None:
        self._match = None
        if row is None:
            self.find_bar.status.setText("no match")
        else:
            if row >= self.model.rowCount():
                # Found in rows stored since the last count: shown once they are in.
                self._match = (row, wrapped)
                self.model.refresh()
                return
            self.set_following(False)
            index = self.model.index(row)
            self.view.setCurrentIndex(index)
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
            self.find_bar.status.setText(f"row {row + 1:,}" + (" (wrapped)" if wrapped else ""))
        self.search_finished.emit(row)

    @Slot(str)
    def _on_search_failed(self, message: str) -> None:
        self.find_bar.status.setText(f"search failed: {message}")
        self.search_finished.emit(None)

    @Slot()
    def _on_find_bar_closed(self) -> None:
        self._search.drop()
        self._match = None
        self.find_bar.hide()
        self.view.setFocus()

    # -- copy ------------------------------------------------------------------------

    @Slot()
    def copy_selection(self) -> None:
        """Put the selected rows' text on the clipboard, one line per row."""
        run_id = self.run_id
        if run_id is None:
            return
        selection: QItemSelection = self.view.selectionModel().selection()
        # PySide6's stubs miss QItemSelection's __iter__ (it is a QList of ranges).
        ranges = [(r.top(), r.bottom()) for r in selection]  # type: ignore[attr-defined]
        count = sum(last - first + 1 for first, last in ranges)
        if count == 0:
            return
        if count <= COPY_NOW_ROWS:
            rows = sorted(row for first, last in ranges for row in range(first, last + 1))
            if all(self.model.loaded(row) for row in rows):  # else read off the GUI thread
                self._copy.drop()
                lines = [self.model.line_at(row) for row in rows]
                QApplication.clipboard().setText("\n".join(line.plain for line in lines if line))
                return
        remote = self._context.host.remote
        self._copy.run(plain_rows, remote, run_id, ranges, on_done=self._copied)

    @Slot(str)
    def _on_copy_failed(self, message: str) -> None:
        self.note.set_note(f"Could not copy: {message}")

    def _copied(self, result: tuple[str, int]) -> None:
        text, left_out = result
        QApplication.clipboard().setText(text)
        if left_out:
            self.note.set_note(f"Copied; {left_out:,} rows past the limit were left out.")
