"""The diff view side by side, and its folded unchanged regions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from seedbed.core.review_data import split_source
from seedbed.domain.diffs import FileDiff
from seedbed.ui.common.bridge import Bridge
from seedbed.ui.common.host import EngineHost
from seedbed.ui.review.diff_text import DiffText
from seedbed.ui.review.diff_view import DiffView
from seedbed.ui.review.layout import Gap, gaps, side_by_side, trailing_gap, unified
from seedbed.vcs.diff import range_diff
from seedbed.vcs.diffparse import parse_diff
from tests.conftest import git, make_repo
from tests.ui.conftest import ThreadEngine
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
    # Fewer than git's three context lines after the last change: the file ends there,
    # so no fold after it, before or after the file is read.
    assert side_by_side(file)[0].lines == side_by_side(file, ["x"] * 5)[0].lines
    left, right = side_by_side(file, ["one", "TWO", "four", "five", "six"])
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
    assert left.blockCount() == right.blockCount() == 5002
    assert right.toPlainText().splitlines()[-1] == "⋯ expand to the end of the file"
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


# -- the fold after the last hunk --------------------------------------------------------

FIFTY = [f"line {n}" for n in range(1, 51)]


@pytest.fixture
def host(qapp: QApplication, data_dir: Path, engine: ThreadEngine) -> Iterator[EngineHost]:
    """The client's loop, as the reviewer runs the view's work off the GUI thread."""
    host = EngineHost(data_dir, Bridge())
    host.start()
    yield host
    host.stop()


def changed(tmp_path: Path, new: list[str], *diff_options: str, newline: bool = True) -> FileDiff:
    """lib.txt of FIFTY committed, then changed to `new` (ending in a newline or not):
    git's own diff of it, as the reviewer asks for it unless given `diff_options`."""
    repo = make_repo(tmp_path / "repo", {"lib.txt": "\n".join(FIFTY) + "\n"})
    old = git(repo, "rev-parse", "HEAD").strip()
    (repo / "lib.txt").write_text("\n".join(new) + ("\n" if newline else ""))
    git(repo, "commit", "-q", "-am", "change")
    if diff_options:
        (file,) = parse_diff(git(repo, "diff", *diff_options, old, "HEAD"))
        return file
    (file,) = range_diff(repo, old, "HEAD")
    return file


def threaded_view(qtbot: QtBot, host: EngineHost, source: list[str]) -> tuple[DiffView, list[str]]:
    """A view whose work runs on the engine loop; the loader reads `source` there."""
    reads: list[str] = []
    view = make_view(qtbot)
    view.compute = lambda fn, done: host.call(fn, on_done=done, owner=view)

    def loader(path: str) -> Callable[[], list[str]]:
        reads.append(path)
        return lambda: list(source)

    view.source_loader = loader
    return view, reads


def click(qtbot: QtBot, text: DiffText, block: int) -> None:
    rect = text.blockBoundingGeometry(text.document().findBlockByNumber(block))
    point = rect.translated(text.contentOffset()).center().toPoint()
    qtbot.mouseClick(text.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_the_lines_after_the_last_hunk_fold_and_open_numbered(
    qtbot: QtBot, host: EngineHost, tmp_path: Path
) -> None:
    new = [*FIFTY[:9], "line 10a", "line 10b", *FIFTY[10:]]  # line 10 → two lines
    file = changed(tmp_path, new)
    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in file.hunks] == [
        (7, 7, 7, 8)
    ]
    view, reads = threaded_view(qtbot, host, new)
    view.set_file(file)
    lines = view.text.toPlainText().splitlines()
    assert lines[-1] == "⋯ expand to the end of the file"
    assert lines[-2] == " line 13"
    fold = len(lines) - 1
    assert (view.rows[fold].kind, view.rows[fold].hunk) == ("fold", 1)
    view.text.go_to_block(fold)
    assert view.current_hunk() == 0

    click(qtbot, view.text, fold)
    qtbot.waitUntil(lambda: " line 50" in view.text.toPlainText())
    assert reads == ["lib.txt"]
    lines = view.text.toPlainText().splitlines()
    assert lines[fold:] == [f" line {n}" for n in range(14, 51)]  # 37 lines
    trailing = view.rows[fold:]
    assert [(r.kind, r.old_no, r.new_no) for r in trailing] == [
        (" ", n, n + 1) for n in range(14, 51)
    ]
    assert lines[0] == "⋯ 6 unchanged lines — expand"  # the first fold stays folded
    # The opened lines belong to the last hunk: commentable, and n/p still step hunks.
    assert view.line_range(fold + 2, fold + 3) == (17, 18, "line 16\nline 17")
    view.text.go_to_block(len(lines) - 1)
    assert view.current_hunk() == 0
    assert not view.step_hunk(1)
    assert view.step_hunk(-1) and view.active.textCursor().blockNumber() == 1


