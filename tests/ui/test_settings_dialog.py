"""The settings dialog over a real store, a real engine thread and real keyring backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QMessageBox, QSpinBox, QWidget
from pytestqt.qtbot import QtBot

from seedbed import secrets
from seedbed.core.checking import InvalidField
from seedbed.core.setup import update_project_settings
from seedbed.domain.models import (
    AgentKind,
    AgentProfile,
    MergeStrategy,
    ProviderKind,
    Settings,
    profile_fields,
)
from seedbed.store.settings import SETTINGS_FILE, load_settings
from seedbed.ui.common.context import AppContext
from seedbed.ui.settings.settings_dialog import KeysPage, SettingsDialog
from seedbed.ui.settings.settings_pages import ItemListModel, Page, ProfilesPage
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.secret_service import SecretService
from tests.ui.conftest import ThreadEngine, catalog_caught_up

KEY = "sk-test-0123456789abcdef"


def open_dialog(qtbot: QtBot, context: AppContext) -> SettingsDialog:
    catalog_caught_up(qtbot, context)  # the projects and profiles the test has just added
    dialog = SettingsDialog(context)
    qtbot.addWidget(dialog)
    wait_idle(qtbot, dialog.keys)
    return dialog


def wait_idle(qtbot: QtBot, page: Page) -> None:
    qtbot.waitUntil(lambda: not page.busy)


def set_text(editor: QWidget, text: str) -> None:
    assert isinstance(editor, QLineEdit)
    editor.setText(text)
    editor.textEdited.emit(text)  # as typing does


def choose(editor: QWidget, text: str) -> None:
    assert isinstance(editor, QComboBox)
    index = editor.findText(text)
    assert index >= 0, text
    editor.setCurrentIndex(index)


def answer(qtbot: QtBot, page: Page, button: QMessageBox.StandardButton) -> None:
    """Click `button` of the confirmation the page just opened."""
    boxes: list[QMessageBox] = []
    qtbot.waitUntil(lambda: bool(boxes.extend(page.findChildren(QMessageBox)) or boxes))
    boxes[-1].button(button).click()


# -- General ----------------------------------------------------------------------------


def test_general_settings_are_saved_to_settings_json_and_applied(
    qtbot: QtBot, app_context: AppContext, engine: ThreadEngine
) -> None:
    dialog = open_dialog(qtbot, app_context)
    form = dialog.general.form
    assert form.values() == Settings().model_dump()
    parallel = form.editor("max_parallel")
    assert isinstance(parallel, QSpinBox)
    parallel.setValue(7)
    choose(form.editor("merge_strategy"), "rebase")
    form.editor("notify").click()
    with qtbot.waitSignal(app_context.settings.changed):
        dialog.general.save_button.click()

    saved = json.loads((app_context.data_dir / SETTINGS_FILE).read_text())
    assert saved["max_parallel"] == 7 and saved["merge_strategy"] == "rebase"
    assert saved["notify"] is False
    assert load_settings(app_context.data_dir) == app_context.settings.value
    assert app_context.settings.value.merge_strategy is MergeStrategy.REBASE
    assert engine.process.engine.max_parallel == 7  # the engine took it in
    assert dialog.general.status.text() == "Saved."
    # A new dialog starts from what was saved.
    again = open_dialog(qtbot, app_context)
    assert again.general.form.values()["max_parallel"] == 7


def test_the_spin_box_cannot_go_past_the_declared_bounds(
    qtbot: QtBot, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    parallel = dialog.general.form.editor("max_parallel")
    assert isinstance(parallel, QSpinBox)
    parallel.setValue(500)
    assert parallel.value() == 32
    parallel.setValue(0)
    assert parallel.value() == 1


# -- Projects ---------------------------------------------------------------------------


def test_project_settings_are_saved_and_read_back_from_the_store(
    qtbot: QtBot, project: str, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    page = dialog.projects
    assert page.current() is not None and page.current().name == project
    form = page.form
    set_text(form.editor("setup_command"), "make setup")
    set_text(form.editor("check_command"), "make test")
    set_text(form.editor("copy_globs"), ".env, config/*.local")
    form.editor("diff_budget").setValue(400)
    form.editor("check_timeout").setValue(90)
    with qtbot.waitSignal(dialog.projects_changed):
        page.save_button.click()
    wait_idle(qtbot, page)

    stored = app_context.store.find_project(project)
    assert (stored.setup_command, stored.check_command) == ("make setup", "make test")
    assert stored.copy_globs == [".env", "config/*.local"]
    assert (stored.diff_budget, stored.check_timeout) == (400, 90.0)
    assert page.error.text() == ""
    again = open_dialog(qtbot, app_context)
    assert again.projects.form.values()["copy_globs"] == [".env", "config/*.local"]
    assert again.projects.form.values()["diff_budget"] == 400


def test_a_negative_diff_budget_is_refused_and_changes_nothing(
    qtbot: QtBot, project: str, app_context: AppContext
) -> None:
    """The form's spin box stops at the model's bound (issue 15), and the operation it
    calls refuses what the form cannot send, naming the field."""
    before = app_context.store.find_project(project)
    dialog = open_dialog(qtbot, app_context)
    page = dialog.projects
    editor = page.form.editor("diff_budget")
    assert isinstance(editor, QSpinBox)
    editor.setValue(-5)
    assert editor.value() == 0 == editor.minimum()

    with pytest.raises(InvalidField, match="diff budget must be 0 or more") as refused:
        update_project_settings(app_context.core, before.model_copy(update={"diff_budget": -5}))
    assert refused.value.field == "diff_budget"
    assert app_context.store.find_project(project) == before


def test_with_no_projects_the_page_says_how_to_add_one(
    qtbot: QtBot, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    assert not dialog.projects.empty.isHidden()
    assert "seedbed project add" in dialog.projects.empty.text()
    assert not dialog.projects.form.isEnabled()


# -- Agent profiles ---------------------------------------------------------------------


def body_fields(page: ProfilesPage) -> list[str]:
    return page.body.fields


def test_the_kind_decides_which_fields_are_shown(qtbot: QtBot, app_context: AppContext) -> None:
    dialog = open_dialog(qtbot, app_context)
    page = dialog.profiles
    page.add_button.click()
    assert body_fields(page) == [
        "command", "timeout", "grace_seconds", "key_name",
        "sandbox", "network", "allowed_hosts", "sandbox_paths", "sandbox_env",
    ]  # fmt: skip

    choose(page.header.editor("kind"), "builtin")
    assert body_fields(page) == profile_fields(AgentKind.BUILTIN)[2:]
    set_text(page.body.editor("model"), "gpt-test")

    choose(page.header.editor("kind"), "claude-code")
    assert body_fields(page) == profile_fields(AgentKind.CLAUDE_CODE)[2:]
    for name in ("model", "binary", "permission_mode", "extra_args", "idle_timeout"):
        assert name in body_fields(page)
    assert "provider" not in body_fields(page)
    # What both kinds use is carried over.
    assert page.body.values()["model"] == "gpt-test"
    # Only the current kind's editors exist: the old form is gone.
    assert len(page.findChildren(type(page.body))) == 2  # the header and the body


def test_a_builtin_profile_is_added_with_its_settings(
    qtbot: QtBot, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    page = dialog.profiles
    page.add_button.click()
    set_text(page.header.editor("name"), "fast")
    choose(page.header.editor("kind"), "builtin")
    choose(page.body.editor("provider"), "openai")
    set_text(page.body.editor("model"), "gpt-test")
    set_text(page.body.editor("base_url"), "http://127.0.0.1:9/v1")
    page.body.editor("context_window").setValue(64_000)
    page.body.editor("price_in").setValue(0.15)
    with qtbot.waitSignal(dialog.profiles_changed):
        page.save_button.click()
    wait_idle(qtbot, page)

    stored = app_context.store.find_profile("fast")
    assert stored.kind is AgentKind.BUILTIN and stored.provider is ProviderKind.OPENAI
    assert (stored.model, stored.base_url) == ("gpt-test", "http://127.0.0.1:9/v1")
    assert stored.context_window == 64_000 and stored.price_in == pytest.approx(0.15)
    assert [p.name for p in page.model.items()] == ["fast"]
    assert page.editing.id == stored.id
    assert page.status.text() == "Saved fast."


@pytest.mark.parametrize(
    ("kind", "edits", "field", "message"),
    [
        ("builtin", {"model": "m"}, "provider", "needs --provider"),
        ("builtin", {}, "provider", "needs --provider"),
        ("command", {"command": "   "}, "command", "needs --command"),
        ("codex", {"base_url": "ftp://x"}, "base_url", "must start with http"),
        ("codex", {"key_name": "sk-abc"}, "key_name", "looks like an API key"),
        ("claude-code", {"extra_args": "'unclosed"}, "extra_args", "closing quotation"),
    ],
)
def test_an_invalid_profile_shows_why_next_to_the_field_and_saves_nothing(
    qtbot: QtBot,
    app_context: AppContext,
    kind: str,
    edits: dict[str, str],
    field: str,
    message: str,
) -> None:
    dialog = open_dialog(qtbot, app_context)
    page = dialog.profiles
    page.add_button.click()
    set_text(page.header.editor("name"), "bad")
    choose(page.header.editor("kind"), kind)
    for name, text in edits.items():
        set_text(page.body.editor(name), text)
    page.save_button.click()
    wait_idle(qtbot, page)

    assert message in page.body.error(field)
    assert message in page.error.text()
    assert app_context.store.list_profiles() == []


def test_an_empty_name_and_a_taken_name_are_refused(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext
) -> None:
    seedbed.ok("profile", "add", "taken", "--kind", "command", "--command", "true")
    dialog = open_dialog(qtbot, app_context)
    page = dialog.profiles
    page.add_button.click()
    set_text(page.body.editor("command"), "make agent")
    page.save_button.click()
    assert "name is empty" in page.header.error("name")

    set_text(page.header.editor("name"), "taken")
    page.save_button.click()
    wait_idle(qtbot, page)  # the store says no, on the engine's thread
    assert "already exists" in page.error.text()
    assert [p.name for p in app_context.store.list_profiles()] == ["taken"]


def test_an_existing_profile_is_changed_in_place(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext
) -> None:
    seedbed.ok("profile", "add", "w", "--kind", "command", "--command", "true", "--timeout", "5")
    seedbed.ok("profile", "add", "other", "--kind", "command", "--command", "true")
    dialog = open_dialog(qtbot, app_context)
    page = dialog.profiles
    assert page.editing.name == "w"
    assert page.body.values() == {
        "command": "true", "timeout": 5.0, "grace_seconds": 5.0, "key_name": "",
        "sandbox": False, "network": "model", "allowed_hosts": [], "sandbox_paths": [],
        "sandbox_env": [],
    }  # fmt: skip
    set_text(page.header.editor("name"), "worker")
    choose(page.header.editor("kind"), "aider")
    set_text(page.body.editor("extra_args"), "--no-stream --map-tokens '1024'")
    page.body.editor("timeout").setValue(0)  # none
    page.save_button.click()
    wait_idle(qtbot, page)

    assert page.error.text() == ""
    first = app_context.store.list_profiles()[0]
    assert (first.name, first.kind, first.timeout) == ("worker", AgentKind.AIDER, None)
    assert first.extra_args == ["--no-stream", "--map-tokens", "1024"]
    assert first.command == ""  # not an Aider setting: back to its default
    assert [p.name for p in page.model.items()] == ["worker", "other"]


def test_a_profile_in_use_is_kept_with_the_reason(
    qtbot: QtBot, seedbed: SeedbedCli, project: str, app_context: AppContext
) -> None:
    seedbed.ok("profile", "add", "used", "--kind", "command", "--command", "true")
    seedbed.ok("profile", "add", "spare", "--kind", "command", "--command", "true")
    seedbed.ok("task", "add", "--project", project, "--title", "t", "--profile", "used")
    dialog = open_dialog(qtbot, app_context)
    page = dialog.profiles
    assert page.editing.name == "used"
    page.remove_button.click()
    answer(qtbot, page, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: "use this profile" in page.error.text())
    assert len(app_context.store.list_profiles()) == 2

    page.view.setCurrentIndex(page.model.index(1))
    assert page.editing.name == "spare"
    page.remove_button.click()
    answer(qtbot, page, QMessageBox.StandardButton.No)
    assert page.status.text() == "" and len(app_context.store.list_profiles()) == 2
    page.remove_button.click()
    with qtbot.waitSignal(dialog.profiles_changed):
        answer(qtbot, page, QMessageBox.StandardButton.Yes)
    assert [p.name for p in app_context.store.list_profiles()] == ["used"]
    assert [p.name for p in page.model.items()] == ["used"]


def test_the_list_model_is_a_proper_qt_model(qtmodeltester: object) -> None:
    model = ItemListModel(lambda p: p.name)
    model.set_items([AgentProfile(name="a"), AgentProfile(name="b")])
    qtmodeltester.check(model)  # type: ignore[attr-defined]


# -- API keys ---------------------------------------------------------------------------


def texts_in(widget: QWidget) -> list[str]:
    """Every text a user could see or copy out of the dialog."""
    found = [widget.windowTitle(), widget.toolTip()]
    for child in widget.findChildren(QWidget):
        found += [child.toolTip(), child.windowTitle(), child.accessibleName()]
        if isinstance(child, QLineEdit | QLabel):
            found.append(child.text())
    return found


def set_key(qtbot: QtBot, page: KeysPage, name: str, value: str) -> None:
    set_text(page.name, name)
    qtbot.keyClicks(page.value, value)
    page.set_button.click()
    wait_idle(qtbot, page)


def test_without_a_keyring_the_page_says_so_and_names_the_variables(
    qtbot: QtBot, app_context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    dialog = open_dialog(qtbot, app_context)
    page = dialog.keys
    warning = page.warning.text()
    assert not page.warning.isHidden()
    assert "No keyring works" in warning and "keyring.backends.fail.Keyring" in warning
    for variable in secrets.ENV_FALLBACK.values():
        assert variable in warning
    assert "Set now: ANTHROPIC_API_KEY." in warning
    assert "fail" in page.backend.text().lower()

    set_key(qtbot, page, "openai", KEY)
    assert "cannot store the key 'openai'" in page.error.text()
    assert page.value.text() == ""
    assert not any(KEY in text for text in texts_in(dialog))


def test_a_key_is_set_and_removed_through_the_keyring_never_shown(
    qtbot: QtBot, file_keyring: FileStore, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    page = dialog.keys
    assert page.warning.isHidden()
    assert "tests.keyring_backends.FileKeyring" in page.backend.text()
    assert page.model.items() == []

    set_key(qtbot, page, "openai", KEY)
    assert page.error.text() == ""
    assert page.model.items() == ["openai"]
    assert secrets.get_key("openai") == KEY
    assert file_keyring.entries()["openai"] == KEY
    assert page.value.text() == ""
    page.value.undo()
    assert page.value.text() == ""
    assert not any(KEY in text for text in texts_in(dialog))
    assert page.status.text() == "Key 'openai' stored."

    page.view.setCurrentIndex(page.model.index(0))
    page.remove_button.click()
    answer(qtbot, page, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: page.model.items() == [])
    assert secrets.get_key("openai") is None
    assert page.status.text() == "Key 'openai' removed."


def test_a_bad_key_name_or_value_is_refused_before_the_keyring(
    qtbot: QtBot, file_keyring: FileStore, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    page = dialog.keys
    set_key(qtbot, page, KEY, KEY)  # the key pasted into the name field
    assert "looks like an API key" in page.error.text()
    assert KEY not in page.error.text()
    set_key(qtbot, page, "openai", " padded")
    assert "whitespace" in page.error.text()
    assert page.value.text() == ""
    assert file_keyring.entries() == {}
    page.remove_button.click()
    assert "select the key" in page.error.text()


def test_keys_on_a_real_secret_service(
    qtbot: QtBot, secret_service: SecretService, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    page = dialog.keys
    assert "SecretService" in page.backend.text()
    assert page.warning.isHidden()
    set_key(qtbot, page, "work-anthropic", KEY)
    assert page.error.text() == ""
    assert page.model.items() == ["work-anthropic"]
    assert secrets.get_key("work-anthropic") == KEY
    assert not any(KEY in text for text in texts_in(dialog))


def test_nothing_is_written_to_the_data_dir_but_settings(
    qtbot: QtBot, file_keyring: FileStore, app_context: AppContext, data_dir: Path
) -> None:
    dialog = open_dialog(qtbot, app_context)
    set_key(qtbot, dialog.keys, "anthropic", KEY)
    dialog.general.save_button.click()
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_a_projects_roles_fix_rounds_and_budgets_are_set_in_the_window(
    qtbot: QtBot,
    project: str,
    app_context: AppContext,
    command_profile: Callable[[str, str], str],
) -> None:
    command_profile("coder", "true")
    command_profile("critic", "true")
    dialog = open_dialog(qtbot, app_context)
    form = dialog.projects.form
    reviewer = form.editor("reviewer_profile_id")
    assert [reviewer.itemText(i) for i in range(reviewer.count())] == [
        "none",
        "coder (command)",
        "critic (command)",
    ]
    reviewer.setCurrentIndex(2)
    form.editor("executor_profile_id").setCurrentIndex(1)
    form.editor("fix_rounds").setValue(3)
    form.editor("budget_usd").setValue(12.5)
    with qtbot.waitSignal(dialog.projects_changed):
        dialog.projects.save_button.click()
    wait_idle(qtbot, dialog.projects)
    stored = app_context.store.find_project(project)
    store = app_context.store
    assert stored.reviewer_profile_id == store.find_profile("critic").id
    assert stored.executor_profile_id == store.find_profile("coder").id
    assert stored.planner_profile_id is None
    assert (stored.fix_rounds, stored.budget_usd) == (3, 12.5)
    again = open_dialog(qtbot, app_context)
    assert again.projects.form.editor("reviewer_profile_id").currentText() == "critic (command)"


def test_removing_a_projects_default_profile_shows_the_project_let_go_of_it(
    qtbot: QtBot,
    project: str,
    app_context: AppContext,
    command_profile: Callable[[str, str], str],
) -> None:
    command_profile("coder", "true")
    command_profile("spare", "true")
    dialog = open_dialog(qtbot, app_context)
    executor = dialog.projects.form.editor("executor_profile_id")
    choose(executor, "spare (command)")
    with qtbot.waitSignal(dialog.projects_changed):
        dialog.projects.save_button.click()
    wait_idle(qtbot, dialog.projects)
    page = dialog.profiles
    page.view.setCurrentIndex(page.model.index(1))
    assert page.editing.name == "spare"
    page.remove_button.click()
    with qtbot.waitSignal(page.removed) as removed:
        answer(qtbot, page, QMessageBox.StandardButton.Yes)
    assert removed.args[0].projects
    assert app_context.store.find_project(project).executor_profile_id is None
    assert dialog.projects.form.editor("executor_profile_id").currentText() == "none"


def test_the_profile_form_shows_what_its_sandbox_allows(
    qtbot: QtBot, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    page = dialog.profiles
    page.add_button.click()
    assert page.sandbox_note.isHidden()
    page.body.editor("sandbox").setChecked(True)
    set_text(page.body.editor("allowed_hosts"), "pypi.org")
    note = page.sandbox_note.text()
    assert not page.sandbox_note.isHidden()
    assert "writable: the task's worktree" in note and "network: model: pypi.org" in note
    page.body.editor("sandbox").setChecked(False)
    assert page.sandbox_note.isHidden()


def test_a_new_profile_starts_sandboxed_where_the_engine_can_make_one(
    qtbot: QtBot, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    page = dialog.profiles
    app_context.catalog.sandbox_by_default = True  # what the engine said at connect
    page.add_button.click()
    assert page.body.editor("sandbox").isChecked()
    app_context.catalog.sandbox_by_default = False
    page.add_button.click()
    assert not page.body.editor("sandbox").isChecked()
