"""Adding repositories as projects (path, drop, folder dialog) and the project selector."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtWidgets import QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from seedbed.domain.models import Project
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.host import ENGINE, LOST
from seedbed.ui.setup.projects import (
    ProjectAdder,
    ProjectSelector,
    dropped_paths,
    has_local_urls,
    paths_from_mime,
)
from tests.conftest import SeedbedCli, git, make_repo


def add(qtbot: QtBot, adder: ProjectAdder, path: Path) -> Project:
    with qtbot.waitSignal(adder.project_added, timeout=10_000) as signal:
        adder.add_path(path)
    project = signal.args[0]
    assert isinstance(project, Project)
    return project


def refused(qtbot: QtBot, adder: ProjectAdder, path: Path) -> str:
    with qtbot.waitSignal(adder.failed, timeout=10_000) as signal:
        adder.add_path(path)
    return str(signal.args[0])


def test_a_repository_is_added_under_its_folder_name(
    qtbot: QtBot, repo: Path, app_context: AppContext
) -> None:
    adder = ProjectAdder(app_context)
    project = add(qtbot, adder, repo)
    assert (project.name, project.base_branch) == ("repo", "main")
    assert project.path.resolve() == repo.resolve()
    assert app_context.store.find_project("repo").id == project.id


def test_a_folder_inside_a_repository_adds_the_repository(
    qtbot: QtBot, repo: Path, app_context: AppContext
) -> None:
    project = add(qtbot, ProjectAdder(app_context), repo / "src")
    assert project.path.resolve() == repo.resolve()
    assert project.name == "repo"


def test_a_folder_that_is_not_a_repository_is_refused_clearly(
    qtbot: QtBot, tmp_path: Path, app_context: AppContext
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    message = refused(qtbot, ProjectAdder(app_context), plain)
    assert message == f"{plain} is not a git repository"
    assert app_context.store.list_projects() == []


def test_a_file_or_a_missing_path_is_refused_clearly(
    qtbot: QtBot, repo: Path, tmp_path: Path, app_context: AppContext
) -> None:
    adder = ProjectAdder(app_context)
    file_message = refused(qtbot, adder, repo / "README.md")
    assert file_message.startswith(f"{repo / 'README.md'} is a file: add a folder")
    missing = tmp_path / "nowhere"
    assert refused(qtbot, adder, missing) == f"{missing} does not exist"


def test_bare_empty_and_detached_repositories_are_refused_clearly(
    qtbot: QtBot, repo: Path, tmp_path: Path, app_context: AppContext
) -> None:
    adder = ProjectAdder(app_context)
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    assert "bare git repository" in refused(qtbot, adder, bare)
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert "has no commits yet" in refused(qtbot, adder, empty)
    git(repo, "checkout", "-q", "--detach")
    message = refused(qtbot, adder, repo)
    assert "detached HEAD" in message and "--base" not in message
    assert app_context.store.list_projects() == []


def test_a_taken_name_gets_a_number(qtbot: QtBot, tmp_path: Path, app_context: AppContext) -> None:
    adder = ProjectAdder(app_context)
    first = add(qtbot, adder, make_repo(tmp_path / "a" / "Repo"))
    second = add(qtbot, adder, make_repo(tmp_path / "b" / "repo"))
    third = add(qtbot, adder, make_repo(tmp_path / "c" / "repo"))
    assert [first.name, second.name, third.name] == ["repo", "repo-2", "repo-3"]


def test_the_same_repository_is_not_added_twice(
    qtbot: QtBot, seedbed: SeedbedCli, repo: Path, app_context: AppContext
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    message = refused(qtbot, ProjectAdder(app_context), repo / "src")
    assert "is already the project 'demo'" in message
    assert len(app_context.store.list_projects()) == 1


def test_a_read_only_window_adds_nothing(qtbot: QtBot, repo: Path, app_context: AppContext) -> None:
    app_context.host.mode = LOST
    try:
        message = refused(qtbot, ProjectAdder(app_context), repo)
    finally:
        app_context.host.mode = ENGINE
    assert "read-only" in message
    assert app_context.store.list_projects() == []


def test_a_drop_adds_its_folders_and_says_what_it_ignored(
    qtbot: QtBot, tmp_path: Path, app_context: AppContext
) -> None:
    one = make_repo(tmp_path / "one")
    two = make_repo(tmp_path / "two")
    mime = QMimeData()
    mime.setUrls(
        [
            QUrl.fromLocalFile(str(one)),
            QUrl.fromLocalFile(str(one / "README.md")),
            QUrl("https://example.com/repo.git"),
            QUrl.fromLocalFile(str(two)),
        ]
    )
    assert has_local_urls(mime)
    assert paths_from_mime(mime) == [one, two]
    assert dropped_paths(mime).others == [one / "README.md"]
    web_only = QMimeData()
    web_only.setUrls([QUrl("https://example.com/repo.git")])
    assert not has_local_urls(web_only) and paths_from_mime(web_only) == []

    adder = ProjectAdder(app_context)
    added: list[Project] = []
    failures: list[str] = []
    adder.project_added.connect(added.append)
    adder.failed.connect(failures.append)
    assert adder.add_dropped(mime) == 2
    qtbot.waitUntil(lambda: len(added) == 2, timeout=10_000)
    assert sorted(p.name for p in added) == ["one", "two"]
    assert failures == [
        "README.md is not a folder: drop a repository's folder to add it as a project."
    ]


def test_the_folder_dialog_adds_the_chosen_folder(
    qtbot: QtBot, repo: Path, app_context: AppContext
) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    adder = ProjectAdder(app_context)
    dialog = adder.choose_folder(window)
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    dialog.setDirectory(str(repo.parent))
    dialog.selectFile(str(repo))
    with qtbot.waitSignal(adder.project_added, timeout=10_000) as signal:
        dialog.accept()
    assert signal.args[0].path.resolve() == repo.resolve()


def test_the_selector_lists_projects_and_reports_a_change(
    qtbot: QtBot, tmp_path: Path, app_context: AppContext
) -> None:
    selector = ProjectSelector(app_context)
    qtbot.addWidget(selector)
    assert selector.count() == 0 and selector.current_project_id() is None
    assert "add a repository" in selector.placeholderText()

    adder = ProjectAdder(app_context)
    first = add(qtbot, adder, make_repo(tmp_path / "alpha"))
    with qtbot.waitSignal(selector.project_selected) as signal:
        selector.reload()
    assert signal.args == [first.id]
    second = add(qtbot, adder, make_repo(tmp_path / "beta"))

    with qtbot.waitSignal(selector.project_selected) as signal:
        selector.reload(select_id=second.id)
    assert signal.args == [second.id]
    assert [selector.itemText(i) for i in range(selector.count())] == ["alpha", "beta"]
    assert selector.itemData(0, Qt.ItemDataRole.ToolTipRole) == str(first.path)
    assert selector.toolTip() == str(second.path)

    with qtbot.assertNotEmitted(selector.project_selected):
        selector.reload()  # same projects, same choice: nothing to report
    assert selector.current_project_id() == second.id

    with qtbot.waitSignal(selector.project_selected) as signal:
        selector.setCurrentIndex(0)  # as the user would
    assert signal.args == [first.id]
