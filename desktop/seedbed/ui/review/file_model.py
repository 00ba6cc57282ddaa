"""The reviewer's changed files as data: a flat Qt model of them in the tree's order,
its roles, and the "viewed" ticks kept in the data dir. The tree (file_tree.py) and the
list widget (file_list.py) both read this model."""

from __future__ import annotations

import hashlib
import json
from enum import IntEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from seedbed.domain.diffs import FileDiff, tree_key

VIEWED_FILE = "review_viewed.json"

Index = QModelIndex | QPersistentModelIndex
# Or-ing Qt flags in Python costs microseconds, and a view asks for every row's flags.
FILE_FLAGS = (
    Qt.ItemFlag.ItemIsEnabled
    | Qt.ItemFlag.ItemIsSelectable
    | Qt.ItemFlag.ItemIsUserCheckable
    | Qt.ItemFlag.ItemNeverHasChildren
)


class Role(IntEnum):
    ITEM = Qt.ItemDataRole.UserRole + 1  # the FileDiff (None for a directory)
    PATH = Qt.ItemDataRole.UserRole + 2
    STATUS = Qt.ItemDataRole.UserRole + 3
    VIEWED = Qt.ItemDataRole.UserRole + 4
    NODE = Qt.ItemDataRole.UserRole + 5  # the tree's Node (the tree model only)


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
        # False: the files' counts are not read yet (a list from `git diff --raw`).
        self.counted = True

    def set_files(self, task_id: int, files: list[FileDiff], counted: bool = True) -> None:
        self.beginResetModel()
        self.task_id = task_id
        self.counted = counted
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
