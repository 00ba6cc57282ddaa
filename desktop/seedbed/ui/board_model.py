"""The board's model: every card of the current project, one list, filtered per column."""

from __future__ import annotations

import time
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from seedbed.domain.models import Card, TaskState

MIME_TYPE = "application/x-seedbed-task"
DAY_SECONDS = 86_400.0

Index = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    ITEM = Qt.ItemDataRole.UserRole + 1  # the Card
    TASK_ID = Qt.ItemDataRole.UserRole + 2
    STATE = Qt.ItemDataRole.UserRole + 3


class TaskModel(QAbstractListModel):
    """The project's cards (Card pydantic objects), kept in sync by `apply`.

    Updates name the cards that changed: a card is replaced in place (dataChanged), a
    new one is appended, a gone one removed; nothing is reset for a single change.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._cards: list[Card] = []
        self._rows: dict[int, int] = {}

    # -- content ---------------------------------------------------------------------

    def set_cards(self, cards: list[Card]) -> None:
        self.beginResetModel()
        self._cards = list(cards)
        self._reindex()
        self.endResetModel()

    def apply(self, cards: list[Card], gone: set[int] | frozenset[int] = frozenset()) -> None:
        """Replace or add these cards; remove the tasks in `gone`."""
        for task_id in gone:
            row = self._rows.get(task_id)
            if row is None:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._cards[row]
            self._reindex()
            self.endRemoveRows()
        for card in cards:
            row = self._rows.get(card.task.id)
            if row is None:
                row = len(self._cards)
                self.beginInsertRows(QModelIndex(), row, row)
                self._cards.append(card)
                self._rows[card.task.id] = row
                self.endInsertRows()
            else:
                self._cards[row] = card
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
        if not index.isValid() or not 0 <= index.row() < len(self._cards):
            return None
        card = self._cards[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return card.task.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return card.task.prompt[:500]
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

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        ids = [str(self.data(i, Role.TASK_ID)) for i in indexes if i.isValid()]
        mime.setData(MIME_TYPE, ",".join(ids[:1]).encode())
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction


def task_id_from_mime(mime: QMimeData) -> int | None:
    if not mime.hasFormat(MIME_TYPE):
        return None
    text = bytes(mime.data(MIME_TYPE).data()).decode()
    return int(text) if text.isdigit() else None


class ColumnModel(QSortFilterProxyModel):
    """One column of the board: the cards in one state, in the column's order.

    Planned and Running keep the queue order; Awaiting review shows the oldest first
    (the order to work through them); Merged shows the newest first, and only those of
    the last `merged_days` unless `show_all`.
    """

    def __init__(self, state: TaskState, parent: Any = None) -> None:
        super().__init__(parent)
        self.state = state
        self.merged_days = 7
        self.show_all = False
        self.setDynamicSortFilter(True)
        self.sort(0)

    def set_window(self, merged_days: int, show_all: bool) -> None:
        self.beginFilterChange()
        self.merged_days = merged_days
        self.show_all = show_all
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def hidden_count(self) -> int:
        """Cards of this state that the time window hides."""
        source = self.sourceModel()
        if source is None:
            return 0
        total = sum(
            1
            for row in range(source.rowCount())
            if source.index(row, 0).data(Role.STATE) == self.state.value
        )
        return total - self.rowCount()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        source = self.sourceModel()
        card: Card | None = source.index(source_row, 0, source_parent).data(Role.ITEM)
        if card is None or card.task.state is not self.state:
            return False
        if self.state is TaskState.MERGED and not self.show_all:
            return card.task.updated_at >= time.time() - self.merged_days * DAY_SECONDS
        return True

    def lessThan(self, left: Index, right: Index) -> bool:
        a: Card = left.data(Role.ITEM)
        b: Card = right.data(Role.ITEM)
        if self.state is TaskState.MERGED:
            return (a.task.updated_at, a.task.id) > (b.task.updated_at, b.task.id)
        if self.state is TaskState.AWAITING_REVIEW:
            return (a.task.updated_at, a.task.id) < (b.task.updated_at, b.task.id)
        return (a.task.position, a.task.id) < (b.task.position, b.task.id)
