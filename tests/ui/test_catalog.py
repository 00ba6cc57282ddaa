"""The window's catalog of projects and profiles: read with the settings in the round trip
that connects, followed afterwards whoever changes them; and the dialogs, settings pages
and project selector that read it never make the GUI thread wait on the engine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from seedbed.core import reads
from seedbed.core.setup import add_profile
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, Settings
from seedbed.store.settings import SETTINGS_FILE, save_settings
from seedbed.ui.board.task_dialog import TaskDialog
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.host import EngineHost
from seedbed.ui.settings.settings_dialog import SettingsDialog
from seedbed.ui.setup.projects import ProjectAdder, ProjectSelector
from tests.conftest import SeedbedCli, make_repo
from tests.ui.conftest import CheckedContext, ThreadEngine, catalog_caught_up, make_context


@pytest.fixture
def gui_thread_never_waits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`EngineHost.remote` fails the test when called on the GUI thread (as the lead's
    host will raise); from a worker thread it works as ever. Returns the verbs that
    worker threads asked, to show the guard was on the path."""
    real = EngineHost.remote
    asked: list[str] = []

    def guarded(host: EngineHost, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        assert threading.current_thread() is not threading.main_thread(), (
            f"host.remote({getattr(fn, '__name__', fn)}) on the GUI thread"
        )
        asked.append(getattr(fn, "__name__", str(fn)))
        return real(host, fn, *args, **kwargs)

    monkeypatch.setattr(EngineHost, "remote", guarded)
    return asked


@pytest.fixture
def guarded_context(
    gui_thread_never_waits: list[str], app_context: CheckedContext
) -> CheckedContext:
    """The test's AppContext, opened with the guard already on."""
    return app_context


def profile_names(context: AppContext) -> list[str]:
    return [profile.name for profile in context.catalog.profiles]


# -- following ---------------------------------------------------------------------------


def test_the_catalog_is_read_with_the_settings_when_the_window_connects(
    project: str, command_profile: Callable[[str, str], str], engine: object, data_dir: Path
) -> None:
    command_profile("coder", "true")
    save_settings(data_dir, Settings(max_parallel=5))
    context = make_context(data_dir)
    try:
        assert [p.name for p in context.catalog.projects] == [project]
        assert profile_names(context) == ["coder"]
        assert context.settings.value.max_parallel == 5
        assert context.project_id == context.store.find_project(project).id
    finally:
        context.close()
        context.store.close()


def test_a_start_read_that_fails_is_said_by_open_and_leaves_no_connection(
    qtbot: QtBot, engine: ThreadEngine, data_dir: Path
) -> None:
    (data_dir / SETTINGS_FILE).write_text("{ not json", encoding="utf-8")
    with pytest.raises(UserError, match=r"settings\.json is not valid"):
        AppContext.open(data_dir)
    assert "seedbed-client" not in [thread.name for thread in threading.enumerate()]
    qtbot.waitUntil(lambda: engine.process.server.client_count() == 0, timeout=5000)


def test_the_catalog_follows_what_the_command_line_adds_without_being_asked(
    qtbot: QtBot, seedbed: SeedbedCli, repo: Path, app_context: CheckedContext
) -> None:
    catalog = app_context.catalog
    assert (catalog.projects, catalog.profiles) == ([], [])
    selector = ProjectSelector(app_context)
    qtbot.addWidget(selector)
    with qtbot.waitSignal(catalog.catalog_changed, timeout=10_000):
        seedbed.ok("profile", "add", "coder", "--kind", "command", "--command", "true")
    qtbot.waitUntil(lambda: profile_names(app_context) == ["coder"], timeout=10_000)
    with qtbot.waitSignal(catalog.catalog_changed, timeout=10_000):
        seedbed.ok("project", "add", str(repo), "--name", "demo")
    qtbot.waitUntil(lambda: [p.name for p in catalog.projects] == ["demo"], timeout=10_000)
    assert catalog.projects == app_context.store.list_projects()
    # A project's defaults set elsewhere are what a new task's dialog starts from.
    seedbed.ok("project", "set", "demo", "--executor", "coder", "--fix-rounds", "3")
    qtbot.waitUntil(lambda: catalog.projects[0].fix_rounds == 3, timeout=10_000)
    assert catalog.projects[0].executor_profile_id == app_context.store.find_profile("coder").id


def test_the_catalog_follows_a_profile_another_window_adds(
    qtbot: QtBot, project: str, app_context: CheckedContext, data_dir: Path
) -> None:
    other = make_context(data_dir)  # a second window on the same engine
    try:
        with qtbot.waitSignal(app_context.catalog.catalog_changed, timeout=10_000):
            other.host.call(add_profile, "theirs", AgentKind.COMMAND, {"command": "true"})
        assert profile_names(app_context) == ["theirs"]
        qtbot.waitUntil(lambda: profile_names(other) == ["theirs"], timeout=10_000)
    finally:
        other.close()
        other.store.close()


def test_a_refresh_asked_while_one_reads_is_answered_by_a_read_begun_after_it(
    qtbot: QtBot, seedbed: SeedbedCli, project: str, app_context: CheckedContext
) -> None:
    catalog = app_context.catalog
    seen: list[list[str]] = []
    catalog.refresh(then=lambda: seen.append(profile_names(app_context)))
    # Added while the first read may be on its way: the second `then` must see it.
    seedbed.ok("profile", "add", "late", "--kind", "command", "--command", "true")
    catalog.refresh(then=lambda: seen.append(profile_names(app_context)))
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=10_000)
    assert seen[1] == ["late"]
    qtbot.wait(100)
    assert len(seen) == 2  # each once


