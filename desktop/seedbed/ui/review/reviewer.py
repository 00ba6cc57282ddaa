"""The diff reviewer of one task: files, diff, summary and checks, and the decision
(approve and merge, request changes with comments, discard).

The diff takes most of the width; no text anywhere sets the window's width (long lines
scroll, elide or wrap anywhere), so a test runner's line of dots cannot push the buttons
off the screen."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from seedbed.core.merging import board_cards
from seedbed.core.review_data import (
    FirstFile,
    ReviewData,
    listed_outlines,
    load_file,
    load_first_in_tree_order,
    load_outline_in_tree_order,
    load_review,
    prefilled_message,
    read_blob,
    read_new_lines,
    with_first_file,
)
from seedbed.domain.diffs import Comment, FileDiff
from seedbed.domain.errors import SeedbedError
from seedbed.domain.models import Card, TaskState
from seedbed.ui.common.actions import add_action
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.widgets import ElidedLabel, ErrorLabel, never_widens
from seedbed.ui.review.comment_flow import CommentFlow
from seedbed.ui.review.decision import DecisionPanel
from seedbed.ui.review.decision_actions import DecisionActions
from seedbed.ui.review.diff_view import DiffView
from seedbed.ui.review.file_list import FileList
from seedbed.ui.review.file_model import ViewedStore
from seedbed.ui.review.highlight import BlobReader
from seedbed.ui.review.side_panel import SidePanel

# The splitter's first widths (the file tree, the diff, the side panel): the diff gets
# what a resize adds or takes.
PANE_WIDTHS = (240, 820, 340)
REFRESH_MS = 500
WHOLE_AFTER_MS = 20  # the whole diff is asked for this long after the outline's frame
BASE_LOOK_MS = 1000  # another task changed: did the base move? Asked this often at most
LIVE_POLL_MS = 2000  # a silent agent still changes files: a live diff is read this often
# Single keys: active only while the file list or the diff has focus, never while the
# user types in the commit message or the request for changes.
REVIEW_ACTIONS = (
    "next_hunk",
    "previous_hunk",
    "next_file",
    "previous_file",
    "comment_lines",
    "toggle_viewed",
    "toggle_split",
)


class ReviewWindow(QWidget):
    """A task's diff and the decision on it, refreshed live while the task runs.

    Signals:
        task_finished(int): the task was merged or discarded; its id.
    """

    task_finished = Signal(int)
    _frozen_windows = 0  # open reviewers that froze their diff (see _on_loaded)

    def __init__(self, context: AppContext, task_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.context = context
        self.task_id = task_id
        self.data: ReviewData | None = None
        # The review's reads: a reload (or closing) drops answers to the earlier ones.
        self._loading = BackgroundCall(context.host, self)
        self._loading.failed.connect(self._on_loading_failed)
        # Asked first: the engine reads the outline while the widgets are built. Since
        # the last review or not, as the task stands (the answer sets the box).
        self._since_set = False
        self._first: FirstFile | None = None  # the first file, read beside the outline
        self._early_outline: ReviewData | None = None  # an outline that came before it
        self._load_outline()
        self._uncapped: set[str] = set()
        self._prefill = ""
        self._frozen = False
        # Where to go once the file being read is shown: a line, or the last hunk (-1).
        self._go_to_after_read: int | None = None
        self.setWindowTitle(f"Review task {task_id}")
        self.resize(1300, 800)

        self.files = FileList(ViewedStore(context.data_dir), self)
        self.diff = DiffView(self._compute, self)
        self.diff.source_loader = self._source_loader
        self.side = SidePanel(self)
        self.decide = DecisionActions(self, self)  # what the decision box's buttons do
        self.comments = CommentFlow(task_id, self.diff, self.side, self.decide.call, self)
        self.header = ElidedLabel(self)
        self.split_box = QCheckBox("Side by side", self)
        self.since_box = QCheckBox("Only what changed since the last review", self)
        self.since_box.setEnabled(False)
        self.since_box.setToolTip("Enabled once changes were requested")
        self.error_label = ErrorLabel(self)
        never_widens(self.error_label)
        self.status_label = QLabel(self)
        never_widens(self.status_label)
        self._build_decision()

        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.split_box)
        top.addWidget(self.since_box)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        for pane in (self.files, self.diff, self.side):
            self.splitter.addWidget(pane)
        self.splitter.setSizes(list(PANE_WIDTHS))
        for index, stretch in enumerate((0, 1, 0)):
            self.splitter.setStretchFactor(index, stretch)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.decision)
        layout.addWidget(self.error_label)
        layout.addWidget(self.status_label)

        self.actions_by_name = {}
        for name in REVIEW_ACTIONS:
            action = add_action(self.diff, name, getattr(self, f"_on_{name}"))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.files.view.addAction(action)
            self.actions_by_name[name] = action
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        # Another task landing moves the base under this one: its checks line says so.
        self._base_call = BackgroundCall(context.host, self)
        self._base_call.finished.connect(self._on_base_call_finished)
        self._base_timer = QTimer(self)
        self._base_timer.setSingleShot(True)
        self._base_timer.setInterval(BASE_LOOK_MS)
        self._base_timer.timeout.connect(self._on_base_timer_timeout)
        self._whole_timer = QTimer(self)
        self._whole_timer.setSingleShot(True)
        self._whole_timer.timeout.connect(self._on_whole_timer_timeout)
        self.files.file_selected.connect(self._on_files_file_selected)
        self.diff.show_anyway_requested.connect(self._on_diff_show_anyway_requested)
        self.split_box.toggled.connect(self._on_split_box_toggled)
        self.since_box.toggled.connect(self._on_since_box_toggled)
        context.bridge.tasks_changed.connect(self._on_bridge_tasks_changed)
        context.bridge.events_appended.connect(self._on_bridge_events_appended)

    def _build_decision(self) -> None:
        self.decision = DecisionPanel(self.context, self)
        d = self.decision
        self.strategy, self.message, self.request_message = d.strategy, d.message, d.request_message
        self.recheck = d.recheck
        self.approve_button, self.request_button = d.approve_button, d.request_button
        self.discard_button = d.discard_button
        self.approve_button.clicked.connect(self.decide.approve)
        self.request_button.clicked.connect(self.decide.request_changes)
        d.comment_action.triggered.connect(self._on_comment_action_triggered)
        self.discard_button.clicked.connect(self.decide.discard)
        d.resolve_button.clicked.connect(self.decide.resolve)
        d.plan_approve_button.clicked.connect(self.decide.approve_plan)
        d.plan_back_button.clicked.connect(self.decide.send_plan_back)
        d.worktree.message_shown.connect(self.error_label.show_message)
        self.side.unsent_changed.connect(d.show_unsent)
        self.side.comments_shown.connect(self.diff.set_comments)
        self.side.comment_activated.connect(self._on_side_comment_activated)
        self.side.plan_saved.connect(self.decide.save_plan)

    # -- loading -----------------------------------------------------------------------

    def _compute(self, fn: Callable[[], object], done: Callable[[object], None]) -> None:
        self.context.host.call(fn, on_done=done, owner=self)

    def reload(self) -> None:
        """Read the task's review again; an older answer still on its way is dropped.

        The first time, an outline comes first (the file list and the first file, read
        in a fraction of the time of the whole diff); the whole diff follows."""
        self._loading.drop()
        self._whole_timer.stop()
        if self.data is None:
            self._load_outline()
            return
        self._load_whole()

    def _load_outline(self) -> None:
        """The outline, for the current load; since the last review as the box says
        once an answer set it, else as the task stands. Beside it, the first file alone:
        it is laid out while the engine counts the lines of every file."""
        since = self.since_box.isChecked() if self._since_set else None
        self._first = None
        self._early_outline = None
        self._loading.join(
            load_outline_in_tree_order, self.task_id, since, False, on_done=self._on_outline
        )
        self._loading.join(
            load_first_in_tree_order, self.task_id, since, on_done=self._on_first_file
        )

    def _on_first_file(self, first: FirstFile) -> None:
        """Show the list (its counts follow) and the first file at once; an outline
        that came before it goes in now."""
        self._first = first
        if self.data is None and first.file is not None and first.diff_range is not None:
            self.files.file_selected.disconnect(self._on_files_file_selected)
            try:  # the file shown is the one parsed, not the list's outline of it
                listed = listed_outlines(first.files)
                self.files.set_files(self.task_id, listed, first.file.path, counted=False)
            finally:
                self.files.file_selected.connect(self._on_files_file_selected)
            self.diff.blob_reader = self._blob_reader(first.diff_range.cwd)
            self.diff.set_file(first.file)
        early, self._early_outline = self._early_outline, None
        if early is not None:
            self._on_outline(early)

    def _load_whole(self) -> None:
        """The whole diff, for the current load (a reload drops it)."""
        self._loading.join(
            load_review,
            self.task_id,
            self.since_box.isChecked(),
            frozenset(self._uncapped),
            on_done=self._on_loaded,
        )

    def _on_outline(self, data: ReviewData) -> None:
        if self._first is None:  # its first file is on the way: shown with it
            self._early_outline = data
            return
        self._on_loaded(with_first_file(data, self._first))
        # The whole diff once this first frame is out: parsing it competes for the GIL.
        self._whole_timer.start(WHOLE_AFTER_MS)

    @Slot()
    def _on_whole_timer_timeout(self) -> None:
        data = self.data
        if data is not None and data.outline:
            self._load_whole()

    def _on_loaded(self, data: ReviewData) -> None:
        if not data.outline and not self._frozen:
            # A big diff is a hundred thousand long-lived objects; each full pass of the
            # cyclic collector over them was a 60-100 ms stall at a random moment (while
            # scrolling, say). Frozen, they are left out of those passes; they are acyclic,
            # so dropping them still frees them. Once per window (a live refresh would
            # pin whatever cyclic garbage exists then); the last reviewer to close
            # unfreezes.
            self._frozen = True
            ReviewWindow._frozen_windows += 1
            gc.freeze()
        first = self.data is None
        self.data = data
        task = data.task
        if not self._since_set:
            # After a round of requested changes, what changed since is what to read.
            self._since_set = True
            self.since_box.blockSignals(True)
            self.since_box.setChecked(task.reviewed_commit is not None)
            self.since_box.blockSignals(False)
        live = " — live, the agent is working" if data.live else ""
        since = f" — since {data.since[:10]}" if data.since else ""
        state = task.state.value.replace("_", " ")
        self.header.set_full_text(f"{task.title} ({state}){live}{since}")
        self.setWindowTitle(f"Review #{task.id}: {task.title}")
        self.since_box.setEnabled(task.reviewed_commit is not None or self.since_box.isChecked())
        self.side.show_data(data)
        if data.diff_range is not None:
            self.diff.blob_reader = self._blob_reader(data.diff_range.cwd)
        prefill = prefilled_message(task, data.summary)
        if first or self.message.toPlainText() == self._prefill:
            self.message.setPlainText(prefill)
        self._prefill = prefill
        keep = self.diff.file.path if self.diff.file is not None else None
        self.files.file_selected.disconnect(self._on_files_file_selected)
        try:
            self.files.set_files(task.id, data.files, keep)
        finally:
            self.files.file_selected.connect(self._on_files_file_selected)
        current = self.files.current_file()
        if current != self.diff.file or current is None:
            same = current is not None and keep == current.path
            self._show_file(current, keep_position=same)
            self._go_after_read()
        self.update_buttons()
        if first:
            self.diff.active.setFocus()  # the review keys work from the start
        if data.live and not self._refresh_timer.isActive():
            self._refresh_timer.start(LIVE_POLL_MS)

    @Slot(str)
    def _on_loading_failed(self, message: str) -> None:
        self.error_label.show_message(message)
        if self._first is None and self.data is None:
            # The first file's read failed (or the outline's): an outline that comes, or
            # came, is shown without it rather than waiting for it.
            self._on_first_file(FirstFile())

    def update_buttons(self) -> None:
        task = self.data.task if self.data is not None else None
        # A window following another engine changes nothing: its buttons stay off, not
        # stuck "busy".
        self.decision.update_for(task, self.decide.busy or self.context.controls_off)

    @Slot()
    def _on_refresh_timer_timeout(self) -> None:
        self.reload()

    @Slot(object)
    def _on_bridge_tasks_changed(self, task_ids: list[int]) -> None:
        if self.task_id in task_ids:
            if not self._refresh_timer.isActive():
                self._refresh_timer.start(REFRESH_MS)
        elif not self._base_timer.isActive():
            self._base_timer.start()

    @Slot()
    def _on_base_timer_timeout(self) -> None:
        data = self.data
        # Only checks that ran can be overtaken by the base; the card's read counts how far.
        if data is None or data.base_moved is None:
            return
        if data.task.state is TaskState.AWAITING_REVIEW:
            self._base_call.run(board_cards, task_ids=[self.task_id])

    @Slot(object)
    def _on_base_call_finished(self, cards: list[Card]) -> None:
        data = self.data
        if data is None or not cards or cards[0].base_moved == data.base_moved:
            return
        moved = cards[0].base_moved
        self.data = data.model_copy(update={"base_moved": moved})
        self.side.checks.show_checks(data.checks, moved, data.task.base_branch)

    @Slot(object)
    def _on_bridge_events_appended(self, events: dict[int, int]) -> None:
        # A stream of events must not postpone the refresh forever: throttle, not debounce.
        data = self.data
        live = data is not None and data.live and data.run_id in events
        if live and not self._refresh_timer.isActive():
            self._refresh_timer.start(REFRESH_MS)

    def _blob_reader(self, cwd: Path) -> BlobReader:
        """A blob's text asked of the engine (the repository is on its machine), from the
        diff view's worker; None when it cannot be read (the engine or the window went
        away meanwhile): the colours are then left out, nothing fails."""
        remote = self.context.host.remote

        def read(blob: str) -> str | None:
            try:
                text: str | None = remote(read_blob, cwd, blob)
            except SeedbedError:
                return None
            return text

        return read

    def _source_loader(self, path: str) -> Callable[[], list[str]]:
        """The blocking read of `path`'s new side, bound to the review shown now."""
        data = self.data
        if data is None:
            return list
        # Run off the GUI thread (the diff view's work): it asks the engine and waits.
        return functools.partial(self.context.host.remote, read_new_lines, data, path)

    @Slot(bool)
    def _on_split_box_toggled(self, checked: bool) -> None:
        self.diff.set_split(checked)

    def _on_toggle_split(self) -> None:
        self.split_box.toggle()

    @Slot(bool)
    def _on_since_box_toggled(self, _checked: bool) -> None:
        self.reload()

    @Slot(object)
    def _on_files_file_selected(self, file: FileDiff | None) -> None:
        self._go_to_after_read = None  # the user went elsewhere
        self._show_file(file)

    def _show_file(self, file: FileDiff | None, keep_position: bool = False) -> None:
        """Show `file`; an outline's file is parsed first (its diff follows)."""
        data = self.data
        if file is None or not file.outline or data is None:
            self.diff.set_file(file, keep_position=keep_position)
            return
        self.diff.set_file(file)  # "Reading …" until it is parsed
        self._loading.join(load_file, data.diff_range, file, on_done=self._on_file_read)

    def _on_file_read(self, file: FileDiff) -> None:
        shown = self.diff.file  # still the outline it was read for (the whole may be here)
        reading = shown is not None and shown.outline and shown.path == file.path
        if reading:
            self.diff.set_file(file)
            self._go_after_read()

    def _go_after_read(self) -> None:
        """A move asked for while the file was being read (a comment's line, the last
        hunk after `p`), done now that it is shown."""
        target = self._go_to_after_read
        if target is None or self.diff.file is None or self.diff.file.outline:
            return
        self._go_to_after_read = None
        if target < 0:
            self.diff.go_to_last_hunk()
        else:
            self.diff.go_to_line(target)

    @Slot(str)
    def _on_diff_show_anyway_requested(self, path: str) -> None:
        self._uncapped.add(path)
        self.reload()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Let go of the diff now: the window's own reference cycles (slots, lambdas)
        keep it alive until Python's cyclic collector runs, and a full collection over
        a big diff's objects was a 200 ms pause in whatever window was in use then."""
        self._refresh_timer.stop()
        self._whole_timer.stop()
        self._loading.drop()  # answers still on their way are dropped
        self.data = None
        self.files.set_files(self.task_id, [], None)
        self.diff.set_file(None)
        if self._frozen:
            self._frozen = False
            ReviewWindow._frozen_windows -= 1
            if ReviewWindow._frozen_windows == 0:
                gc.unfreeze()  # what froze (some of it cyclic) is collectable again
        super().closeEvent(event)

    # -- moving around -----------------------------------------------------------------

    def _on_next_hunk(self) -> None:
        if not self.diff.step_hunk(1):
            self.files.step(1)

    def _on_previous_hunk(self) -> None:
        """Back a hunk; from the first, to the last hunk of the file before."""
        if self.diff.step_hunk(-1):
            return
        before = self.files.current_file()
        self.files.step(-1)
        if self.files.current_file() is not before:
            self._go_to_after_read = -1
            self._go_after_read()

    @Slot(object)
    def _on_side_comment_activated(self, comment: Comment) -> None:
        """Show the comment's file, at its line once the file is on screen."""
        row = self.files.model.row_of(comment.path)
        if row < 0:
            self.error_label.show_message(f"{comment.path} is not in this diff any more")
            return
        self.files.select_row(row)
        if comment.line is not None:
            self._go_to_after_read = comment.line
            self._go_after_read()
        self.diff.active.setFocus()

    def _on_toggle_viewed(self) -> None:
        self.files.toggle_viewed()

    def _on_next_file(self) -> None:
        self.files.step(1)

    def _on_previous_file(self) -> None:
        self.files.step(-1)

    # -- comments ----------------------------------------------------------------------

    def _on_comment_lines(self) -> None:
        self.comments.comment_lines()

    @Slot()
    def _on_comment_action_triggered(self) -> None:
        self.comments.comment_lines()
