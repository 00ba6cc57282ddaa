"""Settings → MCP servers over a real store, a real engine thread and real widgets: a
server is added, changed and removed as `seedbed mcp …` does it, with the same rules."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from seedbed.ui.common.context import AppContext
from seedbed.ui.settings.mcp_page import McpServersPage
from tests.conftest import SeedbedCli
from tests.ui.conftest import catalog_caught_up
from tests.ui.test_settings_dialog import answer, choose, set_text, wait_idle


def open_page(qtbot: QtBot, context: AppContext) -> McpServersPage:
    catalog_caught_up(qtbot, context)
    page = McpServersPage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.title.text() != "")
    wait_idle(qtbot, page)
    return page


def test_a_server_is_added_changed_and_removed_in_the_window(
    qtbot: QtBot, seedbed: SeedbedCli, project: str, app_context: AppContext
) -> None:
    seedbed.ok("profile", "add", "fixer", "--kind", "command", "--command", "true")
    seedbed.ok("profile", "add", "critic", "--kind", "command", "--command", "true")
    page = open_page(qtbot, app_context)
    assert page.title.text() == "New MCP server" and page.model.items() == []

    set_text(page.form.editor("name"), "notes")
    set_text(page.form.editor("command"), "python3")
    set_text(page.form.editor("args"), "server.py --dir 'a b'")
    set_text(page.form.editor("env"), "TOKEN=s3cret MODE=fast")
    set_text(page.form.editor("env_keys"), "GH=github")
    choose(page.form.editor("project_id"), project)
    page.profiles.item(0).setCheckState(Qt.CheckState.Checked)  # fixer
    with qtbot.waitSignal(page.saved):
        page.save_button.click()
    wait_idle(qtbot, page)

    stored = app_context.store.find_mcp_server("notes")
    fixer = app_context.store.find_profile("fixer")
    assert (stored.command, stored.args) == ("python3", ["server.py", "--dir", "a b"])
    assert stored.env == {"TOKEN": "s3cret", "MODE": "fast"} and stored.env_keys == {"GH": "github"}
    assert stored.project_id == app_context.store.find_project(project).id
    assert stored.profile_ids == [fixer.id]
    qtbot.waitUntil(lambda: [s.name for s in page.model.items()] == ["notes"])
    assert page.status.text() == "Saved notes." and page.editing.id == stored.id
    assert "s3cret" not in page.summary.text() and "MODE, TOKEN" in page.summary.text()

    page.form.editor("enabled").setChecked(False)
    page.profiles.item(0).setCheckState(Qt.CheckState.Unchecked)
    with qtbot.waitSignal(page.saved):
        page.save_button.click()
    wait_idle(qtbot, page)
    changed = app_context.store.find_mcp_server("notes")
    assert (changed.enabled, changed.profile_ids, changed.id) == (False, [], stored.id)

    page.remove_button.click()
    with qtbot.waitSignal(page.saved):
        answer(qtbot, page, QMessageBox.StandardButton.Yes)
    wait_idle(qtbot, page)
    assert app_context.store.list_mcp_servers() == []
    qtbot.waitUntil(lambda: page.title.text() == "New MCP server")


def test_a_bad_server_shows_why_and_saves_nothing(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext
) -> None:
    page = open_page(qtbot, app_context)

    set_text(page.form.editor("name"), "both")
    set_text(page.form.editor("command"), "x")
    set_text(page.form.editor("url"), "https://h/")
    page.save_button.click()
    assert "either a command" in page.form.error()

    set_text(page.form.editor("url"), "")
    set_text(page.form.editor("env"), "1BAD=x")
    page.save_button.click()
    assert "variable's name" in page.form.error("env")

    set_text(page.form.editor("env"), "GOOD=x")
    set_text(page.form.editor("env_keys"), "GH=sk-not-a-name")
    page.save_button.click()  # the engine refuses it: a key's name, not a key
    qtbot.waitUntil(lambda: "looks like an API key" in page.error.text())
    wait_idle(qtbot, page)
    assert app_context.store.list_mcp_servers() == []
