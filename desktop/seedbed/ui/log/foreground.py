"""The foreground view: the few running tasks a person actually watches, side by side."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from seedbed.core import reads
from seedbed.domain.models import Task
from seedbed.ui.common import format as fmt
from seedbed.ui.common import theme
from seedbed.ui.common.context import AppContext
from seedbed.ui.log.log_view import LogPanel

MAX_TILES = 4
EMPTY_TEXT = (
    "No task in the foreground.\n"
    "Pin a running task with P or its context menu to watch its log here;\n"
    f"up to {MAX_TILES} tile side by side. Background tasks only ask for you when they finish."
)
# Where the n-th tile goes for n tiles: (row, column, row span, column span).
GRIDS: dict[int, list[tuple[int, int, int, int]]] = {
    1: [(0, 0, 1, 1)],
    2: [(0, 0, 1, 1), (0, 1, 1, 1)],
    3: [(0, 0, 1, 1), (0, 1, 1, 1), (1, 0, 1, 2)],
    4: [(0, 0, 1, 1), (0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 1, 1)],
}


class ForegroundTile(QFrame):
    """One pinned task: a header (id, title, phase, unpin) over its compact live log.

    Signals: unpin_requested(int): the task id.
    """

    unpin_requested = Signal(int)

    def __init__(self, context: AppContext, task_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task_id = task_id
        self._context = context
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self.phase = QLabel(self)
        self.unpin_button = QToolButton(self)
        self.unpin_button.setText("Unpin")
        self.unpin_button.setToolTip("Send this task back to the background")
        self.unpin_button.clicked.connect(self._on_unpin_button_clicked)
        self.panel = LogPanel(context, compact=True, parent=self)
        header = QHBoxLayout()
        header.setContentsMargins(4, 2, 2, 0)
        header.addWidget(self.title, 1)
        header.addWidget(self.phase)
        header.addWidget(self.unpin_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.panel, 1)
        self.update_header()
        self.panel.show_task(task_id)

    def update_header(self) -> None:
        """Read the task's title and phase again (asked of the engine)."""
        self._context.host.call(
            reads.get_task,
            self.task_id,
            on_done=self._show_header,
            on_error=self._show_gone,
            owner=self,
        )

    def _show_gone(self, _error: BaseException) -> None:
        self.title.setText(f"#{self.task_id} (gone)")
        self.phase.clear()

    def _show_header(self, task: Task) -> None:
        self.title.setText(f"#{task.id} {task.title}")
        self.title.setToolTip(task.title)
        # Worded as the task's card words it (a run that changed nothing).
        self.phase.setText(fmt.NO_CHANGES if fmt.changed_nothing(task) else theme.phase_label(task))

    @Slot()
    def _on_unpin_button_clicked(self) -> None:
        self.unpin_requested.emit(self.task_id)


class ForegroundView(QWidget):
    """Up to MAX_TILES pinned tasks' live logs, tiled one, two side by side, or two by two.

    The window decides which tasks are pinned (`set_tasks`); this view only shows them,
    keeping the tile of a task that stays pinned (its log, scroll position and
    selection) so that pinning another task does not make the others flicker.

    Signals: unpin_requested(int): the user asked to unpin this task.
    """

    unpin_requested = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._tiles: dict[int, ForegroundTile] = {}
        self._order: list[int] = []
        self.empty = QLabel(EMPTY_TEXT, self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self._grid = QGridLayout()
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addLayout(self._grid, 1)
        context.bridge.tasks_changed.connect(self._on_bridge_tasks_changed)

    def task_ids(self) -> list[int]:
        return list(self._order)

    def tile(self, task_id: int) -> ForegroundTile | None:
        return self._tiles.get(task_id)

    def set_tasks(self, task_ids: list[int]) -> None:
        """Show these tasks, in this order; past MAX_TILES the rest are ignored."""
        wanted = list(dict.fromkeys(task_ids))[:MAX_TILES]
        if wanted == self._order:
            return
        for task_id in [t for t in self._order if t not in wanted]:
            gone = self._tiles.pop(task_id)
            self._grid.removeWidget(gone)
            gone.hide()
            gone.deleteLater()
        for task_id in wanted:
            tile = self._tiles.get(task_id)
            if tile is None:
                tile = ForegroundTile(self._context, task_id, self)
                tile.unpin_requested.connect(self.unpin_requested)
                self._tiles[task_id] = tile
            else:
                self._grid.removeWidget(tile)
        for tile_id, (row, column, rows, columns) in zip(
            wanted, GRIDS.get(len(wanted), []), strict=True
        ):
            self._grid.addWidget(self._tiles[tile_id], row, column, rows, columns)
            self._tiles[tile_id].show()
        for index in range(2):
            self._grid.setRowStretch(index, 1 if len(wanted) > 2 * index else 0)
            self._grid.setColumnStretch(index, 1 if len(wanted) > index else 0)
        self._order = wanted
        self.empty.setVisible(not wanted)

    @Slot(object)
    def _on_bridge_tasks_changed(self, task_ids: list[int]) -> None:
        for task_id in task_ids:
            tile = self._tiles.get(task_id)
            if tile is not None:
                tile.update_header()
