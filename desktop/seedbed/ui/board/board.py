"""The board: four columns over one model of the project's cards, and every move."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from seedbed.core import merging, radar
from seedbed.core.merge_queue import ANNOUNCED
from seedbed.core.tasks import control_task, move_before, start_task
from seedbed.domain.lifecycle import LABELS
from seedbed.domain.models import Card, Control, Phase, TaskState
from seedbed.ui.board.board_actions import CardActions
from seedbed.ui.board.board_model import ColumnModel, Overlaps, Role, TaskModel
from seedbed.ui.board.board_view import ColumnView
from seedbed.ui.board.card_delegate import CardDelegate
from seedbed.ui.board.moves import COLUMNS, MoveKind, MovePlan, plan_move
from seedbed.ui.common import format as fmt
from seedbed.ui.common.actions import add_action
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.context import AppContext

TICK_MS = 1000
RADAR_MS = 5000  # the conflict radar reads every active diff: at most this often

CARD_ACTIONS = [
    "edit_task",
    "start_task",
    "move_left",
    "move_right",
    "move_up",
    "move_down",
    "stop_task",
    "requeue_task",
    "resume_task",
    "approve_task",
    "discard_task",
    "pin_task",
]


def ask(parent: QWidget, text: str) -> bool:
    """The default confirmation: a modal question, No by default."""
    answer = QMessageBox.question(
        parent,
        "Seedbed",
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


class Board(QWidget):
    """Planned, Running, Awaiting review and Merged: filtered views of one TaskModel.

    Loads the project's cards through the engine thread and applies the changes the
    bridge names. Drops, context menus and shortcuts become moves planned by
    `moves.plan_move` and carried out by `operations` on the engine thread.

    Signals:
        task_selected(int): the current card changed (0: none).
        task_activated(int): a card was double-clicked or Enter was pressed on it.
        message_posted(str, bool): a sentence for the status bar; True when an error.
        edit_requested(int), discard_requested(int): the window opens those dialogs.
        loaded(): all the cards of a project arrived and are shown (each column's
            first cards are shown before, as soon as they come).

    The conflict radar (which active tasks change the same files) is asked on the engine
    thread at most every `radar_interval_ms` while tasks change; its answer goes to the
    model, and an answer for an older board (another project, a newer question) is dropped.
    """

    task_selected = Signal(int)
    task_activated = Signal(int)
    message_posted = Signal(str, bool)
    edit_requested = Signal(int)
    discard_requested = Signal(int)
    loaded = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.model = TaskModel(self)
        self.confirm: Callable[[str], bool] = lambda text: ask(self, text)
        self.columns: dict[TaskState, ColumnView] = {}
        self._headers: dict[TaskState, QLabel] = {}
        # A load drops what earlier loads and refreshes would still bring.
        self._cards = BackgroundCall(context.host, self)
        self._cards.failed.connect(self._on_call_failed)
        self._cards.failed.connect(self._on_cards_failed)
        self._refreshing = False  # a read of some cards is on its way (refresh_tasks)
        # Cards named while the whole board is read after its first cards (else None).
        self._changed_while_loading: set[int] | None = None
        self._refresh_next: set[int] = set()  # cards to read once it is back
        self._select_next = 0
        self._current = 0
        self.radar_interval_ms = RADAR_MS
        self.radar_call = BackgroundCall(context.host, self)
        self.radar_call.finished.connect(self._on_radar_call_finished)
        self.radar_call.failed.connect(self._on_call_failed)
        self._radar_asked = 0.0  # time.monotonic() of the last question
        self.actions_by_name: dict[str, QAction] = {}
        self.card_actions = CardActions(self, self)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for state in COLUMNS:
            proxy = ColumnModel(state, self)
            proxy.setSourceModel(self.model)
            view = ColumnView(proxy, self)
            view.setObjectName(f"column-{state.value}")
            view.drop_checker = functools.partial(self._refusal, target=state)
            view.dropped.connect(self._on_view_dropped)
            view.hover_refused.connect(self._on_view_hover_refused)
            view.selectionModel().currentChanged.connect(self._on_view_current_changed)
            view.doubleClicked.connect(self._on_view_activated)
            view.activated.connect(self._on_view_activated)
            view.customContextMenuRequested.connect(self._on_view_context_menu)
            header = QLabel()
            header.setObjectName(f"header-{state.value}")
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            box = QVBoxLayout()
            top = QHBoxLayout()
            top.addWidget(header, 1)
            if state is TaskState.MERGED:
                self.show_all = QCheckBox("show all")
                self.show_all.setToolTip("Show every merged task, not only the last days'")
                self.show_all.toggled.connect(self._on_show_all_toggled)
                top.addWidget(self.show_all)
            box.addLayout(top)
            box.addWidget(view, 1)
            layout.addLayout(box, 1)
            self.columns[state] = view
            self._headers[state] = header
        for name in CARD_ACTIONS:
            action = add_action(self, name, getattr(self.card_actions, name))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.actions_by_name[name] = action
        # Counting is cheap once, not once per card of a big update: coalesced.
        self._headers_timer = QTimer(self)
        self._headers_timer.setSingleShot(True)
        self._headers_timer.setInterval(0)
        self._headers_timer.timeout.connect(self._update_headers)
        for signal in (
            self.model.rowsInserted,
            self.model.rowsRemoved,
            self.model.rowsMoved,
            self.model.modelReset,
            self.model.dataChanged,
        ):
            signal.connect(lambda *_args: self._headers_timer.start())
        context.bridge.tasks_changed.connect(self._on_bridge_tasks_changed)
        context.settings.changed.connect(self._on_settings_changed)
        self._apply_window()
        self._ticks = 0
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick_timeout)
        self._tick.start()
        self._radar_timer = QTimer(self)
        self._radar_timer.setSingleShot(True)
        self._radar_timer.timeout.connect(self._on_radar_timeout)
        self._update_headers()

    # -- loading ---------------------------------------------------------------------

    def load(self, project_id: int | None) -> None:
        """Show a project's cards (read on the engine thread; stale answers dropped)."""
        self.context.project_id = project_id
        self._cards.drop()
        # Reads of some cards still on their way are dropped: the load reads them all.
        self._refreshing = False
        self._refresh_next.clear()
        self._changed_while_loading = None
        self.radar_call.drop()  # whatever the radar said was about the old board
        self.model.set_overlaps({})
        if project_id is None:
            self.model.set_cards([])
            self.loaded.emit()
            return
        # What the columns show first, painted before the rest is read, sent and parsed
        # (a thousand cards: ~0.1 s of the engine's and the window's time).
        self._cards.run(
            merging.board_cards,
            project_id,
            first=merging.FIRST_CARDS,
            on_done=functools.partial(self._on_first_cards_loaded, project_id),
        )

    def _on_first_cards_loaded(self, project_id: int, cards: list[Card]) -> None:
        self.model.set_cards(cards)
        self._changed_while_loading = set()
        self._cards.join(merging.board_cards, project_id, on_done=self._on_cards_loaded)

    def _on_cards_loaded(self, cards: list[Card]) -> None:
        current = self._current
        self.model.set_cards(cards)
        # Cards changed while the whole board was read may have been read before it:
        # read them again, so the older whole read does not stand over them.
        again, self._changed_while_loading = self._changed_while_loading, None
        if again:
            self.refresh_tasks(sorted(again))
        # Asked once the cards are in: at start it would hold up their read in the engine.
        self._schedule_radar()
        if current:
            self.select_task(current)
        self.loaded.emit()

    @Slot(object)
    def _on_bridge_tasks_changed(self, task_ids: list[int]) -> None:
        # A card that waits for a changed task says so ("after #12"): read it again too.
        changed = set(task_ids)
        waiting = [c.task.id for c in self.model.cards() if not changed.isdisjoint(c.task.after)]
        self.refresh_tasks(sorted(changed | set(waiting)))

    def refresh_tasks(self, task_ids: list[int], select: int = 0) -> None:
        """Read these cards again (engine thread) and apply them; then select `select`.

        One read at a time: cards named while one is on its way are read together right
        after it (20 running agents change their cards every 50 ms; a slow engine would
        otherwise have a read per change on its way, and the board repaint each)."""
        if self.context.project_id is None:
            return
        if self._changed_while_loading is not None:
            self._changed_while_loading.update(task_ids)
        self._schedule_radar()
        if self._refreshing:
            self._refresh_next.update(task_ids)
            self._select_next = select or self._select_next
            return
        self._refreshing = True
        asked = set(task_ids)
        self._cards.join(
            merging.board_cards,
            task_ids=sorted(asked),
            on_done=lambda cards: self._on_cards_changed(asked, cards, select),
        )

    def _refresh_queued(self) -> None:
        """The read on its way came back (or was dropped): read what was named meanwhile."""
        self._refreshing = False
        if self._refresh_next:
            task_ids, self._refresh_next = sorted(self._refresh_next), set()
            select, self._select_next = self._select_next, 0
            self.refresh_tasks(task_ids, select)

    def _on_cards_changed(self, asked: set[int], cards: list[Card], select: int) -> None:
        try:
            mine = [c for c in cards if c.task.project_id == self.context.project_id]
            gone = asked - {c.task.id for c in mine}
            moved_under = self._moved_under(mine)
            self.model.apply(mine, gone)
            if moved_under:  # read after this one, by _refresh_queued
                self.refresh_tasks(moved_under)
            if select:
                self.select_task(select)
            elif self._current and self.model.card(self._current) is not None:
                self.task_selected.emit(self._current)
        finally:
            self._refresh_queued()

    def _moved_under(self, cards: list[Card]) -> list[int]:
        """The cards awaiting review whose base one of `cards` just landed on: they say
        how far their base moved since their checks ran, so they are read again."""
        landed = set()
        for card in cards:
            shown = self.model.card(card.task.id)
            was_open = shown is not None and shown.task.state is not TaskState.MERGED
            if card.task.state is TaskState.MERGED and was_open:
                landed.add(card.task.base_branch)
        return [
            c.task.id
            for c in self.model.cards()
            if c.task.state is TaskState.AWAITING_REVIEW and c.task.base_branch in landed
        ]

    # -- the conflict radar ------------------------------------------------------------

    def _schedule_radar(self) -> None:
        """Ask the radar soon: now if it was not asked in the last interval, else once
        the interval is over (changes meanwhile are covered by that one question)."""
        if self._radar_timer.isActive():
            return
        since = (time.monotonic() - self._radar_asked) * 1000
        self._radar_timer.start(max(0, int(self.radar_interval_ms - since)))

    @Slot()
    def _on_radar_timeout(self) -> None:
        project_id = self.context.project_id
        if project_id is None:
            return
        self._radar_asked = time.monotonic()
        # An answer to an older question (or about another project) is dropped.
        self.radar_call.run(radar.overlapping_tasks, project_id)

    @Slot(object)
    def _on_radar_call_finished(self, found: Overlaps) -> None:
        self.model.set_overlaps(found)

    # -- selection -------------------------------------------------------------------

    def selected_task_id(self) -> int:
        return self._current

    def selected_card(self) -> Card | None:
        return self.model.card(self._current) if self._current else None

    def select_task(self, task_id: int) -> bool:
        card = self.model.card(task_id)
        if card is None:
            return False
        view = self.columns.get(card.task.state)
        if view is None:
            return False
        proxy = view.column_model()
        index = proxy.mapFromSource(self.model.index_of(task_id))
        if not index.isValid():
            if card.task.state is TaskState.MERGED:
                self.show_all.setChecked(True)
                index = proxy.mapFromSource(self.model.index_of(task_id))
            if not index.isValid():
                return False
        view.setCurrentIndex(index)
        view.scrollTo(index)
        view.setFocus()
        return True

    @Slot(QModelIndex, QModelIndex)
    def _on_view_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        task_id = int(current.data(Role.TASK_ID))
        for view in self.columns.values():
            if view.selectionModel() is not self.sender():
                view.clearSelection()
        if task_id != self._current:
            self._current = task_id
            self.task_selected.emit(task_id)

    @Slot(QModelIndex)
    def _on_view_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.task_activated.emit(int(index.data(Role.TASK_ID)))

    # -- moves -----------------------------------------------------------------------

    def _refusal(self, task_id: int, target: TaskState) -> str:
        card = self.model.card(task_id)
        if card is None:
            return "That card is not on this board."
        if self.context.read_only:
            return "Read-only: the engine of this data dir stopped."
        plan = plan_move(card.task, target)
        return plan.message if plan.kind is MoveKind.REFUSE else ""

    @Slot(int, str)
    def _on_view_hover_refused(self, _task_id: int, refusal: str) -> None:
        self.message_posted.emit(refusal, True)

    @Slot(int, str, int)
    def _on_view_dropped(self, task_id: int, state: str, before_id: int) -> None:
        self.move(task_id, TaskState(state), before_id or None)

    # Shadows QWidget.move (the card actions and tests call it): a rename for the ui split.
    def move(self, task_id: int, target: TaskState, before_id: int | None = None) -> None:  # type: ignore[override]
        """Move a card to a column (and within Planned, before another card)."""
        card = self.model.card(task_id)
        if card is None:
            return
        if self.context.read_only:
            self.message_posted.emit(
                "Read-only: the engine of this data dir stopped; nothing was changed.", True
            )
            return
        strategy = self.context.settings.value.merge_strategy
        plan = plan_move(card.task, target, strategy.value)
        if plan.kind is MoveKind.REFUSE:
            self.message_posted.emit(plan.message, True)
            return
        if plan.kind is MoveKind.NOTHING:
            return
        if plan.confirm and not self.confirm(plan.confirm):
            self.message_posted.emit("Nothing changed.", False)
            return
        call: tuple[Any, ...]
        if plan.kind is MoveKind.REORDER:
            call = (move_before, task_id, before_id)
        elif plan.kind is MoveKind.START or plan.kind is MoveKind.RESUME:
            call = (start_task, task_id)
        elif plan.kind is MoveKind.REQUEUE:
            call = (control_task, task_id, Control.REQUEUE)
        else:
            delete = self.context.settings.value.delete_branch_after_merge
            approve = functools.partial(
                merging.approve,
                strategy=strategy,
                delete_branch=delete,
                asked_at=ANNOUNCED.announce(task_id),  # its place in the queue: the drops'
            )
            call = (approve, task_id)
        self.run_move(plan, task_id, *call)

    def run_move(self, plan: MovePlan, task_id: int, fn: Callable[..., Any], *args: Any) -> None:
        """Carry out a move on the engine thread; the card follows what the store says."""

        def done(_result: object) -> None:
            if plan.message:
                self.message_posted.emit(plan.message, False)
            # A reorder renumbers the whole queue; anything else changes one card.
            changed = [task_id]
            if plan.kind is MoveKind.REORDER:
                changed = [c.task.id for c in self.model.cards()]
            self.refresh_tasks(changed)

        self.context.host.call(
            fn,
            *args,
            on_done=done,
            on_error=self._on_move_failed,
            owner=self,
            waits=plan.kind is MoveKind.APPROVE,
        )

    def _on_move_failed(self, error: BaseException) -> None:
        """A refused move (a conflict, a dirty base checkout, a race): say why, in a box
        that does not block, and show the cards as the store has them."""
        message = str(error)
        self.message_posted.emit(message, True)
        box = QMessageBox(QMessageBox.Icon.Warning, "Seedbed", message, parent=self)
        box.setObjectName("move-failed")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.load(self.context.project_id)

    @Slot(str)
    def _on_call_failed(self, message: str) -> None:
        self.message_posted.emit(message, True)

    @Slot(str)
    def _on_cards_failed(self, _message: str) -> None:
        self._refresh_queued()

    @Slot(QPoint)
    def _on_view_context_menu(self, pos: QPoint) -> None:
        view = self.sender()
        assert isinstance(view, ColumnView)
        index = view.indexAt(pos)
        if not index.isValid():
            return
        view.setCurrentIndex(index)
        card: Card = index.data(Role.ITEM)
        menu = QMenu(self)
        for name in self._menu_for(card):
            if name == "-":
                menu.addSeparator()
            else:
                menu.addAction(self.actions_by_name[name])
        menu.popup(view.viewport().mapToGlobal(pos))

    @staticmethod
    def _menu_for(card: Card) -> list[str]:
        state = card.task.state
        if state is TaskState.PLANNED:
            return [
                "start_task",
                "edit_task",
                "-",
                "move_up",
                "move_down",
                "-",
                "pin_task",
                "-",
                "discard_task",
            ]
        if state is TaskState.RUNNING:
            return ["stop_task", "requeue_task", "-", "pin_task"]
        if card.task.phase is Phase.NEEDS_INPUT:  # its agent runs, waiting on the answer
            return ["stop_task", "-", "pin_task"]
        if state is TaskState.AWAITING_REVIEW:
            return ["approve_task", "resume_task", "-", "pin_task", "-", "discard_task"]
        return []

    # -- looks -----------------------------------------------------------------------

    @Slot(bool)
    def _on_show_all_toggled(self, _checked: bool) -> None:
        self._apply_window()

    @Slot(object)
    def _on_settings_changed(self, _settings: object) -> None:
        self._apply_window()

    def _apply_window(self) -> None:
        days = self.context.settings.value.merged_days
        merged = self.columns[TaskState.MERGED].column_model()
        merged.set_window(days, self.show_all.isChecked())
        self._update_headers()

    def _update_headers(self, *_args: object) -> None:
        for state, header in self._headers.items():
            proxy = self.columns[state].column_model()
            text = f"{LABELS[state]}  {proxy.rowCount()}"
            if state is TaskState.RUNNING:
                cards = (proxy.index(row, 0).data(Role.ITEM) for row in range(proxy.rowCount()))
                phases = [card.task.phase for card in cards if card is not None]
                text = fmt.running_header(LABELS[state], phases)
            elif state is TaskState.MERGED:
                hidden = proxy.hidden_count()
                if hidden:
                    text += f"  (+{hidden} older)"
            header.setText(text)

    @Slot()
    def _on_tick_timeout(self) -> None:
        """Running cards show their elapsed time: repaint it every second, and only it
        (a card's own picture is cached; each Qt call of a repaint may wait for the GIL
        while agents stream). Once an hour the Merged column's time window moves on."""
        self._ticks += 1
        if self._ticks % 3600 == 0:
            self._apply_window()
        view = self.columns[TaskState.RUNNING]
        proxy = view.column_model()
        viewport = view.viewport()
        shown = viewport.rect()
        delegate = view.itemDelegate()
        for row in range(proxy.rowCount()):
            index = proxy.index(row, 0)
            rect = view.visualRect(index)
            if not rect.intersects(shown):
                continue
            spot = None
            if isinstance(delegate, CardDelegate):
                spot = delegate.elapsed_spot(int(index.data(Role.TASK_ID)))
            viewport.update(rect if spot is None else spot.translated(rect.topLeft()))
