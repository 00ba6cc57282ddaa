"""The reviewer's file tree: compressed directories, the reading order, the filter that
keeps a match's directories, directory rows that are never "the file", viewed ticks."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from seedbed.domain.diffs import DiffLine, FileDiff, Hunk, LineKind, first_in_tree
from seedbed.ui.review.file_list import FileList
from seedbed.ui.review.file_model import VIEWED_FILE, FileListModel, Role, ViewedStore
from seedbed.ui.review.file_tree import FileTreeModel, count_label, leaf_label
from seedbed.vcs.diffparse import parse_diff


def file(path: str, added: int = 1, status: str = "M", old: str | None = None) -> FileDiff:
    lines = [DiffLine(kind=LineKind.ADDED, text=f"{path} {i}", new_no=i + 1) for i in range(added)]
    hunk = Hunk(old_start=0, old_count=0, new_start=1, new_count=added, lines=lines)
    return FileDiff(path=path, old_path=old, status=status, insertions=added, hunks=[hunk])


FILES = [
    file("src/pkg000/module_1.py", added=3),
    file("README.md", status="D"),
    file("lib/y.py"),
    file("src/pkg000/module_0.py", added=2, status="A"),
    file("b.txt"),
    file("lib/deep/er/x.py"),
]


def rows(tree: FileTreeModel, parent: QModelIndex | None = None, depth: int = 0) -> list[str]:
    """The tree as indented lines: directories with their "/", files by name."""
    parent = parent if parent is not None else QModelIndex()
    lines: list[str] = []
    for row in range(tree.rowCount(parent)):
        index = tree.index(row, 0, parent)
        node = index.data(Role.NODE)
        lines.append("  " * depth + (index.data() if node.is_dir else node.name))
        lines.extend(rows(tree, index, depth + 1))
    return lines


def file_list(qtbot: QtBot, tmp_path: Path, files: list[FileDiff] = FILES) -> FileList:
    widget = FileList(ViewedStore(tmp_path))
    qtbot.addWidget(widget)
    widget.resize(320, 400)
    widget.set_files(1, files, None)
    return widget


def test_single_child_directories_compress_and_directories_come_first(
    qtbot: QtBot, tmp_path: Path
) -> None:
    files = file_list(qtbot, tmp_path)
    assert rows(files.tree) == [
        "lib/",
        "  deep/er/",
        "    x.py",
        "  y.py",
        "src/pkg000/",
        "  module_0.py",
        "  module_1.py",
        "b.txt",
        "README.md",  # alphabetical in any case: b before R
    ]
    # The flat model, the first file and `step` follow the same top-to-bottom order.
    assert [f.path for f in files.model.files()] == [
        "lib/deep/er/x.py",
        "lib/y.py",
        "src/pkg000/module_0.py",
        "src/pkg000/module_1.py",
        "b.txt",
        "README.md",
    ]
    assert files.current_file() is not None
    assert files.current_file().path == "lib/deep/er/x.py"
    assert first_in_tree(FILES) == files.current_file()
    src = files.tree.index(1, 0)
    assert src.data(Qt.ItemDataRole.ToolTipRole) == "src/pkg000/"
    node = src.data(Role.NODE)
    assert (node.insertions, node.deletions) == (5, 0)
    assert src.data(Role.ITEM) is None
    assert files.view.isExpanded(src) and files.view.isExpanded(files.tree.index(0, 0))


def test_the_tree_model_passes_qtmodeltester(qtmodeltester: ModelTester, tmp_path: Path) -> None:
    flat = FileListModel(ViewedStore(tmp_path))
    tree = FileTreeModel(flat)
    flat.set_files(1, FILES)
    qtmodeltester.check(tree, force_py=True)
    tree.set_filter("module")  # the tester checks the model again after each change
    assert rows(tree) == ["src/pkg000/", "  module_0.py", "  module_1.py"]
    flat.set_files(1, [*FILES, file("src/pkg001/module_9.py")])  # the filter stays
    assert rows(tree) == [
        "src/",
        "  pkg000/",
        "    module_0.py",
        "    module_1.py",
        "  pkg001/",
        "    module_9.py",
    ]
    assert (
        tree.setData(tree.index(0, 0), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
        is False
    )


def test_the_filter_keeps_the_directories_of_its_matches_open(qtbot: QtBot, tmp_path: Path) -> None:
    renamed = [*FILES, file("docs/new.md", status="R", old="notes/old.md")]
    files = file_list(qtbot, tmp_path, renamed)
    files.filter_box.setText("MODULE_1")
    assert rows(files.tree) == ["src/pkg000/", "  module_1.py"]
    assert files.view.isExpanded(files.tree.index(0, 0))
    files.filter_box.setText(".PY")
    assert rows(files.tree) == [
        "lib/",
        "  deep/er/",
        "    x.py",
        "  y.py",
        "src/pkg000/",
        "  module_0.py",
        "  module_1.py",
    ]
    lib = files.tree.index(0, 0)
    assert files.view.isExpanded(lib) and files.view.isExpanded(files.tree.index(0, 0, lib))
    files.filter_box.setText("notes/")  # a rename matches by its old path too
    assert rows(files.tree) == ["docs/", "  new.md"]
    files.filter_box.clear()
    assert rows(files.tree)[:2] == ["docs/", "  new.md"] and len(rows(files.tree)) == 11


def test_filtering_keeps_a_file_it_shows_and_clears_one_it_hides(
    qtbot: QtBot, tmp_path: Path
) -> None:
    files = file_list(qtbot, tmp_path)
    files.select_row(files.model.row_of("src/pkg000/module_1.py"))
    seen: list[FileDiff | None] = []
    files.file_selected.connect(seen.append)
    files.filter_box.setText("module")
    assert files.current_file() is not None
    assert files.current_file().path == "src/pkg000/module_1.py"
    files.filter_box.setText("nothing matches")
    assert files.current_file() is None and rows(files.tree) == []
    files.step(1)
    assert files.current_file() is None
    files.filter_box.clear()
    assert files.current_file() is not None
    assert files.current_file().path == "src/pkg000/module_1.py"
    # Kept while it showed; the diff beside was cleared while it was hidden, not left
    # showing a file the list no longer has; and it came back with it.
    assert [f.path if f else None for f in seen] == [None, "src/pkg000/module_1.py"]


def test_a_directory_is_never_the_file_and_step_skips_directories(
    qtbot: QtBot, tmp_path: Path
) -> None:
    files = file_list(qtbot, tmp_path)
    seen: list[FileDiff | None] = []
    files.file_selected.connect(seen.append)
    src = files.tree.index(1, 0)
    files.view.setCurrentIndex(src)
    assert seen == [] and files.current_file() is None
    files.toggle_viewed()  # no file, no tick
    assert not (tmp_path / VIEWED_FILE).exists()
    files.step(1)  # into the directory: its first file
    assert [f.path for f in seen if f] == ["src/pkg000/module_0.py"]
    files.view.setCurrentIndex(src)
    files.step(-1)  # the file above the directory, past lib/'s rows
    assert files.current_file() is not None and files.current_file().path == "lib/y.py"
    files.step(1)  # from the last file of lib/, past src/pkg000/
    assert files.current_file().path == "src/pkg000/module_0.py"
    files.step(3)
    assert files.current_file().path == "README.md"
    files.step(1)  # the last file stays
    assert files.current_file().path == "README.md"
    files.step(-6)
    assert files.current_file().path == "lib/deep/er/x.py"
    assert all(f is not None for f in seen)


def test_clicking_a_directory_closes_it_and_it_stays_closed(qtbot: QtBot, tmp_path: Path) -> None:
    files = file_list(qtbot, tmp_path)
    files.show()
    qtbot.waitExposed(files)
    seen: list[FileDiff | None] = []
    files.file_selected.connect(seen.append)
    src = files.tree.index(1, 0)
    qtbot.mouseClick(files.view.viewport(), Qt.MouseButton.LeftButton, pos=centre(files, src))
    assert not files.view.isExpanded(src)
    assert seen == []
    files.set_files(1, [*FILES, file("src/pkg000/module_2.py")], "lib/y.py")
    src = files.tree.index(1, 0)
    assert src.data() == "src/pkg000/" and not files.view.isExpanded(src)
    assert files.view.isExpanded(files.tree.index(0, 0))
    files.select_row(files.model.row_of("src/pkg000/module_2.py"))  # a file shown opens it
    assert files.view.isExpanded(src)


def centre(files: FileList, index: QModelIndex) -> QPoint:
    return files.view.visualRect(index).center()


def test_a_click_on_the_painted_tick_toggles_viewed_and_is_remembered(
    qtbot: QtBot, tmp_path: Path
) -> None:
    files = file_list(qtbot, tmp_path)
    files.show()
    qtbot.waitExposed(files)
    row = files.model.row_of("src/pkg000/module_0.py")
    leaf = files.tree.file_index(row)
    rect = files.view.visualRect(leaf)
    tick = QPoint(rect.left() + 4 + (rect.height() - 8) // 2, rect.center().y())
    with qtbot.waitSignal(files.tree.dataChanged):  # the row is painted again
        qtbot.mouseClick(files.view.viewport(), Qt.MouseButton.LeftButton, pos=tick)
    assert leaf.data(Role.VIEWED) is True
    assert list(json.loads((tmp_path / VIEWED_FILE).read_text())["1"]) == ["src/pkg000/module_0.py"]
    again = file_list(qtbot, tmp_path)  # a new window on the same data dir
    assert again.tree.file_index(row).data(Role.VIEWED) is True
    assert again.tree.file_index(row - 1).data(Role.VIEWED) is False
    # A click on the name is no tick.
    qtbot.mouseClick(files.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert leaf.data(Role.VIEWED) is True
    assert files.current_file() is not None
    assert files.current_file().path == "src/pkg000/module_0.py"
    qtbot.mouseClick(files.view.viewport(), Qt.MouseButton.LeftButton, pos=tick)
    assert leaf.data(Role.VIEWED) is False
    assert json.loads((tmp_path / VIEWED_FILE).read_text())["1"] == {}


RENAMES = """\
diff --git a/misc/notes.md b/docs/notes.md
similarity index 100%
rename from misc/notes.md
rename to docs/notes.md
diff --git a/docs/old.md b/docs/new.md
similarity index 90%
rename from docs/old.md
rename to docs/new.md
--- a/docs/old.md
+++ b/docs/new.md
@@ -1 +1 @@
-old
+new
diff --git a/logo.png b/logo.png
new file mode 100644
Binary files /dev/null and b/logo.png differ
"""


def test_renames_and_binaries_are_shown(qtbot: QtBot, tmp_path: Path) -> None:
    parsed = parse_diff(RENAMES)
    files = file_list(qtbot, tmp_path, parsed)
    assert rows(files.tree) == ["docs/", "  new.md", "  notes.md", "logo.png"]
    by_path = {f.path: f for f in parsed}
    assert leaf_label(by_path["docs/new.md"]) == ("old.md → ", "new.md")  # the same directory
    assert leaf_label(by_path["docs/notes.md"]) == ("misc/notes.md → ", "notes.md")  # moved
    assert leaf_label(by_path["logo.png"]) == ("", "logo.png")
    moved = files.tree.file_index(files.model.row_of("docs/notes.md"))
    assert moved.data(Qt.ItemDataRole.ToolTipRole) == "misc/notes.md → docs/notes.md"
    assert by_path["logo.png"].binary and by_path["logo.png"].status == "A"
    docs = files.tree.index(0, 0).data(Role.NODE)
    assert (docs.insertions, docs.deletions) == (1, 1)
    files.show()
    qtbot.waitExposed(files)
    image = files.view.viewport().grab().toImage()  # every kind of row painted
    assert not image.isNull()


def test_a_list_whose_counts_are_not_read_yet_shows_none(qtbot: QtBot, tmp_path: Path) -> None:
    """The reviewer lists the files from `git diff --raw` before their counts are in."""
    files = file_list(qtbot, tmp_path)
    labels = {}
    for row in range(len(FILES)):
        node = files.tree.file_index(row).data(Role.NODE)
        labels[node.path] = count_label(node, files.model.counted)
    assert labels["src/pkg000/module_1.py"] == "+3 \u22120" and labels["lib/y.py"] == "+1 \u22120"
    assert count_label(files.tree.dir_index("src/pkg000").data(Role.NODE), True) == "+5 \u22120"

    files.set_files(1, FILES, "lib/y.py", counted=False)
    assert not files.model.counted
    assert files.current_file() is not None and files.current_file().path == "lib/y.py"
    for row in range(len(FILES)):
        assert count_label(files.tree.file_index(row).data(Role.NODE), files.model.counted) == ""
    files.show()
    qtbot.waitExposed(files)
    assert not files.view.viewport().grab().toImage().isNull()
