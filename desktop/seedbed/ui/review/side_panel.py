"""The reviewer's side panel: the executor's summary, the reviewer agent's verdict, the
task's plan and prompt, the checks, the radar's notes and the review comments; and the
dialog that writes a comment."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from seedbed.core.comments import comment_location
from seedbed.core.review_agent import Verdict
from seedbed.core.review_data import ReviewData
from seedbed.domain.diffs import Comment, CommentAuthor
from seedbed.ui.common import theme
from seedbed.ui.common.widgets import never_widens, wrap_anywhere
from seedbed.ui.review.check_output import CheckOutput

NO_PLAN = "No plan: this task ran without one."
NO_REVIEW = "No reviewer agent has read this change."


def reviewer_text(data: ReviewData) -> str:
    """What the reviewer agent said of the change shown: its verdict and summary, or
    its whole answer when that held no verdict."""
    review = data.review
    if review is None:
        answer = data.review_answer.strip()
        return f"No verdict in its answer:\n\n{answer}" if answer else ""
    if review.verdict is Verdict.APPROVE:
        head = "Approved."
    else:
        count = len(review.comments)
        said = f" ({count} comment{'s' if count != 1 else ''}, listed below)" if count else ""
        head = f"Asked for changes{said}."
    summary = review.summary.strip()
    return head + (f"\n\n{summary}" if summary else "")


def comment_text(comment: Comment) -> str:
    state = "sent" if comment.sent else "unsent"
    by = "reviewer agent: " if comment.author is CommentAuthor.REVIEWER else ""
    return f"{comment_location(comment)} — {by}{comment.body}  [{state}]"


def reviewer_tab_text(data: ReviewData) -> str:
    if data.review is None:
        return "Reviewer ?" if data.review_answer.strip() else "Reviewer"
    return "Reviewer ✓" if data.review.verdict is Verdict.APPROVE else "Reviewer ✗"


class CommentDialog(QDialog):
    """Writes (or edits) one comment: the quoted code above, the text below."""

    def __init__(
        self, title: str, quote: str, body: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.quote_label = QLabel(wrap_anywhere(quote) or "(the whole file)", self)
        self.quote_label.setTextFormat(Qt.TextFormat.PlainText)
        never_widens(self.quote_label)
        self.body_edit = QPlainTextEdit(body, self)
        self.body_edit.setPlaceholderText("What should change here?")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.quote_label)
        layout.addWidget(self.body_edit, 1)
        layout.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

    def body(self) -> str:
        return self.body_edit.toPlainText().strip()


class SidePanel(QWidget):
    """What the executor and the reviewer agent said, the checks, the notes and the
    comments.

    Signals:
        edit_requested(object): edit this unsent Comment (new body as its `body`).
        delete_requested(object): delete this unsent Comment.
        unsent_changed(int): how many comments are not sent yet (after each listing).
        comments_shown(object): the list of Comments now listed.
        plan_saved(str): the plan as the developer edited it (Markdown).
        comment_activated(object): a Comment double-clicked (or Enter): show its line.
    """

    edit_requested = Signal(object)
    delete_requested = Signal(object)
    unsent_changed = Signal(int)
    plan_saved = Signal(str)
    comments_shown = Signal(object)
    comment_activated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QPlainTextEdit(self)
        self.summary.setReadOnly(True)
        self.summary.setPlaceholderText("The agent left no summary.")
        self.reviewer = QPlainTextEdit(self)
        self.reviewer.setReadOnly(True)
        self.reviewer.setPlaceholderText(NO_REVIEW)
        self.plan = QTextBrowser(self)  # Markdown, links open outside
        self.plan.setOpenExternalLinks(True)
        self.plan.setPlaceholderText(NO_PLAN)
        self._plan_text = ""
        self.plan_edit = QPlainTextEdit(self)  # the Markdown itself, while it is edited
        self.plan_edit.hide()
        self.edit_plan_button = QPushButton("Edit the plan", self)
        self.save_plan_button = QPushButton("Save the plan", self)
        self.save_plan_button.hide()
        plan_page = QWidget(self)
        plan_layout = QVBoxLayout(plan_page)
        plan_layout.setContentsMargins(0, 0, 0, 0)
        plan_layout.addWidget(self.plan, 1)
        plan_layout.addWidget(self.plan_edit, 1)
        plan_buttons = QHBoxLayout()
        plan_buttons.addStretch(1)
        plan_buttons.addWidget(self.edit_plan_button)
        plan_buttons.addWidget(self.save_plan_button)
        plan_layout.addLayout(plan_buttons)
        self.prompt = QPlainTextEdit(self)
        self.prompt.setReadOnly(True)
        self.prompt.setPlaceholderText("No prompt: the title is the task.")
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.summary, "Summary")
        self.tabs.addTab(self.reviewer, "Reviewer")
        self.plan_page = plan_page
        self.tabs.addTab(plan_page, "Plan")
        self.tabs.addTab(self.prompt, "Task")
        self.checks = CheckOutput(self)
        self.notes = QLabel(self)
        self.notes.setTextFormat(Qt.TextFormat.PlainText)
        never_widens(self.notes)
        self.edit_dialog: CommentDialog | None = None
        self.comments = QListWidget(self)
        self.comments.setWordWrap(True)
        self.edit_button = QPushButton("Edit", self)
        self.delete_button = QPushButton("Delete", self)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs, 2)
        layout.addWidget(self.checks)
        self._layout = layout
        layout.addWidget(self.notes)
        layout.addWidget(QLabel("Comments", self))
        layout.addWidget(self.comments, 1)
        layout.addLayout(buttons)
        self.edit_button.clicked.connect(self._on_edit_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.comments.currentItemChanged.connect(self._on_comments_current_item_changed)
        self.comments.itemActivated.connect(self._on_comments_item_activated)
        self.edit_plan_button.clicked.connect(self._on_edit_plan_button_clicked)
        self.save_plan_button.clicked.connect(self._on_save_plan_button_clicked)
        self.checks.show_all.toggled.connect(self._on_checks_show_all_toggled)
        self._on_comments_current_item_changed(None, None)

    def show_data(self, data: ReviewData) -> None:
        if self.summary.toPlainText() != data.summary:
            self.summary.setPlainText(data.summary)
        task = data.task
        if self._plan_text != task.plan:  # rendering it again would lose the scroll
            self._plan_text = task.plan
            self.plan.setMarkdown(task.plan)
        plan_tab = self.tabs.indexOf(self.plan_page)
        self.tabs.setTabText(plan_tab, "Plan" if task.plan.strip() else "Plan (none)")
        if self.prompt.toPlainText() != task.prompt:
            self.prompt.setPlainText(task.prompt)
        said = reviewer_text(data)
        if self.reviewer.toPlainText() != said:
            self.reviewer.setPlainText(said)
        self.tabs.setTabText(self.tabs.indexOf(self.reviewer), reviewer_tab_text(data))
        self.checks.show_checks(data.checks, data.base_moved, data.task.base_branch)
        notes = [n for n in [data.budget_note, *data.overlaps] if n]
        self.notes.setText(wrap_anywhere("\n".join(f"⚠ {n}" for n in notes)))
        self.notes.setVisible(bool(notes))
        self.show_comments(data.comments)

    @Slot(bool)
    def _on_checks_show_all_toggled(self, checked: bool) -> None:
        self._layout.setStretchFactor(self.checks, 2 if checked else 0)

    def show_comments(self, comments: list[Comment]) -> None:
        current = self.current_comment()
        self.comments.clear()
        for comment in comments:
            item = QListWidgetItem(comment_text(comment))
            item.setData(Qt.ItemDataRole.UserRole, comment)
            if comment.sent:
                item.setForeground(theme.muted(self.palette()))
            self.comments.addItem(item)
            if current is not None and comment.id == current.id:
                self.comments.setCurrentItem(item)
        self.unsent_changed.emit(sum(1 for c in comments if not c.sent))
        self.comments_shown.emit(comments)

    def current_comment(self) -> Comment | None:
        item = self.comments.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def unsent_count(self) -> int:
        return sum(
            1
            for i in range(self.comments.count())
            if not self.comments.item(i).data(Qt.ItemDataRole.UserRole).sent
        )

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_comments_current_item_changed(
        self, _current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        comment = self.current_comment()
        editable = comment is not None and not comment.sent
        self.edit_button.setEnabled(editable)
        self.delete_button.setEnabled(editable)

    def editing_plan(self) -> bool:
        return self.plan_edit.isVisible() or self.save_plan_button.isVisible()

    @Slot()
    def _on_edit_plan_button_clicked(self) -> None:
        self.plan_edit.setPlainText(self._plan_text)
        for widget, editing in (
            (self.plan, False),
            (self.plan_edit, True),
            (self.edit_plan_button, False),
            (self.save_plan_button, True),
        ):
            widget.setVisible(editing)
        self.plan_edit.setFocus()

    @Slot()
    def _on_save_plan_button_clicked(self) -> None:
        self.plan_saved.emit(self.plan_edit.toPlainText())

    def plan_was_saved(self) -> None:
        """Back to the rendered plan (the store has the new text)."""
        for widget, shown in (
            (self.plan, True),
            (self.plan_edit, False),
            (self.edit_plan_button, True),
            (self.save_plan_button, False),
        ):
            widget.setVisible(shown)

    @Slot(QListWidgetItem)
    def _on_comments_item_activated(self, item: QListWidgetItem) -> None:
        self.comment_activated.emit(item.data(Qt.ItemDataRole.UserRole))

    @Slot()
    def _on_edit_button_clicked(self) -> None:
        comment = self.current_comment()
        if comment is None or comment.sent:
            return  # a sent comment is what the agent was told: it stays as it is
        dialog = CommentDialog(
            f"Edit the comment on {comment_location(comment)}", comment.quote, comment.body, self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.edit_dialog = dialog

        def save(result: int) -> None:
            self.edit_dialog = None
            if result == QDialog.DialogCode.Accepted and dialog.body():
                self.edit_requested.emit(comment.model_copy(update={"body": dialog.body()}))

        dialog.finished.connect(save)
        dialog.open()

    @Slot()
    def _on_delete_button_clicked(self) -> None:
        comment = self.current_comment()
        if comment is not None and not comment.sent:
            self.delete_requested.emit(comment)
