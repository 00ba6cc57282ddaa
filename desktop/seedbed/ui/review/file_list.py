"""The reviewer's file list: a flat model of the changed files in tree order, the
"viewed" ticks, and the widget that shows them as a tree (file_tree.py) under a filter
box."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSignalBlocker,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import QLineEdit, QTreeView, QVBoxLayout, QWidget

from seedbed.domain.diffs import FileDiff
from seedbed.ui.review.file_tree import FILE_FLAGS, FileTreeModel, Role, tree_key
from seedbed.ui.review.file_tree import FileDelegate as FileDelegate
from seedbed.ui.review.file_tree import status_color as status_color

VIEWED_FILE = "review_viewed.json"
INDENTATION = 14  # px per tree level

Index = QModelIndex | QPersistentModelIndex


def content_key(file: FileDiff) -> str:
    """What the file's diff is, hashed: a file that changes again is unviewed.

    Git's blob ids say it for the two sides, and an outline (hunks not read yet) has them
    too, so a tick set or shown before the whole diff is read stays right after. A file
    without them (built by hand) is hashed whole."""
    if file.old_blob is None and file.new_blob is None:
        what = file.model_dump_json(exclude={"outline"})
    else:
        sides = (file.status, file.old_path, file.path, file.old_blob, file.new_blob)
        what = "\0".join(str(part) for part in sides)
    return hashlib.sha256(what.encode()).hexdigest()[:20]


def display_path(file: FileDiff) -> str:
    if file.old_path and file.old_path != file.path:
        return f"{file.old_path} → {file.path}"
    return file.path


class ViewedStore:
    """The "viewed" ticks, per task, path and content, in a small JSON in the data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / VIEWED_FILE
        self._data = self._read()
        # id(FileDiff) → (the FileDiff, its content key), for the files shown now.
        self._keys: dict[int, tuple[FileDiff, str]] = {}

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            loaded = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {str(k): dict(v) for k, v in loaded.items() if isinstance(v, dict)}

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
        """Tick or untick; the file on disk is read again first, so that the ticks
        another reviewer window wrote meanwhile are kept."""
        ticks = self._data.get(str(task_id), {})  # one window per task: these are current
        self._data = self._read()
        self._data[str(task_id)] = ticks
        if viewed:
            ticks[file.path] = content_key(file)
        else:
            ticks.pop(file.path, None)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._data, indent=1, sort_keys=True))
        tmp.replace(self.path)


