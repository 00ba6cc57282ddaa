"""The reviewer's file list: the model, the viewed ticks, the filter."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from seedbed.domain.diffs import DiffLine, FileDiff, Hunk, LineKind
from seedbed.ui.review.file_list import FileList
from seedbed.ui.review.file_model import (
    VIEWED_FILE,
    FileListModel,
    Role,
    ViewedStore,
    content_key,
)
from seedbed.vcs import diff as vcs_diff
from tests.conftest import git


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
    # The tree's order: directories before the files beside them.
    assert paths == ["docs/new.md", "src/a.py", "src/b.py", "README.md"]
    assert model.index(0, 0).data() == "notes.md → docs/new.md"
    assert model.index(3, 0).data(Role.STATUS) == "D"
    assert model.index(3, 0).data(Role.ITEM) == FILES[1]


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
    src = files.tree.index(0, 0)
    assert files.tree.rowCount() == 1 and src.data() == "src/"
    assert [files.tree.index(r, 0, src).data(Role.PATH) for r in range(2)] == [
        "src/a.py",
        "src/b.py",
    ]
    files.step(1)  # docs/new.md is filtered out: the first file shown
    assert files.current_file() is not None and files.current_file().path == "src/a.py"
    files.toggle_viewed()
    assert files.model.index(files.model.row_of("src/a.py"), 0).data(Role.VIEWED) is True
    assert seen[-1] is not None and seen[-1].path == "src/a.py"


def test_selecting_the_current_file_again_shows_it_again(qtbot: QtBot, tmp_path: Path) -> None:
    files = FileList(ViewedStore(tmp_path))
    qtbot.addWidget(files)
    files.set_files(1, FILES, keep="src/b.py")
    seen: list[FileDiff | None] = []
    files.file_selected.connect(seen.append)
    files.select_row(files.model.row_of("src/b.py"))  # asked for: the diff starts afresh
    assert [f.path for f in seen if f is not None] == ["src/b.py"]
    files.select_row(files.model.row_of("README.md"))
    files.select_row(-1)
    assert [f.path if f else None for f in seen] == ["src/b.py", "README.md", None]


def test_a_tick_set_on_an_outline_holds_for_the_whole_diff_until_the_file_changes(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "tool.sh").write_text("echo tool\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a tool")
    git(repo, "checkout", "-q", "-b", "task")
    git(repo, "mv", "README.md", "READ ME.md")  # a pure rename: no index line
    git(repo, "update-index", "--chmod=+x", "tool.sh")  # a mode change alone: none either
    (repo / "src" / "app.py").write_text("print('hello')\n")
    (repo / "new.bin").write_bytes(b"\0\1\2")
    git(repo, "add", "src", "new.bin")
    git(repo, "commit", "-q", "-m", "work")

    def read() -> tuple[dict[str, FileDiff], dict[str, FileDiff]]:
        diff_range = vcs_diff.branch_range(repo, "main", "task")
        outline = {f.path: f for f in vcs_diff.outline(diff_range)}
        whole = {f.path: f for f in vcs_diff.parsed(diff_range)}
        return outline, whole

    outline, whole = read()
    assert set(outline) == set(whole) == {"src/app.py", "READ ME.md", "tool.sh", "new.bin"}
    assert whole["READ ME.md"].status == "R" and whole["tool.sh"].new_mode == "100755"
    for path, file in whole.items():  # the same blob ids from --raw and from the patch
        assert (outline[path].old_blob, outline[path].new_blob) == (file.old_blob, file.new_blob)
        assert content_key(outline[path]) == content_key(file)
    assert whole["new.bin"].old_blob is None and whole["new.bin"].new_blob
    assert whole["READ ME.md"].old_blob == whole["READ ME.md"].new_blob is not None
    assert whole["src/app.py"].old_blob and len(whole["src/app.py"].old_blob) == 40

    viewed = ViewedStore(tmp_path)
    for path in ("src/app.py", "READ ME.md", "tool.sh"):  # ticked before the whole came
        viewed.set_viewed(3, outline[path], True)
        assert ViewedStore(tmp_path).is_viewed(3, whole[path]), path
    assert not ViewedStore(tmp_path).is_viewed(3, whole["new.bin"])

    (repo / "src" / "app.py").write_text("print('hello again')\n")
    git(repo, "commit", "-q", "-am", "more")
    _outline, whole = read()
    assert not ViewedStore(tmp_path).is_viewed(3, whole["src/app.py"])


def test_two_windows_keep_each_others_ticks(tmp_path: Path) -> None:
    first, second = ViewedStore(tmp_path), ViewedStore(tmp_path)  # two reviewer windows
    first.set_viewed(1, FILES[0], True)
    second.set_viewed(2, FILES[1], True)
    first.set_viewed(1, FILES[3], True)
    again = ViewedStore(tmp_path)
    assert again.is_viewed(1, FILES[0]) and again.is_viewed(1, FILES[3])
    assert again.is_viewed(2, FILES[1])
    second.set_viewed(2, FILES[1], False)
    assert ViewedStore(tmp_path).is_viewed(1, FILES[0])
    assert not ViewedStore(tmp_path).is_viewed(2, FILES[1])


def test_a_refresh_keeps_the_list_where_it_was_scrolled(qtbot: QtBot, tmp_path: Path) -> None:
    many = [file(f"pkg{i // 10}/m{i:03d}.py") for i in range(200)]
    files = FileList(ViewedStore(tmp_path))
    qtbot.addWidget(files)
    files.resize(300, 200)
    files.show()
    files.set_files(1, many, keep=None)
    bar = files.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 100)
    bar.setValue(bar.maximum() // 2)
    scrolled = bar.value()
    current = files.current_file()
    assert current is not None and current.path == "pkg0/m000.py"
    files.set_files(1, [file(f.path, text="y") for f in many], keep=current.path)
    assert bar.value() == scrolled
    assert files.current_file() is not None and files.current_file().path == "pkg0/m000.py"
