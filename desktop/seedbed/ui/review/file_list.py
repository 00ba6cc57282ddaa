"""The reviewer's file list: a flat model sorted by path (so grouped by directory), a
painter for status, path and counts, the "viewed" ticks and a filter box."""

from __future__ import annotations

import hashlib
import json
from enum import IntEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from seedbed.domain.diffs import FileDiff
from seedbed.ui import theme

VIEWED_FILE = "review_viewed.json"

Index = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    ITEM = Qt.ItemDataRole.UserRole + 1
    PATH = Qt.ItemDataRole.UserRole + 2
    STATUS = Qt.ItemDataRole.UserRole + 3
    VIEWED = Qt.ItemDataRole.UserRole + 4


def content_key(file: FileDiff) -> str:
    """A hash of what the file's diff says: a file that changes again is unviewed."""
    return hashlib.sha256(file.model_dump_json().encode()).hexdigest()[:20]


def display_path(file: FileDiff) -> str:
    if file.old_path and file.old_path != file.path:
        return f"{file.old_path} → {file.path}"
    return file.path


class ViewedStore:
    """The "viewed" ticks, per task, path and content, in a small JSON in the data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / VIEWED_FILE
        self._data: dict[str, dict[str, str]] = {}
        # id(FileDiff) → (the FileDiff, its content key), for the files shown now.
        self._keys: dict[int, tuple[FileDiff, str]] = {}
        try:
            loaded = json.loads(self.path.read_text())
            if isinstance(loaded, dict):
                self._data = {str(k): dict(v) for k, v in loaded.items() if isinstance(v, dict)}
        except (OSError, ValueError):
            self._data = {}

    def is_viewed(self, task_id: int, file: FileDiff) -> bool:
        tick = self._data.get(str(task_id), {}).get(file.path)
        # Hashing a big file's diff on every paint of its row cost milliseconds: only a
        # ticked file needs its content compared, and each FileDiff is hashed once.
        return tick is not None and tick == self._key(file)

    def forget_keys(self) -> None:
        """The files shown changed: drop the keys of the old ones (and the files)."""
        self._keys.clear()

    def _key(self, file: FileDiff) -> str:
        key = self._keys.get(id(file))
        if key is None or key[0] is not file:
            key = (file, content_key(file))
            self._keys[id(file)] = key
        return key[1]

    def set_viewed(self, task_id: int, file: FileDiff, viewed: bool) -> None:
        ticks = self._data.setdefault(str(task_id), {})
        if viewed:
            ticks[file.path] = content_key(file)
        else:
            ticks.pop(file.path, None)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._data, indent=1, sort_keys=True))
        tmp.replace(self.path)


class FileListModel(QAbstractListModel):
    """One row per changed file, sorted by path; checkable ("viewed")."""

    def __init__(self, viewed: ViewedStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.viewed = viewed
        self.task_id = 0
        self._files: list[FileDiff] = []

    def set_files(self, task_id: int, files: list[FileDiff]) -> None:
        self.beginResetModel()
        self.task_id = task_id
        self.viewed.forget_keys()
        self._files = sorted(files, key=lambda f: f.path)
        self.endResetModel()

    def files(self) -> list[FileDiff]:
        return list(self._files)

    def row_of(self, path: str) -> int:
        return next((i for i, f in enumerate(self._files) if f.path == path), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._files)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsUserCheckable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._files):
            return None
        file = self._files[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return display_path(file)
        if role == Role.ITEM:
            return file
        if role == Role.PATH:
            return file.path
        if role == Role.STATUS:
            return file.status
        if role in (Role.VIEWED, Qt.ItemDataRole.CheckStateRole):
            viewed = self.viewed.is_viewed(self.task_id, file)
            if role == Role.VIEWED:
                return viewed
            return Qt.CheckState.Checked if viewed else Qt.CheckState.Unchecked
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.CheckStateRole:
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, True)
        self.viewed.set_viewed(self.task_id, self._files[index.row()], checked)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole, Role.VIEWED])
        return True


def status_color(palette: QPalette, status: str) -> QColor:
    if status == "A":
        return theme.success(palette)
    if status == "D":
        return theme.danger(palette)
    if status in "RC":
        return theme.warning(palette)
    return theme.accent(palette)


class FileDelegate(QStyledItemDelegate):
    """Paints the check, the status letter in its colour, the path (muted once viewed)
    and +/- counts on the right."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(200, option.fontMetrics.height() + 6)

    def editorEvent(
        self,
        event: QEvent,
        model: QAbstractItemModel,
        option: QStyleOptionViewItem,
        index: Index,
    ) -> bool:
        """A click on the painted tick toggles "viewed"."""
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and event.position().x() - option.rect.left() < option.rect.height() + 4
        ):
            viewed = bool(index.data(Role.VIEWED))
            state = Qt.CheckState.Unchecked if viewed else Qt.CheckState.Checked
            return model.setData(index, state, Qt.ItemDataRole.CheckStateRole)
        return False

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        file: FileDiff | None = index.data(Role.ITEM)
        if file is None:
            return
        palette = option.palette
        style = option.widget.style() if option.widget else None
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, palette.color(QPalette.ColorRole.Highlight))
        text_color = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        rect = option.rect.adjusted(4, 0, -4, 0)
        box = QStyleOptionViewItem(option)
        size = rect.height() - 8
        box.rect = QRect(rect.left(), rect.top() + 4, size, size)
        viewed = bool(index.data(Role.VIEWED))
        box.state = QStyle.StateFlag.State_Enabled | (
            QStyle.StateFlag.State_On if viewed else QStyle.StateFlag.State_Off
        )
        if style is not None:
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck, box, painter, option.widget
            )
        metrics = option.fontMetrics
        x = rect.left() + size + 6
        painter.setPen(status_color(palette, file.status))
        letter_rect = QRect(x, rect.top(), metrics.horizontalAdvance("M") + 4, rect.height())
        painter.drawText(letter_rect, Qt.AlignmentFlag.AlignVCenter, file.status)
        counts = "bin" if file.binary else f"+{file.insertions} \u2212{file.deletions}"
        counts_width = metrics.horizontalAdvance(counts) + 4
        painter.setPen(theme.muted(palette) if not selected else text_color)
        count_rect = QRect(rect.right() - counts_width, rect.top(), counts_width, rect.height())
        painter.drawText(
            count_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, counts
        )
        path_rect = QRect(letter_rect.right() + 2, rect.top(), 0, rect.height())
        path_rect.setRight(count_rect.left() - 6)
        painter.setPen(theme.muted(palette) if viewed and not selected else text_color)
        elided = metrics.elidedText(
            display_path(file), Qt.TextElideMode.ElideLeft, path_rect.width()
        )
        painter.drawText(path_rect, Qt.AlignmentFlag.AlignVCenter, elided)
        painter.restore()


