"""The reviewer's changed files as a tree, and its painter: directories (chains of
single-child ones compressed into one node, `src/pkg/`) over file leaves, in the order a
reader sees them: in each directory its subdirectories first, then its files, each
alphabetical. The filter box's text narrows the tree to the matching files and their
directories."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Slot,
)
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from seedbed.domain.diffs import FileDiff
from seedbed.ui.common import theme
from seedbed.ui.review.file_model import FILE_FLAGS, FileListModel, Role

Index = QModelIndex | QPersistentModelIndex
DIR_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def matches(file: FileDiff, needle: str) -> bool:
    """Whether the file's path, or a rename's old path, holds `needle` (casefolded)."""
    return needle in file.path.casefold() or (
        file.old_path is not None and needle in file.old_path.casefold()
    )


def leaf_label(file: FileDiff) -> tuple[str, str]:
    """(the rename's "old → " prefix or "", the name): a rename within a directory shows
    both names, one from elsewhere the whole old path."""
    name = posixpath.basename(file.path)
    old = file.old_path
    if not old or old == file.path:
        return "", name
    same_dir = posixpath.dirname(old) == posixpath.dirname(file.path)
    return f"{posixpath.basename(old) if same_dir else old} → ", name


@dataclass(eq=False, slots=True)
class Node:
    """A directory or a file of the tree. A directory covers the files [first, end) of
    the flat list (which is in tree order), some perhaps filtered out."""

    name: str  # a file's base name; a directory's, or a compressed chain's "a/b"
    path: str  # the full path (a directory's without the trailing "/")
    file: FileDiff | None = None  # None for a directory
    file_row: int = -1  # the file's row in the flat list
    row: int = 0  # the row under its parent
    id: int = 0  # the index into the model's nodes: the QModelIndex's internal id
    # The parent's id, not the parent: no reference cycle, so a list of nodes (and the
    # files it holds) is freed as soon as it is replaced, without the cyclic collector.
    parent_id: int = 0
    first: int = 0
    end: int = 0
    insertions: int = 0
    deletions: int = 0
    children: list[Node] = field(default_factory=list)

    @property
    def is_dir(self) -> bool:
        return self.file is None


def build_tree(files: Sequence[FileDiff], needle: str = "") -> list[Node]:
    """The nodes of the tree over the `files` (sorted by tree_key) that match `needle`
    (casefolded), root first, numbered."""
    root = Node("", "")
    dirs: dict[str, Node] = {}
    for row, file in enumerate(files):
        if needle and not matches(file, needle):
            continue
        parent = root
        *parts, name = file.path.split("/")
        path = ""
        for part in parts:
            path = f"{path}/{part}" if path else part
            node = dirs.get(path)
            if node is None:
                node = dirs[path] = Node(part, path)
                parent.children.append(node)
            parent = node
        leaf = Node(name, file.path, file, row, first=row, end=row + 1)
        leaf.insertions, leaf.deletions = file.insertions, file.deletions
        parent.children.append(leaf)
    nodes = [root]
    _number(root, nodes)
    return nodes


def _number(node: Node, nodes: list[Node]) -> None:
    """Compress the single-directory chains under `node`, number its children and sum
    their counts into it."""
    for row, child in enumerate(node.children):
        while len(child.children) == 1 and child.children[0].is_dir:
            only = child.children[0]
            child.name = f"{child.name}/{only.name}"
            child.path, child.children = only.path, only.children
        child.row, child.id, child.parent_id = row, len(nodes), node.id
        nodes.append(child)
        if child.is_dir:
            _number(child, nodes)
    if node.children:
        node.first, node.end = node.children[0].first, node.children[-1].end
        node.insertions = sum(c.insertions for c in node.children)
        node.deletions = sum(c.deletions for c in node.children)


class FileTreeModel(QAbstractItemModel):
    """The flat FileListModel's files, those the filter lets through, as a tree; follows
    the flat model's resets and changes. A leaf's data is the flat model's; a directory
    has its name (with a trailing "/"), its path and its Node."""

    def __init__(self, source: FileListModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.needle = ""
        self.dirs: dict[str, Node] = {}  # by path
        self._nodes: list[Node] = [Node("", "")]
        self._flags: list[Qt.ItemFlag] = [Qt.ItemFlag.NoItemFlags]  # by node id
        self._leaves: dict[int, Node] = {}  # by flat row
        source.modelAboutToBeReset.connect(self.beginResetModel)
        source.modelReset.connect(self._on_source_model_reset)
        source.dataChanged.connect(self._on_source_data_changed)

    def set_filter(self, text: str) -> None:
        """Show only the files whose path (or old path) holds `text`, in any case."""
        self.beginResetModel()
        self.needle = text.casefold()
        self._build()
        self.endResetModel()

    def _build(self) -> None:
        self._nodes = build_tree(self.source.files(), self.needle)
        self._flags = [DIR_FLAGS if n.is_dir else FILE_FLAGS for n in self._nodes]
        self._flags[0] = Qt.ItemFlag.NoItemFlags
        self._leaves = {n.file_row: n for n in self._nodes if not n.is_dir}
        self.dirs = {n.path: n for n in self._nodes[1:] if n.is_dir}

    @Slot()
    def _on_source_model_reset(self) -> None:
        self._build()
        self.endResetModel()

    @Slot(QModelIndex, QModelIndex, list)
    def _on_source_data_changed(self, top: QModelIndex, bottom: QModelIndex, roles: Any) -> None:
        for row in range(top.row(), bottom.row() + 1):
            index = self.file_index(row)
            if index.isValid():
                self.dataChanged.emit(index, index, roles)

    def node_at(self, index: Index) -> Node | None:
        return self._nodes[index.internalId()] if index.isValid() else None

    def file_index(self, file_row: int) -> QModelIndex:
        """The leaf of the flat model's row; invalid when the filter leaves it out."""
        leaf = self._leaves.get(file_row)
        return QModelIndex() if leaf is None else self._index_of(leaf)

    def shows(self, file_row: int) -> bool:
        """Whether the filter lets the flat model's row through."""
        return file_row in self._leaves

    def dir_index(self, path: str) -> QModelIndex:
        node = self.dirs.get(path)
        return QModelIndex() if node is None else self._index_of(node)

    def _index_of(self, node: Node) -> QModelIndex:
        return self.createIndex(node.row, 0, node.id)

    # A view asks these of every row, again and again (an invalid index's internal id
    # is 0: the root's): as few calls into Qt as can be.

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        children = self._nodes[parent.internalId()].children
        if column != 0 or not 0 <= row < len(children):
            return QModelIndex()
        return self.createIndex(row, 0, children[row].id)

    def parent(self, child: Index) -> QModelIndex:  # type: ignore[override]
        up = self._nodes[child.internalId()].parent_id
        return QModelIndex() if up == 0 else self._index_of(self._nodes[up])

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.column() > 0:
            return 0
        node = self._nodes[parent.internalId()] if parent.isValid() else self._nodes[0]
        return len(node.children)

    def columnCount(self, _parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 1

    def flags(self, index: Index) -> Qt.ItemFlag:
        return self._flags[index.internalId()]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self.node_at(index)
        if node is None:
            return None
        if role == Role.NODE:
            return node
        if role == Role.ITEM:
            return node.file
        if node.file is not None:
            return self.source.data(self.source.index(node.file_row, 0), role)
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{node.name}/"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{node.path}/"
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        node = self.node_at(index)
        if node is None or node.is_dir:
            return False
        return self.source.setData(self.source.index(node.file_row, 0), value, role)


def status_color(palette: QPalette, status: str) -> QColor:
    if status == "A":
        return theme.success(palette)
    if status == "D":
        return theme.danger(palette)
    if status in "RC":
        return theme.warning(palette)
    return theme.accent(palette)


class FileDelegate(QStyledItemDelegate):
    """Paints a file as its check, status letter in its colour, name (muted once viewed;
    a rename's old name muted before it) and +/- counts on the right; a directory as its
    name and, muted, the counts of its files."""

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
            and index.data(Role.ITEM) is not None
        ):
            viewed = bool(index.data(Role.VIEWED))
            state = Qt.CheckState.Unchecked if viewed else Qt.CheckState.Checked
            return model.setData(index, state, Qt.ItemDataRole.CheckStateRole)
        return False

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        node: Node | None = index.data(Role.NODE)
        if node is None:
            return
        palette = option.palette
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, palette.color(QPalette.ColorRole.Highlight))
        text_color = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        muted = text_color if selected else theme.muted(palette)
        rect = option.rect.adjusted(4, 0, -4, 0)
        file: FileDiff | None = index.data(Role.ITEM)
        model = index.model()
        counted = not isinstance(model, FileTreeModel) or model.source.counted
        if file is None:
            right = _draw_counts(painter, option, rect, count_label(node, counted), muted)
            name_rect = QRect(rect.left(), rect.top(), right - 6 - rect.left(), rect.height())
            painter.setPen(text_color)
            name = option.fontMetrics.elidedText(
                str(index.data()), Qt.TextElideMode.ElideLeft, name_rect.width()
            )
            painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter, name)
        else:
            colors = (text_color, muted)
            self._paint_file(painter, option, index, file, rect, colors, count_label(node, counted))
        painter.restore()

    def _paint_file(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: Index,
        file: FileDiff,
        rect: QRect,
        colors: tuple[QColor, QColor],
        counts: str,
    ) -> None:
        text_color, muted = colors
        box = QStyleOptionViewItem(option)
        size = rect.height() - 8
        box.rect = QRect(rect.left(), rect.top() + 4, size, size)
        viewed = bool(index.data(Role.VIEWED))
        box.state = QStyle.StateFlag.State_Enabled | (
            QStyle.StateFlag.State_On if viewed else QStyle.StateFlag.State_Off
        )
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck, box, painter, option.widget
            )
        metrics = option.fontMetrics
        x = rect.left() + size + 6
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        # On the selection's colour the status colour can vanish (blue on blue).
        letter = option.palette.color(QPalette.ColorRole.HighlightedText) if selected else None
        painter.setPen(letter or status_color(option.palette, file.status))
        letter_rect = QRect(x, rect.top(), metrics.horizontalAdvance("M") + 4, rect.height())
        painter.drawText(letter_rect, Qt.AlignmentFlag.AlignVCenter, file.status)
        right = _draw_counts(painter, option, rect, counts, muted)
        name_rect = QRect(letter_rect.right() + 2, rect.top(), 0, rect.height())
        name_rect.setRight(right - 6)
        prefix, name = leaf_label(file)
        room = name_rect.width() - metrics.horizontalAdvance(name)
        if prefix and room > 0:
            # The new name is what the tree is about: the old one gives way first.
            prefix = metrics.elidedText(prefix, Qt.TextElideMode.ElideLeft, room)
            painter.setPen(muted)
            painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter, prefix)
            name_rect.setLeft(name_rect.left() + metrics.horizontalAdvance(prefix))
        painter.setPen(muted if viewed else text_color)
        elided = metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, name_rect.width())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter, elided)


def count_label(node: Node, counted: bool) -> str:
    """A row's counts: a file's lines added and removed ("bin" for a binary), a
    directory's sums of its files' (nothing when both are 0: renames alone); nothing
    while not `counted`."""
    if not counted:
        return ""
    if node.file is not None and node.file.binary:
        return "bin"
    if node.file is None and not (node.insertions or node.deletions):
        return ""
    return f"+{node.insertions} \u2212{node.deletions}"


def _draw_counts(
    painter: QPainter, option: QStyleOptionViewItem, rect: QRect, text: str, color: QColor
) -> int:
    """Draws `text` right-aligned in `rect`; returns where it begins."""
    width = option.fontMetrics.horizontalAdvance(text) + 4 if text else 0
    painter.setPen(color)
    count_rect = QRect(rect.right() - width, rect.top(), width, rect.height())
    painter.drawText(count_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, text)
    return count_rect.left()
