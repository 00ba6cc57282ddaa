"""The diff view: text and line numbers, hunk steps, intraline spans, placeholders."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from pathlib import Path

from pygments.token import Keyword, String
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from seedbed.domain.diffs import FileDiff
from seedbed.ui.review.diff_view import DiffView, file_spans
from seedbed.ui.review.highlight import MAX_CONTEXT_CHARS, TOKEN_KINDS, lex_lines, lexer_for
from seedbed.ui.review.layout import unified
from seedbed.vcs.diff import range_diff
from seedbed.vcs.diffparse import parse_diff
from tests.conftest import git, make_repo

DIFF = """\
diff --git a/lib.py b/lib.py
index 1111111..2222222 100644
--- a/lib.py
+++ b/lib.py
@@ -3,3 +3,3 @@ def top():
 a = 1
-b = compute(2)
+b = compute(3)
 c = 3
@@ -30,2 +30,3 @@ def bottom():
 x = 1
+y = 2
 z = 3
"""


def now(fn: Callable[[], object], done: Callable[[object], None]) -> None:
    done(fn())


def the_file() -> FileDiff:
    (parsed,) = parse_diff(DIFF)
    return parsed


def make_view(qtbot: QtBot, compute: Callable[..., None] = now) -> DiffView:
    view = DiffView(compute)
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_the_text_and_line_numbers_follow_the_hunks(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.set_file(the_file())
    lines = view.text.toPlainText().splitlines()
    assert lines[0] == "⋯ 2 unchanged lines — expand"
    assert lines[1] == "@@ -3,3 +3,3 @@ def top():"
    assert lines[3:5] == ["-b = compute(2)", "+b = compute(3)"]
    assert lines[6] == "⋯ 24 unchanged lines — expand"
    numbers = [(r.kind, r.old_no, r.new_no) for r in view.rows]
    assert numbers[2:6] == [(" ", 3, 3), ("-", 4, None), ("+", None, 4), (" ", 5, 5)]
    assert numbers[8:11] == [(" ", 30, 30), ("+", None, 31), (" ", 31, 32)]


def test_n_and_p_step_between_hunks(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.set_file(the_file())
    assert view.hunk_blocks() == [1, 7]
    assert view.current_hunk() == -1
    assert view.step_hunk(1)
    assert view.current_hunk() == 0
    assert view.step_hunk(1)
    assert view.current_hunk() == 1
    assert not view.step_hunk(1)
    assert view.step_hunk(-1)
    assert view.current_hunk() == 0


def test_intraline_spans_arrive_later_and_a_stale_answer_is_dropped(qtbot: QtBot) -> None:
    pending: list[tuple[Callable[[], object], Callable[[object], None]]] = []
    view = make_view(qtbot, lambda fn, done: pending.append((fn, done)))
    view.set_file(the_file())
    view.set_file(the_file(), keep_position=True)  # a refresh: the first answer is stale
    assert len(pending) == 2
    stale_fn, stale_done = pending[0]
    stale_done(stale_fn())
    assert view.text.highlighter.spans == {}
    fn, done = pending[1]
    done(fn())
    assert view.text.highlighter.spans == {3: [(12, 13)], 4: [(12, 13)]}
    assert file_spans(the_file()) == {(0, 1): [(12, 13)], (0, 2): [(12, 13)]}
    pending.clear()  # the closures hold the view: no cycle left for the GC to delete it


def test_binary_and_too_large_files_show_a_placeholder(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.set_file(FileDiff(path="logo.png", status="A", binary=True))
    assert view.pages.currentWidget() is view.placeholder
    assert "binary" in view.placeholder_label.text()
    assert view.show_anyway.isHidden()
    huge = FileDiff(path="big.txt", status="M", insertions=50_000, too_large=True)
    view.set_file(huge)
    assert not view.show_anyway.isHidden()
    with qtbot.waitSignal(view.show_anyway_requested) as blocker:
        view.show_anyway.click()
    assert blocker.args == ["big.txt"]
    view.set_file(the_file())
    assert view.pages.currentWidget() is view.text


def test_a_gutter_click_asks_for_a_comment_on_that_line(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.set_file(the_file())
    block = view.text.document().findBlockByNumber(4)
    y = round(
        view.text.blockBoundingGeometry(block).translated(view.text.contentOffset()).center().y()
    )
    from PySide6.QtCore import QPoint

    with qtbot.waitSignal(view.comment_requested) as blocker:
        qtbot.mouseClick(view.text.gutter, Qt.MouseButton.LeftButton, pos=QPoint(5, y))
    assert blocker.args == [4, 4]
    assert view.line_range(4, 4) == (4, None, "b = compute(3)")
    assert view.line_range(2, 5) == (3, 5, "a = 1\nb = compute(2)\nb = compute(3)\nc = 3")


def test_layout_marks_a_missing_newline() -> None:
    text = DIFF.replace(" z = 3\n", " z = 3\n\\ No newline at end of file\n")
    pane = unified(parse_diff(text)[0])
    assert pane.rows[-1].kind == "note"
    assert pane.text().endswith("\\ No newline at end of file")


def big_file(changed: int = 2500) -> FileDiff:
    """One hunk of 7,500 rows: `changed` lines modified, each beside an unchanged one."""
    lines = [f"@@ -1,{2 * changed} +1,{2 * changed} @@"]
    for k in range(changed):
        lines.append(f' ITEM_{k:05d} = make_item({k}, "kept {k}")')
        lines.append(f'-VALUE_{k:05d} = make_item({k}, "item {k}", weight={k % 17})')
        lines.append(f'+VALUE_{k:05d} = make_item({k}, "renamed {k}", weight={k % 19})')
    header = "diff --git a/big.py b/big.py\nindex 1111111..2222222 100644\n"
    (parsed,) = parse_diff(header + "--- a/big.py\n+++ b/big.py\n" + "\n".join(lines) + "\n")
    return parsed


def formatted_blocks(view: DiffView) -> set[int]:
    """Blocks of the unified text with any character format set (highlighted)."""
    found = set()
    block = view.text.document().begin()
    while block.isValid():
        if block.layout().formats():
            found.add(block.blockNumber())
        block = block.next()
    return found


def has_span_background(view: DiffView, number: int) -> bool:
    colors = view.text.highlighter.colors
    block = view.text.document().findBlockByNumber(number)
    colours = {colors.added_strong.rgb(), colors.removed_strong.rgb()}
    return any(
        r.format.background().color().rgb() in colours
        for r in block.layout().formats()
        if r.format.background().style() != Qt.BrushStyle.NoBrush
    )


def test_a_long_file_is_highlighted_only_where_it_is_seen(qtbot: QtBot) -> None:
    pending: list[tuple[Callable[[], object], Callable[[object], None]]] = []
    view = make_view(qtbot, lambda fn, done: pending.append((fn, done)))
    view.set_file(big_file())
    qtbot.wait(20)  # painted
    text, highlighter = view.text, view.text.highlighter
    assert len(text.rows) > 7500
    first, last = text.visible_blocks()
    seen = last - first + 1
    assert 5 < seen < 100
    done = formatted_blocks(view)
    assert set(range(first, last + 1)) <= done
    assert len(done) <= seen + 2 * 10 + 1  # the viewport and a small margin only
    done_before = done
    assert highlighter.highlighted == set(range(0, last + 11))
    # Lexed line by line on the GUI thread (not highlighted) while idle: the pages
    # around the viewport only.
    assert len(highlighter._tokens) <= seen + 2 * 10 + 1 + 3 * (seen + 20)
    # The worker's answer: the spans. No blob reader here: the lines stay lexed one by
    # one, as they come into view (see the docstring test for whole files).
    fn, done = pending.pop()
    done(fn())
    assert not pending
    assert len(highlighter._tokens) <= seen + 2 * 10 + 1 + 3 * (seen + 20)
    assert formatted_blocks(view) <= done_before | set(range(first, last + 1))
    # The intraline spans are on the visible changed lines.
    changed = next(n for n in range(first, last + 1) if text.rows[n].kind == "+")
    assert highlighter.spans.get(changed)
    assert has_span_background(view, changed)

    text.verticalScrollBar().setValue(5000)
    qtbot.wait(20)
    first, last = text.visible_blocks()
    assert first >= 4990
    done = formatted_blocks(view)
    assert set(range(first, last + 1)) <= done
    assert len(done) <= 2 * (seen + 2 * 10 + 1)
    assert not done & set(range(100, 4900))  # the blocks scrolled past were never seen
    changed = next(n for n in range(first, last + 1) if text.rows[n].kind == "-")
    assert has_span_background(view, changed)


def test_spans_and_a_palette_change_reapply_without_lexing_again(qtbot: QtBot) -> None:
    pending: list[tuple[Callable[[], object], Callable[[object], None]]] = []
    view = make_view(qtbot, lambda fn, done: pending.append((fn, done)))
    view.set_file(big_file())
    qtbot.wait(20)
    text, highlighter = view.text, view.text.highlighter
    first, last = text.visible_blocks()
    changed = next(n for n in range(first, last + 1) if text.rows[n].kind == "+")
    assert not has_span_background(view, changed)
    lexed = dict(highlighter._tokens)
    assert lexed

    fn, done = pending.pop()
    done(fn())
    assert has_span_background(view, changed)
    assert lexed.keys() <= highlighter._tokens.keys()  # now lexed in context
    lexed = dict(highlighter._tokens)

    palette = view.palette()
    palette.setColor(palette.ColorRole.Base, Qt.GlobalColor.black)
    palette.setColor(palette.ColorRole.Text, Qt.GlobalColor.white)
    view.setPalette(palette)
    qtbot.wait(20)
    assert has_span_background(view, changed)  # in the new colours
    assert all(highlighter._tokens[n] is tokens for n, tokens in lexed.items())
    assert set(range(first, last + 1)) <= formatted_blocks(view)


EMOJI = """\
diff --git a/faces.py b/faces.py
--- a/faces.py
+++ b/faces.py
@@ -1 +1 @@
-s = "😀😀" ; return old_name
+s = "😀😀" ; return new_name
"""


def test_tokens_and_spans_after_an_emoji_cover_the_right_characters(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    (file,) = parse_diff(EMOJI)
    view.set_file(file)
    qtbot.wait(20)
    text = view.text
    number = next(n for n, r in enumerate(text.rows) if r.kind == "+")
    line = text.document().findBlockByNumber(number).text()
    qtbot.waitUntil(lambda: has_span_background(view, number), timeout=5000)

    def covered(ranges: list[tuple[int, int]]) -> list[str]:
        """The text under each (start, length) in Qt's UTF-16 units."""
        units = line.encode("utf-16-le")
        return [units[2 * a : 2 * (a + n)].decode("utf-16-le") for a, n in ranges]

    ranges = text.document().findBlockByNumber(number).layout().formats()
    colours = {view.text.highlighter.colors.added_strong.rgb()}
    spans = [
        (r.start, r.length)
        for r in ranges
        if r.format.background().style() != Qt.BrushStyle.NoBrush
        and r.format.background().color().rgb() in colours
    ]
    assert "".join(covered(spans)) == "new_name"  # the changed word, not "n new_na"
    bold_or_coloured = covered([(r.start, r.length) for r in ranges])
    assert "return" in bold_or_coloured  # the keyword token, not "; retu"


