"""The board's model: every card of the current project, one list, filtered per column."""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
)

from seedbed.core.radar import budget_note
from seedbed.domain.models import Card, TaskState
from seedbed.ui.common import format as fmt

MIME_TYPE = "application/x-seedbed-task"
DAY_SECONDS = 86_400.0

Index = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    ITEM = Qt.ItemDataRole.UserRole + 1  # the Card
    TASK_ID = Qt.ItemDataRole.UserRole + 2
    STATE = Qt.ItemDataRole.UserRole + 3
    COLUMN = Qt.ItemDataRole.UserRole + 4  # the state, or "merged-old" past the window
    OVERLAPS = Qt.ItemDataRole.UserRole + 5  # [(other task id, [files both change])]


Overlaps = dict[int, list[tuple[int, list[str]]]]


STATE_RANK = {state: rank for rank, state in enumerate(TaskState)}


def board_key(card: Card) -> tuple[int, float, int]:
    """Where a card sits in the model: by column, then in the column's own order.

    Planned and Running keep the queue order; Awaiting review shows the oldest first
    (the order to work through them); Merged the newest first. The columns' proxies
    then only filter and never sort: sorting a thousand cards through Python calls
    cost more than the whole rest of painting the board.
    """
    task = card.task
    if task.state is TaskState.AWAITING_REVIEW:
        return (STATE_RANK[task.state], task.updated_at, task.id)
    if task.state in (TaskState.MERGED, TaskState.DISCARDED):
        return (STATE_RANK[task.state], -task.updated_at, -task.id)
    return (STATE_RANK[task.state], float(task.position), task.id)


