"""Projects in the window: adding a repository (folder dialog or drop) and the selector."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QMimeData, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QComboBox, QFileDialog, QWidget

from seedbed.core.context import Done
from seedbed.core.projects import add_repository
from seedbed.domain.models import Project
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.errors import describe_error

READ_ONLY_MESSAGE = (
    "The engine of this data dir stopped, so this window is read-only and no project was added."
)


class Dropped(NamedTuple):
    """The local paths of a drop: folders to add, and everything else (ignored)."""

    folders: list[Path]
    others: list[Path]


def dropped_paths(mime: QMimeData) -> Dropped:
    """Split a drop's local file URLs into folders and the rest; remote URLs are not
    paths and are left out."""
    folders: list[Path] = []
    others: list[Path] = []
    for url in mime.urls():
        if not url.isLocalFile():
            continue
        path = Path(url.toLocalFile())
        (folders if path.is_dir() else others).append(path)
    return Dropped(folders, others)


def paths_from_mime(mime: QMimeData) -> list[Path]:
    """The local folders in a drop (files and remote URLs are ignored)."""
    return dropped_paths(mime).folders


def has_local_urls(mime: QMimeData) -> bool:
    """Whether a drag may hold a folder: cheap enough for dragEnterEvent (no disk access)."""
    return any(url.isLocalFile() for url in mime.urls())


def ignored_message(others: list[Path]) -> str:
    names = ", ".join(path.name or str(path) for path in others[:3])
    more = f" and {len(others) - 3} more" if len(others) > 3 else ""
    what = "is not a folder" if len(others) == 1 else "are not folders"
    return f"{names}{more} {what}: drop a repository's folder to add it as a project."


class ProjectAdder(QObject):
    """Adds repositories as projects, off the GUI thread, from a path, a drop or a
    folder dialog.

    Signals:
        project_added(Project): the new project.
        failed(str): why a path was not added, as a sentence for the user.
    """

    project_added = Signal(object)
    failed = Signal(str)

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context

    def add_path(self, path: Path) -> None:
        if self.context.read_only:
            self.failed.emit(READ_ONLY_MESSAGE)
            return
        self.context.host.call(
            add_repository,
            path,
            on_done=self._on_add_done,
            on_error=self._on_add_failed,
            owner=self,
        )

    def add_dropped(self, mime: QMimeData) -> int:
        """Add every folder of a drop; say so for the files. Returns the folders' count."""
        dropped = dropped_paths(mime)
        if dropped.others:
            self.failed.emit(ignored_message(dropped.others))
        for folder in dropped.folders:
            self.add_path(folder)
        return len(dropped.folders)

    def choose_folder(self, parent: QWidget) -> QFileDialog:
        """Open a folder dialog (window-modal, not blocking); the chosen folder is added."""
        dialog = QFileDialog(parent, "Add a repository", str(Path.home()))
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self._on_dialog_file_selected)
        dialog.open()
        return dialog

    @Slot(str)
    def _on_dialog_file_selected(self, path: str) -> None:
        if path:
            self.add_path(Path(path))

    def _on_add_done(self, done: Done[Project]) -> None:
        # Said once the catalog holds it, so the selector can show it.
        project = done.value
        self.context.catalog.refresh(then=lambda: self.project_added.emit(project), owner=self)

    def _on_add_failed(self, error: BaseException) -> None:
        self.failed.emit(describe_error(error))


class ProjectSelector(QComboBox):
    """The current project: names listed, each with its path as a tooltip.

    Signals:
        project_selected(int): another project became current (chosen by the user, or
            by `reload` when the one shown before is gone or another was asked for).
    """

    project_selected = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setPlaceholderText("no project: add a repository")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._current: int | None = None
        self.currentIndexChanged.connect(self._on_current_index_changed)
        self.reload(context.project_id)

    def current_project_id(self) -> int | None:
        data = self.currentData()
        return data if isinstance(data, int) else None

    def reload(self, select_id: int | None = None) -> None:
        """List the catalog's projects again and show `select_id` (else the one shown
        before, else the first)."""
        projects = self.context.catalog.projects
        wanted = select_id if select_id is not None else self._current
        self.blockSignals(True)
        try:
            self.clear()
            for project in projects:
                self.addItem(project.name, project.id)
                self.setItemData(self.count() - 1, str(project.path), Qt.ItemDataRole.ToolTipRole)
            index = self.findData(wanted) if wanted is not None else -1
            self.setCurrentIndex(index if index >= 0 else (0 if projects else -1))
        finally:
            self.blockSignals(False)
        self._note_current()

    @Slot(int)
    def _on_current_index_changed(self, _index: int) -> None:
        self._note_current()

    def _note_current(self) -> None:
        current = self.current_project_id()
        self.setToolTip(self.itemData(self.currentIndex(), Qt.ItemDataRole.ToolTipRole) or "")
        if current == self._current:
            return
        self._current = current
        if current is not None:
            self.project_selected.emit(current)
