"""The diff view side by side, and its folded unchanged regions."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from seedbed.ui.review.layout import gaps, side_by_side, split_source, unified
from seedbed.vcs.diffparse import parse_diff
from tests.ui.test_diff_view import make_view, the_file

SOURCE = [f"line {n}" for n in range(1, 41)]

CHANGES = """\
diff --git a/a.txt b/a.txt
--- a/a.txt
+++ b/a.txt
@@ -1,4 +1,5 @@
 one
-two
-three
+TWO
 four
+five
+six
"""


def test_side_by_side_aligns_removed_and_added_lines_with_fillers() -> None:
    (file,) = parse_diff(CHANGES)
    left, right = side_by_side(file)
    assert len(left.rows) == len(right.rows)
    assert left.lines == ["@@ -1,4 +1,5 @@", " one", "-two", "-three", " four", "", ""]
    assert right.lines == ["@@ -1,4 +1,5 @@", " one", "+TWO", "", " four", "+five", "+six"]
    assert [r.kind for r in left.rows] == ["hunk", " ", "-", "-", " ", "filler", "filler"]
    assert [r.kind for r in right.rows][3] == "filler"
    assert (left.rows[2].old_no, right.rows[2].new_no) == (2, 2)


def test_gaps_are_the_unchanged_lines_before_and_between_hunks() -> None:
    found = gaps(the_file())
    assert [(g.hunk, g.old_first, g.new_first, g.count) for g in found] == [
        (0, 1, 1, 2),
        (1, 6, 6, 24),
    ]
    pane = unified(the_file(), SOURCE, {1})
    opened = [r for r in pane.rows if r.kind == " " and r.line == -1]
    assert [(r.old_no, r.new_no) for r in opened] == [(n, n) for n in range(6, 30)]
    assert pane.rows[0].kind == "fold"
    assert split_source("a\r\nb\n") == ["a", "b"]


def test_the_split_view_shows_both_sides_scrolled_together(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.set_file(the_file())
    view.set_split(True)
    assert view.pages.currentWidget() is view.split
    left, right = view.split.panes()
    assert left.blockCount() == right.blockCount()
    assert left.toPlainText().splitlines()[3] == "-b = compute(2)"
    assert right.toPlainText().splitlines()[3] == "+b = compute(3)"
    assert right.highlighter.spans == {3: [(12, 13)]}
    assert left.highlighter.spans == {3: [(12, 13)]}
    assert view.line_range(3, 3) == (4, None, "b = compute(2)\nb = compute(3)")
    assert view.step_hunk(1) and view.step_hunk(1)
    assert view.current_hunk() == 1
    view.set_split(False)
    assert view.pages.currentWidget() is view.text
    assert view.current_hunk() == 1  # the hunk stays in view


def test_a_long_file_side_by_side_scrolls_in_step_and_stays_quick(qtbot: QtBot) -> None:
    body = "".join(f"-old {n}\n+new {n}\n" for n in range(5000))
    text = (
        f"diff --git a/big.py b/big.py\n--- a/big.py\n+++ b/big.py\n@@ -1,5000 +1,5000 @@\n{body}"
    )
    (file,) = parse_diff(text)
    view = make_view(qtbot)
    view.set_split(True)
    started = time.perf_counter()
    view.set_file(file)
    assert time.perf_counter() - started < 20
    left, right = view.split.panes()
    assert left.blockCount() == right.blockCount() == 5001
    right.verticalScrollBar().setValue(2500)
    assert left.verticalScrollBar().value() == 2500
    left.verticalScrollBar().setValue(100)
    assert right.verticalScrollBar().value() == 100
    assert view.text.blockCount() == 1  # the unified text holds nothing meanwhile


def test_a_fold_opens_on_click_or_enter_from_the_file_read_once(qtbot: QtBot) -> None:
    reads: list[str] = []

    def loader(path: str) -> Callable[[], list[str]]:
        reads.append(path)
        return lambda: SOURCE

    view = make_view(qtbot)
    view.source_loader = loader
    view.set_file(the_file())
    fold = view.text.document().findBlockByNumber(6)
    rect = view.text.blockBoundingGeometry(fold).translated(view.text.contentOffset())
    qtbot.mouseClick(view.text.viewport(), Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    lines = view.text.toPlainText().splitlines()
    assert lines[6:8] == [" line 6", " line 7"] and lines[29] == " line 29"
    assert lines[0] == "⋯ 2 unchanged lines — expand"
    view.text.go_to_block(0)
    view.text.setFocus()
    qtbot.keyClick(view.text, Qt.Key.Key_Return)
    assert view.text.toPlainText().splitlines()[:2] == [" line 1", " line 2"]
    assert reads == ["lib.py"]
    assert view.line_range(7, 7) == (6, None, "line 6")
    view.set_split(True)
    left, right = view.split.panes()
    assert left.toPlainText().splitlines()[0] == " line 1"
    assert left.blockCount() == right.blockCount()