def test_renames_modes_and_line_endings_are_said_above_the_lines(
    qtbot: QtBot, tmp_path: Path
) -> None:
    lines = "".join(f"line {n}\n" for n in range(1, 11))
    repo = make_repo(
        tmp_path / "repo", {"notes.md": "a\nb\nc\n", "run.sh": "echo hi\n", "lib.txt": lines}
    )
    old = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "mv", "notes.md", "docs.md")
    (repo / "run.sh").chmod(0o755)
    crlf = lines.replace("line 5\n", "line 5\r\n")
    for n in (6, 7, 8):  # three more, and a new line among them
        crlf = crlf.replace(f"line {n}\n", f"line {n}\r\n")
    crlf = crlf.replace("line 7\r\n", "line 7\r\nnew line\n")
    (repo / "lib.txt").write_bytes(crlf.encode())
    git(repo, "commit", "-q", "-am", "rename, chmod, crlf")
    by_path = {f.path: f for f in range_diff(repo, old, "HEAD")}
    view = make_view(qtbot)

    view.set_file(by_path["docs.md"])
    assert view.info.isVisible() and view.info.text() == "Renamed from notes.md (100% similar)"
    assert view.pages.currentWidget() is view.placeholder
    assert view.placeholder_label.text() == "docs.md: no line changed."
    assert view.show_anyway.isHidden()

    view.set_file(by_path["run.sh"])
    assert view.info.text() == "Mode 100644 → 100755 (file → executable)"

    view.set_file(by_path["lib.txt"])
    assert view.info.text() == "4 lines changed only in their ending (now CRLF)"
    assert view.pages.currentWidget() is view.text
    assert "-line 5\n-line 6\n-line 7\n-line 8\n+line 5\n" in view.text.toPlainText()

    view.set_file(the_file())
    assert view.info.isHidden()


