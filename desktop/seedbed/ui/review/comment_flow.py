"""The reviewer's comments: written from the diff's lines, edited and deleted from the
side panel while unsent, all through the engine host."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QDialog, QWidget

from seedbed.core import comments as comment_ops
from seedbed.core.review_data import load_comments
from seedbed.domain.diffs import Comment
from seedbed.ui.review.diff_view import DiffView
from seedbed.ui.review.side_panel import CommentDialog, SidePanel

# Runs fn(*args) through the host (refused while read-only) and calls done with its result.
Call = Callable[..., None]


class CommentFlow(QObject):
    """Opens the comment dialog for the diff's selected lines, saves what is written,
    and applies the side panel's edits and deletions; the panel shows the result."""

    def __init__(
        self,
        task_id: int,
        diff: DiffView,
        side: SidePanel,
        call: Call,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.task_id = task_id
        self.diff = diff
        self.side = side
        self.call = call
        self.dialog: CommentDialog | None = None
        diff.comment_requested.connect(self._on_diff_comment_requested)
        side.edit_requested.connect(self._on_side_edit_requested)
        side.delete_requested.connect(self._on_side_delete_requested)

    def _window(self) -> QWidget:
        parent = self.parent()
        assert isinstance(parent, QWidget)
        return parent

    def comment_lines(self) -> None:
        """Comment on the diff's selected lines, or on the whole file."""
        if self.diff.rows:
            self.diff.request_comment()
        elif self.diff.file is not None:
            self.open_comment(self.diff.file.path, None, None, "")

    @Slot(int, int)
    def _on_diff_comment_requested(self, first: int, last: int) -> None:
        if self.diff.file is None:
            return
        line, end_line, quote = self.diff.line_range(first, last)
        self.open_comment(self.diff.file.path, line, end_line, quote)

    def open_comment(self, path: str, line: int | None, end_line: int | None, quote: str) -> None:
        where = path if line is None else f"{path}:{line}" + (f"-{end_line}" if end_line else "")
        dialog = CommentDialog(f"Comment on {where}", quote, parent=self._window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog

        def save(result: int) -> None:
            self.dialog = None
            if result != QDialog.DialogCode.Accepted or not dialog.body():
                return
            self.call(
                comment_ops.add_comment,
                self.task_id,
                path,
                line,
                end_line,
                dialog.body(),
                quote,
                done=self._on_saved,
            )

        dialog.finished.connect(save)
        dialog.open()

    def _on_saved(self, _result: object = None) -> None:
        self.call(load_comments, self.task_id, done=self.side.show_comments)

    @Slot(object)
    def _on_side_edit_requested(self, comment: Comment) -> None:
        self.call(comment_ops.edit_comment, comment.id, comment.body, done=self._on_saved)

    @Slot(object)
    def _on_side_delete_requested(self, comment: Comment) -> None:
        self.call(comment_ops.delete_comment, comment.id, done=self._on_saved)