class FileListModel(QAbstractListModel):
    """One row per changed file, in the tree's order (tree_key); checkable ("viewed")."""

    def __init__(self, viewed: ViewedStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.viewed = viewed
        self.task_id = 0
        self._files: list[FileDiff] = []

    def set_files(self, task_id: int, files: list[FileDiff]) -> None:
        self.beginResetModel()
        self.task_id = task_id
        self.viewed.forget_keys()
        self._files = sorted(files, key=lambda f: tree_key(f.path))
        self.endResetModel()

    def files(self) -> list[FileDiff]:
        return list(self._files)

    def row_of(self, path: str) -> int:
        return next((i for i, f in enumerate(self._files) if f.path == path), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._files)

    def flags(self, index: Index) -> Qt.ItemFlag:
        return FILE_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

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


class FileList(QWidget):
    """The filter box over the tree of files. A directory row is never "the file":
    selecting one emits nothing, clicking one opens or closes it, stepping skips it.
    Typing a filter keeps the file current while it still shows; once it is filtered
    out, no file is current (and that is said: the diff beside clears), until a filter
    shows it again or another file is chosen.

    Signals:
        file_selected(object): the FileDiff now current (None when nothing is).
    """

    file_selected = Signal(object)

    def __init__(self, viewed: ViewedStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = FileListModel(viewed, self)
        self.tree = FileTreeModel(self.model, self)
        self._closed: set[str] = set()  # the directories the reviewer closed
        self._selected: str | None = None  # the path of the file last made current
        self._announced: FileDiff | None = None  # the file file_selected last said
        self._quiet = False
        self.filter_box = QLineEdit(self)
        self.filter_box.setPlaceholderText("Filter files")
        self.filter_box.setClearButtonEnabled(True)
        self.view = QTreeView(self)
        self.view.setModel(self.tree)
        self.view.setHeaderHidden(True)
        self.view.setUniformRowHeights(True)
        self.view.setIndentation(INDENTATION)
        self.view.setExpandsOnDoubleClick(False)  # a click does it
        self.view.setItemDelegate(FileDelegate(self.view))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.view, 1)
        self.filter_box.textChanged.connect(self._on_filter_box_text_changed)
        self.view.selectionModel().currentChanged.connect(self._on_selection_current_changed)
        self.view.clicked.connect(self._on_view_clicked)
        self.view.collapsed.connect(self._on_view_collapsed)
        self.view.expanded.connect(self._on_view_expanded)

    def set_files(self, task_id: int, files: list[FileDiff], keep: str | None) -> None:
        """Show these files; `keep` stays current when it is still there (and passes the
        filter), else the first file shown is. A refresh that keeps the file keeps the
        list where the user scrolled it (a live diff is read every few seconds)."""
        bar = self.view.verticalScrollBar()
        scrolled = bar.value()
        self.model.set_files(task_id, files)
        self._open_directories()
        row = self.model.row_of(keep) if keep else -1
        if row < 0 or not self.tree.shows(row):
            row = self._next_shown(-1, 1)
        self.select_row(row)
        if keep is not None and row == self.model.row_of(keep):
            bar.setValue(scrolled)

    def select_row(self, source_row: int) -> None:
        """Make the model's row current, opening its directories, and say so (even when
        it already was: asked for, the file is shown afresh); -1: no file."""
        if source_row < 0:
            self._announce(None)
            return
        index = self.tree.file_index(source_row)
        if not index.isValid():
            return
        parent = index.parent()
        while parent.isValid():
            if not self.view.isExpanded(parent):
                self.view.expand(parent)
            parent = parent.parent()
        if index != self.view.currentIndex():
            self.view.setCurrentIndex(index)
        elif not self._quiet:
            self._announce(index.data(Role.ITEM))

    def _announce(self, file: FileDiff | None) -> None:
        self._announced = file
        self.file_selected.emit(file)

    def current_file(self) -> FileDiff | None:
        return self.view.currentIndex().data(Role.ITEM)

    def step(self, delta: int) -> None:
        """The next (1) or previous (-1) file as the tree shows them, past directories;
        the first file when none is current."""
        node = self.tree.node_at(self.view.currentIndex())
        if node is None:
            first = self._next_shown(-1, 1)
            if first >= 0:
                self.select_row(first)
            return
        row = node.file_row
        if node.is_dir:  # its files follow it: the next file is its first
            row = node.first - 1 if delta > 0 else node.first
        target = -1
        for _ in range(abs(delta)):
            row = self._next_shown(row, 1 if delta > 0 else -1)
            if row < 0:
                break
            target = row
        if target >= 0:
            self.select_row(target)

    def toggle_viewed(self) -> None:
        index = self.view.currentIndex()
        if index.data(Role.ITEM) is not None:
            viewed = bool(index.data(Role.VIEWED))
            state = Qt.CheckState.Unchecked if viewed else Qt.CheckState.Checked
            self.tree.setData(index, state, Qt.ItemDataRole.CheckStateRole)

    def _next_shown(self, row: int, direction: int) -> int:
        """The first row the filter shows after `row` going `direction` (1 or -1); -1
        when none."""
        row += direction
        while 0 <= row < self.model.rowCount():
            if self.tree.shows(row):
                return row
            row += direction
        return -1

    def _open_directories(self) -> None:
        """All open but those the reviewer closed (while filtering, all matches show)."""
        with QSignalBlocker(self.view):  # expandAll says "expanded": it is not the reviewer
            self.view.expandAll()
            if not self.tree.needle:
                for path in self._closed:
                    index = self.tree.dir_index(path)
                    if index.isValid():
                        self.view.collapse(index)

    def _dir_path(self, index: QModelIndex) -> str | None:
        node = self.tree.node_at(index)
        return node.path if node is not None and node.is_dir else None

    @Slot(str)
    def _on_filter_box_text_changed(self, text: str) -> None:
        self._quiet = True
        try:
            self.tree.set_filter(text)
            self._open_directories()
            if self._selected is not None:
                self.select_row(self.model.row_of(self._selected))
        finally:
            self._quiet = False
        now = self.current_file()
        if now is not self._announced:  # filtered out, or shown again
            self._announce(now)

    @Slot(QModelIndex, QModelIndex)
    def _on_selection_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        file: FileDiff | None = current.data(Role.ITEM)
        if file is not None:
            self._selected = file.path
        if self._quiet:
            return
        if not current.isValid():
            self._announce(None)
        elif file is not None:
            self._announce(file)

    @Slot(QModelIndex)
    def _on_view_clicked(self, index: QModelIndex) -> None:
        if self._dir_path(index) is not None:
            self.view.setExpanded(index, not self.view.isExpanded(index))

    @Slot(QModelIndex)
    def _on_view_collapsed(self, index: QModelIndex) -> None:
        if (path := self._dir_path(index)) is not None:
            self._closed.add(path)

    @Slot(QModelIndex)
    def _on_view_expanded(self, index: QModelIndex) -> None:
        if (path := self._dir_path(index)) is not None:
            self._closed.discard(path)