def test_no_fold_after_a_hunk_that_reaches_the_end_of_the_file(
    qtbot: QtBot, host: EngineHost, tmp_path: Path
) -> None:
    new = [*FIFTY[:49], "line fifty"]
    file = changed(tmp_path, new)
    view, _reads = threaded_view(qtbot, host, new)
    view.set_file(file)
    lines = view.text.toPlainText().splitlines()
    assert lines[0] == "⋯ 46 unchanged lines — expand"
    assert lines[-1] == "+line fifty"  # git gave no context after it: the file ends
    assert [r.kind for r in view.rows].count("fold") == 1
    # Two lines after the change: still the end of the file.
    near_end = [*FIFTY[:47], "line 48!", *FIFTY[48:]]
    view.set_file(changed(tmp_path, near_end))
    assert view.text.toPlainText().splitlines()[-1] == " line 50"
    assert [r.kind for r in view.rows].count("fold") == 1


def test_no_fold_after_a_last_line_without_newline_or_in_an_added_file(tmp_path: Path) -> None:
    file = changed(tmp_path, [*FIFTY[:19], "line 20!", *FIFTY[20:], "last"], newline=False)
    assert file.hunks[-1].lines[-1].no_newline
    assert unified(file).rows[-1].kind == "note"
    assert trailing_gap(file) is None
    added = file.model_copy(update={"status": "A"})
    assert trailing_gap(added) is None


def test_the_fold_after_a_hunk_of_git_zero_counts_numbers_from_the_right_line(
    tmp_path: Path,
) -> None:
    new = [*FIFTY[:10], "new a", "new b", *FIFTY[10:]]  # two lines after line 10
    file = changed(tmp_path, new, "-U0")
    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in file.hunks] == [
        (10, 0, 11, 2)
    ]
    assert trailing_gap(file) == Gap(1, 11, 13, None)
    assert trailing_gap(file, new) == Gap(1, 11, 13, 40)
    pane = unified(file, new, {1})
    assert [(r.old_no, r.new_no) for r in pane.rows[-40:]] == [(n, n + 2) for n in range(11, 51)]
    assert pane.lines[-1] == " line 50"

    shorter = FIFTY[:9] + FIFTY[11:]  # lines 10 and 11 deleted
    (gone,) = parse_diff(
        "diff --git a/lib.txt b/lib.txt\n--- a/lib.txt\n+++ b/lib.txt\n"
        "@@ -10,2 +9,0 @@\n-line 10\n-line 11\n"
    )
    assert trailing_gap(gone, shorter) == Gap(1, 12, 10, 39)


def test_the_fold_after_the_last_hunk_side_by_side(
    qtbot: QtBot, host: EngineHost, tmp_path: Path
) -> None:
    new = [*FIFTY[:9], "line ten", *FIFTY[10:]]
    file = changed(tmp_path, new)
    view, _reads = threaded_view(qtbot, host, new)
    view.set_split(True)
    view.set_file(file)
    left, right = view.split.panes()
    fold = left.blockCount() - 1
    assert left.toPlainText().splitlines()[fold] == "⋯ expand to the end of the file"
    assert right.toPlainText().splitlines()[fold] == "⋯ expand to the end of the file"
    click(qtbot, right, fold)
    qtbot.waitUntil(lambda: right.blockCount() > fold + 1)
    assert left.blockCount() == right.blockCount() == fold + 37
    assert left.toPlainText().splitlines()[fold:] == [f" line {n}" for n in range(14, 51)]
    assert [(r.old_no, r.new_no) for r in right.rows[fold:]] == [(n, n) for n in range(14, 51)]
    assert left.rows[fold:] == right.rows[fold:]
    view.set_split(False)  # the opened fold stays open in the other mode
    assert view.text.toPlainText().splitlines()[-1] == " line 50"