class FileList(QWidget):
    """The filter box over the list of files.

    Signals:
        file_selected(object): the FileDiff now current (None when nothing is).
    """

    file_selected = Signal(object)

    def __init__(self, viewed: ViewedStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = FileListModel(viewed, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_box = QLineEdit(self)
        self.filter_box.setPlaceholderText("Filter files")
        self.filter_box.setClearButtonEnabled(True)
        self.view = QListView(self)
        self.view.setModel(self.proxy)
        self.view.setItemDelegate(FileDelegate(self.view))
        self.view.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.view, 1)
        self.filter_box.textChanged.connect(self._on_filter_box_text_changed)
        self.view.selectionModel().currentChanged.connect(self._on_selection_current_changed)

    def set_files(self, task_id: int, files: list[FileDiff], keep: str | None) -> None:
        """Show these files; `keep` stays current when it is still there."""
        self.model.set_files(task_id, files)
        row = self.model.row_of(keep) if keep else -1
        self.select_row(max(row, 0) if self.model.rowCount() else -1)

    def select_row(self, source_row: int) -> None:
        if source_row < 0:
            self.file_selected.emit(None)
            return
        index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        if index.isValid():
            self.view.setCurrentIndex(index)

    def current_file(self) -> FileDiff | None:
        return self.view.currentIndex().data(Role.ITEM)

    def step(self, delta: int) -> None:
        """The next (1) or previous (-1) file in the list as filtered."""
        count = self.proxy.rowCount()
        if not count:
            return
        row = self.view.currentIndex().row()
        row = 0 if row < 0 else min(max(row + delta, 0), count - 1)
        self.view.setCurrentIndex(self.proxy.index(row, 0))

    def toggle_viewed(self) -> None:
        index = self.view.currentIndex()
        if index.isValid():
            viewed = bool(index.data(Role.VIEWED))
            state = Qt.CheckState.Unchecked if viewed else Qt.CheckState.Checked
            self.proxy.setData(index, state, Qt.ItemDataRole.CheckStateRole)

    @Slot(str)
    def _on_filter_box_text_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    @Slot(QModelIndex, QModelIndex)
    def _on_selection_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.file_selected.emit(current.data(Role.ITEM) if current.isValid() else None)
