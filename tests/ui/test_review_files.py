"""The reviewer's file list: the model, the viewed ticks, the filter."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from seedbed.domain.diffs import DiffLine, FileDiff, Hunk, LineKind
from seedbed.ui.review.file_list import VIEWED_FILE, FileList, FileListModel, Role, ViewedStore


def file(path: str, text: str = "x", status: str = "M", old: str | None = None) -> FileDiff:
    line = DiffLine(kind=LineKind.ADDED, text=text, new_no=1)
    hunk = Hunk(old_start=0, old_count=0, new_start=1, new_count=1, lines=[line])
    return FileDiff(path=path, old_path=old, status=status, insertions=1, hunks=[hunk])


FILES = [
    file("src/b.py"),
    file("README.md", status="D"),
    file("docs/new.md", status="R", old="notes.md"),
    file("src/a.py", status="A"),
]


def test_the_model_passes_qtmodeltester(qtmodeltester: ModelTester, tmp_path: Path) -> None:
    model = FileListModel(ViewedStore(tmp_path))
    model.set_files(1, FILES)
    qtmodeltester.check(model, force_py=True)
    paths = [model.index(r, 0).data(Role.PATH) for r in range(model.rowCount())]
    assert paths == ["README.md", "docs/new.md", "src/a.py", "src/b.py"]
    assert model.index(1, 0).data() == "notes.md → docs/new.md"
    assert model.index(0, 0).data(Role.STATUS) == "D"
    assert model.index(0, 0).data(Role.ITEM) == FILES[1]


def test_viewed_ticks_persist_and_reset_when_the_file_changes(tmp_path: Path) -> None:
    model = FileListModel(ViewedStore(tmp_path))
    model.set_files(7, FILES)
    index = model.index(model.row_of("src/a.py"), 0)
    assert model.setData(index, Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert "7" in json.loads((tmp_path / VIEWED_FILE).read_text())

    again = FileListModel(ViewedStore(tmp_path))  # a new window, the same data dir
    again.set_files(7, FILES)
    assert again.index(again.row_of("src/a.py"), 0).data(Role.VIEWED) is True
    assert again.index(again.row_of("src/b.py"), 0).data(Role.VIEWED) is False

    changed = [file("src/a.py", text="y", status="A"), *FILES[:3]]
    again.set_files(7, changed)
    assert again.index(again.row_of("src/a.py"), 0).data(Role.VIEWED) is False
    other_task = FileListModel(ViewedStore(tmp_path))
    other_task.set_files(8, FILES)
    assert other_task.index(other_task.row_of("src/a.py"), 0).data(Role.VIEWED) is False


def test_the_filter_box_and_stepping(qtbot: QtBot, tmp_path: Path) -> None:
    files = FileList(ViewedStore(tmp_path))
    qtbot.addWidget(files)
    seen: list[FileDiff | None] = []
    files.file_selected.connect(seen.append)
    files.set_files(1, FILES, keep="src/a.py")
    assert files.current_file() is not None and files.current_file().path == "src/a.py"
    files.step(1)
    assert files.current_file().path == "src/b.py"
    files.step(-2)
    assert files.current_file().path == "docs/new.md"
    files.filter_box.setText("SRC/")
    assert files.proxy.rowCount() == 2
    files.toggle_viewed()
    assert seen[-1] is not None