# -- nothing waits on the GUI thread -------------------------------------------------------


def test_the_guard_catches_a_round_trip_on_the_gui_thread(
    guarded_context: CheckedContext, gui_thread_never_waits: list[str]
) -> None:
    with pytest.raises(AssertionError, match="on the GUI thread"):
        guarded_context.host.remote(reads.list_projects)


def test_a_context_opens_without_a_round_trip_on_the_gui_thread(
    gui_thread_never_waits: list[str], project: str, engine: object, data_dir: Path
) -> None:
    context = make_context(data_dir)
    try:
        assert [p.name for p in context.catalog.projects] == [project]
        assert isinstance(context.settings.value, Settings)
    finally:
        context.close()
        context.store.close()


@pytest.mark.usefixtures("project")
def test_a_task_is_created_and_edited_in_the_dialog_without_waiting(
    qtbot: QtBot, command_profile: Callable[[str, str], str], guarded_context: CheckedContext
) -> None:
    context = guarded_context
    command_profile("coder", "true")
    catalog_caught_up(qtbot, context)
    project_id = context.store.find_project("demo").id
    dialog = TaskDialog(context, project_id)
    qtbot.addWidget(dialog)
    assert dialog.profile_combo.findData("coder") >= 0
    dialog.title_edit.setText("Made without waiting")
    dialog.profile_combo.setCurrentIndex(dialog.profile_combo.findData("coder"))
    with qtbot.waitSignal(dialog.task_saved, timeout=10_000) as saved:
        dialog.ok_button().click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    task = context.store.get_task(int(saved.args[0]))
    assert task.title == "Made without waiting"
    assert task.profile_id == context.store.find_profile("coder").id

    edit = TaskDialog(context, project_id, task)
    qtbot.addWidget(edit)
    assert edit.profile_name() == "coder"
    edit.title_edit.setText("Edited without waiting")
    with qtbot.waitSignal(edit.task_saved, timeout=10_000):
        edit.ok_button().click()
    assert context.store.get_task(task.id).title == "Edited without waiting"