DOC_OLD = '''def f(a, b):
    """Sum two numbers.

    Args:
        a: first.
        b: second.
    """
    if a:
        return b
    return a + b
'''


def test_lines_inside_a_docstring_are_coloured_as_the_string_they_are(
    qtbot: QtBot, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"doc.py": DOC_OLD})
    old = git(repo, "rev-parse", "HEAD").strip()
    new_text = DOC_OLD.replace("b: second.", "b: the second one.\n        import os")
    (repo / "doc.py").write_text(new_text)
    git(repo, "commit", "-q", "-am", "doc")
    (file,) = range_diff(repo, old, "HEAD")
    assert file.hunks[0].new_start > 2  # the hunk starts inside the docstring
    reads: list[str] = []

    def read(blob: str) -> str:
        reads.append(blob)
        return git(repo, "cat-file", "blob", blob)

    view = make_view(qtbot)
    view.blob_reader = read
    view.set_file(file)  # `now`: the spans, then the whole files lexed, are back at once
    qtbot.wait(20)
    assert reads == [file.old_blob, file.new_blob]
    text = view.text
    string = colour_of(view, String)
    keyword = colour_of(view, Keyword)

    def colours(new_no: int, kind: str = "+") -> set[int]:
        block = next(n for n, r in enumerate(text.rows) if r.kind == kind and r.new_no == new_no)
        formats = text.document().findBlockByNumber(block).layout().formats()
        return {r.format.foreground().color().rgb() for r in formats if r.start > 0}

    assert colours(7) == {string}  # "import os" is inside the docstring
    assert keyword in colours(9, " ") and string not in colours(9, " ")  # "if a:" is code
    # Alone, that line would have been lexed as code.
    alone = _alone("        import os")
    assert TOKEN_KINDS.index(Keyword) in alone[2::3]


