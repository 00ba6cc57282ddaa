"""The reviewer's file list: the widget that shows the changed files (file_model.py) as
a tree (file_tree.py) under a filter box, with their "viewed" ticks."""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSignalBlocker,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import QLineEdit, QTreeView, QVBoxLayout, QWidget

from seedbed.domain.diffs import FileDiff
from seedbed.ui.review.file_model import FileListModel, Role, ViewedStore
from seedbed.ui.review.file_tree import FileDelegate, FileTreeModel

INDENTATION = 14  # px per tree level

Index = QModelIndex | QPersistentModelIndex


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

    def set_files(
        self, task_id: int, files: list[FileDiff], keep: str | None, counted: bool = True
    ) -> None:
        """Show these files; `keep` stays current when it is still there (and passes the
        filter), else the first file shown is. A refresh that keeps the file keeps the
        list where the user scrolled it (a live diff is read every few seconds).
        `counted` False: their counts are not known yet, and not shown."""
        bar = self.view.verticalScrollBar()
        scrolled = bar.value()
        self.model.set_files(task_id, files, counted)
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
