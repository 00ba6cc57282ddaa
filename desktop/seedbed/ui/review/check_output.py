"""The reviewer's checks: their verdict on one line, their output in a scrolling,
read-only, monospace box (its first and last lines, or all of it). Test runners print
one line of progress dots per suite (900 characters and more): the box scrolls sideways
rather than widen the window."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from seedbed.domain.models import CheckResult, CheckStatus
from seedbed.ui.common import theme
from seedbed.ui.common.widgets import ElidedLabel

HEAD_LINES = 3  # of the output shown before the fold
TAIL_LINES = 8  # and after it (where a runner says what failed and the totals)
SHOWN_LINES = HEAD_LINES + 1 + TAIL_LINES  # the box's height folded, in lines


def check_status(checks: CheckResult, base_moved: int | None = None, base: str = "base") -> str:
    """The checks' result, and how far the base moved since they ran (they run again on
    the merge result when the task is approved)."""
    if checks.status is CheckStatus.NONE:
        return "Checks: none configured or not run."
    text = f"Checks: {checks.status.value}"
    text += f" (exit {checks.exit_code})" if checks.exit_code is not None else ""
    if base_moved:
        text += f" · {base} +{base_moved}"  # the card's words; the tooltip says more
    return text


def folded_output(output: str) -> tuple[str, bool]:
    """The output's first and last lines with the count of those between, and whether
    any were left out."""
    lines = output.rstrip("\n").splitlines()
    if len(lines) <= SHOWN_LINES:
        return "\n".join(lines), False
    hidden = len(lines) - HEAD_LINES - TAIL_LINES
    fold = f"⋯ {hidden:,} more line{'s' if hidden != 1 else ''} ⋯"
    return "\n".join([*lines[:HEAD_LINES], fold, *lines[-TAIL_LINES:]]), True


class CheckOutput(QWidget):
    """The checks' verdict and output; "Show all" unfolds the output (and lets the box
    grow into the room the panel has)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._output = ""
        self.status = ElidedLabel(self)
        self.show_all = QToolButton(self)
        self.show_all.setText("Show all")
        self.show_all.setCheckable(True)
        self.show_all.setToolTip("The whole output the checks left (its tail is kept)")
        self.output = QPlainTextEdit(self)
        self.output.setReadOnly(True)
        self.output.setUndoRedoEnabled(False)
        self.output.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.output.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.status, 1)
        top.addWidget(self.show_all)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.output, 1)
        self.show_all.toggled.connect(self._on_show_all_toggled)
        self._fit()

    def show_checks(
        self, checks: CheckResult, base_moved: int | None = None, base: str = "base"
    ) -> None:
        self.status.set_full_text(check_status(checks, base_moved, base))
        self.status.setToolTip(
            f"{base} gained {base_moved} commit{'s' if base_moved != 1 else ''} since the "
            "checks ran: approving runs them again on the merge result before it lands"
            if base_moved
            else ""
        )
        failed = checks.status is CheckStatus.FAILED
        self.status.setStyleSheet(f"color: {theme.danger(self.palette()).name()}" if failed else "")
        if checks.output_tail != self._output:
            self._output = checks.output_tail
            self._show_output()
        self.output.setVisible(bool(self._output.strip()))

    def full_output(self) -> str:
        return self._output

    def _show_output(self) -> None:
        text, folded = folded_output(self._output)
        self.show_all.setVisible(folded or self.show_all.isChecked())
        shown = self._output.rstrip("\n") if self.show_all.isChecked() else text
        if self.output.toPlainText() != shown:
            self.output.setPlainText(shown)
            bar = self.output.verticalScrollBar()
            bar.setValue(bar.maximum() if self.show_all.isChecked() else 0)
        self._fit()

    def _fit(self) -> None:
        """Folded, the box is as tall as the lines it shows (and a sideways scroll bar);
        unfolded, it takes what room there is."""
        if self.show_all.isChecked():
            self.output.setMaximumHeight(16_777_215)
            self.output.setMinimumHeight(0)
            return
        # Fixed: a panel short of room squeezes the comments, not the checks' last line.
        lines = min(max(1, self.output.blockCount()), SHOWN_LINES)
        block = self.output.document().firstBlock()
        line = max(self.output.blockBoundingRect(block).height(), 1.0) if block.isValid() else 0
        line = line or self.output.fontMetrics().lineSpacing()
        margins = 2 * (self.output.document().documentMargin() + self.output.frameWidth())
        bar = self.output.horizontalScrollBar().sizeHint().height()
        height = round(lines * line + margins) + bar + 2
        self.output.setFixedHeight(height)

    @Slot(bool)
    def _on_show_all_toggled(self, _checked: bool) -> None:
        self._show_output()
        self.show_all.setText("Fold" if self.show_all.isChecked() else "Show all")