def colour_of(view: DiffView, kind: object) -> int:
    highlighter = view.text.highlighter
    return highlighter._formats[highlighter._kinds.index(kind)].foreground().color().rgb()


def _alone(line: str) -> array[int]:
    lexer = lexer_for("doc.py")
    assert lexer is not None
    return lex_lines(lexer, [line])[0]


def test_a_changed_comment_stays_readable_on_the_strong_background(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    diff = (
        "diff --git a/f.py b/f.py\n--- a/f.py\n+++ b/f.py\n@@ -1 +1 @@\n"
        '-print("hi")\n+print("hello")  # say hello\n'
    )
    (file,) = parse_diff(diff)
    view.set_file(file)
    qtbot.wait(20)
    text = view.text
    number = next(n for n, r in enumerate(text.rows) if r.kind == "+")
    qtbot.waitUntil(lambda: has_span_background(view, number), timeout=5000)
    colors = text.highlighter.colors
    ranges = text.document().findBlockByNumber(number).layout().formats()
    strong = [r for r in ranges if r.format.background().color().rgb() == colors.added_strong.rgb()]
    assert strong and all(r.format.foreground().color().rgb() != colors.muted.rgb() for r in strong)


def test_a_file_too_long_to_lex_whole_is_still_coloured_inside_its_docstring(
    qtbot: QtBot, tmp_path: Path
) -> None:
    filler = "".join(f"value_{n} = compute({n})  # setting {n}\n" for n in range(9000))
    old_text = filler + DOC_OLD
    assert len(old_text) > MAX_CONTEXT_CHARS
    repo = make_repo(tmp_path / "repo", {"big.py": old_text})
    old = git(repo, "rev-parse", "HEAD").strip()
    new_text = old_text.replace("b: second.", "b: the second one.\n        import os")
    (repo / "big.py").write_text(new_text)
    git(repo, "commit", "-q", "-am", "doc")
    (file,) = range_diff(repo, old, "HEAD")
    base = filler.count("\n")  # DOC_OLD's line n is the file's base + n
    assert file.hunks[0].new_start > base + 2  # the hunk starts inside the docstring

    view = make_view(qtbot)
    view.blob_reader = lambda blob: git(repo, "cat-file", "blob", blob)
    view.set_file(file)
    qtbot.wait(20)
    text = view.text
    string, keyword = colour_of(view, String), colour_of(view, Keyword)

    def colours(new_no: int, kind: str = "+") -> set[int]:
        block = next(n for n, r in enumerate(text.rows) if r.kind == kind and r.new_no == new_no)
        formats = text.document().findBlockByNumber(block).layout().formats()
        return {r.format.foreground().color().rgb() for r in formats if r.start > 0}

    assert colours(base + 6) == {string}  # "b: the second one."
    assert colours(base + 7) == {string}  # "import os", inside the docstring
    assert colours(base + 8, " ") == {string}  # its closing quotes
    assert keyword in colours(base + 9, " ") and string not in colours(base + 9, " ")
    # The removed line is the old side's, inside the old docstring.
    removed = next(n for n, r in enumerate(text.rows) if r.kind == "-")
    formats = text.document().findBlockByNumber(removed).layout().formats()
    assert {r.format.foreground().color().rgb() for r in formats if r.start > 0} == {string}