def test_a_project_the_catalog_does_not_hold_yet_is_asked_for_off_the_gui_thread(
    qtbot: QtBot, seedbed: SeedbedCli, project: str, command_profile: Callable[[str, str], str],
    guarded_context: CheckedContext,
) -> None:  # fmt: skip
    context = guarded_context
    command_profile("coder", "true")
    command_profile("planner", "true")
    seedbed.ok("project", "set", "demo", "--executor", "coder", "--planner", "planner")
    catalog_caught_up(qtbot, context)
    known = context.catalog.projects
    context.catalog.projects = []  # as when a project was added a moment ago elsewhere
    try:
        dialog = TaskDialog(context, known[0].id)
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: dialog.profile_combo.count() > 0, timeout=10_000)
        assert dialog.profile_name() == "coder"
        assert dialog.options_box.planner.currentData() == "planner"
    finally:
        context.catalog.projects = known


def test_settings_pages_open_and_save_without_waiting(
    qtbot: QtBot, project: str, command_profile: Callable[[str, str], str],
    guarded_context: CheckedContext,
) -> None:  # fmt: skip
    context = guarded_context
    command_profile("coder", "true")
    catalog_caught_up(qtbot, context)
    dialog = SettingsDialog(context)
    qtbot.addWidget(dialog)
    projects = dialog.projects
    assert projects.current() is not None and projects.current().name == project
    projects.form.editor("diff_budget").setValue(321)
    with qtbot.waitSignal(projects.saved, timeout=10_000):
        projects.save_button.click()
    assert context.store.find_project(project).diff_budget == 321
    assert context.catalog.project(projects.current().id).diff_budget == 321
    assert projects.form.values()["diff_budget"] == 321

    profiles = dialog.profiles
    profiles._on_add_clicked()
    name = profiles.header.editor("name")
    name.setText("second")
    name.textEdited.emit("second")
    command = profiles.body.editor("command")
    command.setText("true")
    command.textEdited.emit("true")
    with qtbot.waitSignal(profiles.saved, timeout=10_000):
        profiles.save_button.click()
    assert profile_names(context) == ["coder", "second"]
    assert [p.name for p in profiles.model.items()] == ["coder", "second"]
    # The projects page's choices are the catalog's, read at once when it is built.
    again = SettingsDialog(context)
    qtbot.addWidget(again)
    executor = again.projects.form.editor("executor_profile_id")
    assert "second (command)" in [executor.itemText(i) for i in range(executor.count())]


def test_the_project_selector_and_adder_reload_without_waiting(
    qtbot: QtBot, seedbed: SeedbedCli, repo: Path, tmp_path: Path,
    guarded_context: CheckedContext,
) -> None:  # fmt: skip
    context = guarded_context
    selector = ProjectSelector(context)
    qtbot.addWidget(selector)
    context.catalog.catalog_changed.connect(lambda: selector.reload())
    seedbed.ok("project", "add", str(repo), "--name", "first")
    qtbot.waitUntil(lambda: selector.currentText() == "first", timeout=10_000)
    adder = ProjectAdder(context)
    with qtbot.waitSignal(adder.project_added, timeout=10_000) as added:
        adder.add_path(make_repo(tmp_path / "second"))
    # Said once the catalog holds it: the selector shows it at once.
    selector.reload(added.args[0].id)
    assert selector.currentText() == "second"
    assert [selector.itemText(i) for i in range(selector.count())] == ["first", "second"]


def test_settings_another_window_saves_reach_this_one(
    qtbot: QtBot, app_context: CheckedContext, data_dir: Path
) -> None:
    other = make_context(data_dir)  # a second window on the same engine
    try:
        changed = Settings(max_parallel=7, delete_branch_after_merge=False)
        with qtbot.waitSignal(app_context.settings.changed, timeout=10_000) as heard:
            other.settings.save(changed)
        assert heard.args == [changed]
        assert app_context.settings.value == changed
    finally:
        other.close()
        other.store.close()