class TaskModel(QAbstractListModel):
    """The project's cards (Card pydantic objects) in board order, kept in sync by
    `apply`.

    Updates name the cards that changed: a card is replaced in place (dataChanged) or
    moved to its new place (a move, so views keep their selection), a new one is
    inserted where it belongs, a gone one removed; nothing is reset for one change.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._cards: list[Card] = []
        self._keys: list[tuple[int, float, int]] = []
        self._rows: dict[int, int] = {}
        self._overlaps: Overlaps = {}
        self.merged_since = 0.0

    # -- content ---------------------------------------------------------------------

    def set_cards(self, cards: list[Card]) -> None:
        self.beginResetModel()
        self._cards = sorted(cards, key=board_key)
        self._keys = [board_key(card) for card in self._cards]
        self._reindex()
        self.endResetModel()

    def set_merged_since(self, since: float) -> None:
        """Merged cards older than `since` are "merged-old" in the COLUMN role."""
        self.merged_since = since
        if self._cards:
            self.dataChanged.emit(self.index(0), self.index(len(self._cards) - 1), [Role.COLUMN])

    def set_overlaps(self, overlaps: Overlaps) -> None:
        """The conflict radar's answer: per task, the other tasks that change some of the
        same files. Only the cards whose overlaps changed are repainted."""
        found = {task_id: others for task_id, others in overlaps.items() if others}
        changed = found.keys() ^ self._overlaps.keys() | {
            task_id for task_id in found.keys() & self._overlaps.keys()
            if found[task_id] != self._overlaps[task_id]
        }  # fmt: skip
        self._overlaps = found
        for task_id in changed:
            row = self._rows.get(task_id)
            if row is not None:
                index = self.index(row)
                self.dataChanged.emit(index, index, [Role.OVERLAPS, Qt.ItemDataRole.ToolTipRole])

    def overlaps(self, task_id: int) -> list[tuple[int, list[str]]]:
        return self._overlaps.get(task_id, [])

    def apply(self, cards: list[Card], gone: set[int] | frozenset[int] = frozenset()) -> None:
        """Replace or add these cards; remove the tasks in `gone`."""
        for task_id in gone:
            row = self._rows.get(task_id)
            if row is None:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._cards[row]
            del self._keys[row]
            self._reindex()
            self.endRemoveRows()
        for card in cards:
            key = board_key(card)
            row = self._rows.get(card.task.id)
            if row is None:
                row = bisect.bisect(self._keys, key)
                self.beginInsertRows(QModelIndex(), row, row)
                self._cards.insert(row, card)
                self._keys.insert(row, key)
                self._reindex()
                self.endInsertRows()
                continue
            if key != self._keys[row]:
                # Where it belongs once taken out of its row.
                rest = self._keys[:row] + self._keys[row + 1 :]
                target = bisect.bisect(rest, key)
                if target != row:
                    # Qt counts the destination before the move: one more when moving down.
                    self.beginMoveRows(
                        QModelIndex(), row, row, QModelIndex(), target + (target > row)
                    )
                    del self._cards[row]
                    del self._keys[row]
                    self._cards.insert(target, card)
                    self._keys.insert(target, key)
                    self._reindex()
                    self.endMoveRows()
                    row = target
            if card == self._cards[row]:
                continue  # told about it, but nothing the board shows changed
            self._cards[row] = card
            self._keys[row] = key
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def card(self, task_id: int) -> Card | None:
        row = self._rows.get(task_id)
        return None if row is None else self._cards[row]

    def cards(self) -> list[Card]:
        return list(self._cards)

    def index_of(self, task_id: int) -> QModelIndex:
        row = self._rows.get(task_id)
        return QModelIndex() if row is None else self.index(row)

    def _reindex(self) -> None:
        self._rows = {card.task.id: row for row, card in enumerate(self._cards)}

    # -- QAbstractListModel ----------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cards)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()  # -1 for an invalid index
        if not 0 <= row < len(self._cards):
            return None
        card = self._cards[row]
        if role == Role.COLUMN:  # first: each column's filter asks it of every card
            task = card.task
            if task.state is TaskState.MERGED and task.updated_at < self.merged_since:
                return "merged-old"
            return task.state.value
        if role == Qt.ItemDataRole.DisplayRole:
            return card.task.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(card, self.overlaps(card.task.id))
        if role == Role.OVERLAPS:
            return self.overlaps(card.task.id)
        if role == Role.ITEM:
            return card
        if role == Role.TASK_ID:
            return card.task.id
        if role == Role.STATE:
            return card.task.state.value
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        return (
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
        )

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        ids = [str(self.data(i, Role.TASK_ID)) for i in indexes if i.isValid()]
        mime.setData(MIME_TYPE, ",".join(ids[:1]).encode())
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction


def tooltip(card: Card, overlaps: list[tuple[int, list[str]]]) -> str:
    """The card's prompt, then what it warns about: a diff past the budget, files that
    other tasks change too."""
    parts = [card.task.prompt[:500]]
    note = budget_note(fmt.diff_lines(card), card.diff_budget)
    if note:
        parts.append(f"Diff budget: {note}.")
    if overlaps:
        parts.append(fmt.overlap_note(overlaps))
    if card.sandboxed:
        parts.append(f"Sandboxed: {card.profile_name} runs its agent in a sandbox.")
    return "\n\n".join(part for part in parts if part)


def task_id_from_mime(mime: QMimeData) -> int | None:
    if not mime.hasFormat(MIME_TYPE):
        return None
    text = bytes(mime.data(MIME_TYPE).data()).decode()
    return int(text) if text.isdigit() else None


class ColumnModel(QSortFilterProxyModel):
    """One column of the board: the cards of one state, in the model's (board) order.

    Filtering is Qt's own (a fixed string on the COLUMN role), and nothing is sorted
    here: the model is kept in board order. Merged shows only the cards of the last
    `merged_days` unless `show_all`.
    """

    def __init__(self, state: TaskState, parent: Any = None) -> None:
        super().__init__(parent)
        self.state = state
        self.merged_days = 7
        self.show_all = False
        self.setFilterRole(Role.COLUMN)
        self.setDynamicSortFilter(True)
        self._apply_filter()

    def setSourceModel(self, source: QAbstractItemModel) -> None:
        super().setSourceModel(source)
        if self.state is TaskState.MERGED:
            self.set_window(self.merged_days, self.show_all)

    def set_window(self, merged_days: int, show_all: bool) -> None:
        """The Merged column's time window (the model marks older merges)."""
        self.merged_days = merged_days
        self.show_all = show_all
        source = self.sourceModel()
        if isinstance(source, TaskModel):
            source.set_merged_since(time.time() - merged_days * DAY_SECONDS)
        self._apply_filter()

    def _apply_filter(self) -> None:
        if self.state is TaskState.MERGED and self.show_all:
            pattern = QRegularExpression("^merged")
        else:
            pattern = QRegularExpression(f"^{self.state.value}$")
        self.setFilterRegularExpression(pattern)

    def hidden_count(self) -> int:
        """Cards of this state that the time window hides."""
        source = self.sourceModel()
        if source is None or self.state is not TaskState.MERGED or self.show_all:
            return 0
        return sum(
            1
            for row in range(source.rowCount())
            if source.index(row, 0).data(Role.COLUMN) == "merged-old"
        )
