"""The first run: no project yet, no agent yet; a local model server found on its port."""

from __future__ import annotations

import functools

import pytest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from seedbed.agents import local_servers
from seedbed.domain.models import AgentKind
from seedbed.ui import welcome
from seedbed.ui.context import AppContext
from seedbed.ui.main_window import MainWindow
from tests.agents.test_local_servers import Handler, server  # noqa: F401 (the fixture)


def test_the_first_run_offers_a_repository_and_a_local_model_server(
    qtbot: QtBot,
    app_context: AppContext,
    server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Handler.routes = {"/api/tags": {"models": [{"name": "qwen2.5-coder:7b"}]}}
    ollama = local_servers.Candidate(
        name="Ollama", probe_url=f"{server}/api/tags", base_url=f"{server}/v1", style="ollama"
    )
    monkeypatch.setattr(welcome, "detect", functools.partial(local_servers.detect, (ollama,)))
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    page = window.empty
    assert window.pages.currentWidget() is page
    assert page.agent_label.text() == welcome.NO_AGENT
    assert page.settings_button.isVisible()
    qtbot.waitUntil(lambda: len(page.server_buttons) == 1, timeout=10_000)
    button = page.server_buttons[0]
    assert button.text() == "Use Ollama on this machine (qwen2.5-coder:7b)"

    with qtbot.waitSignal(page.profile_added, timeout=10_000) as added:
        button.click()
    assert added.args == ["ollama"]
    profile = app_context.store.find_profile("ollama")
    assert (profile.kind, profile.base_url, profile.model) == (
        AgentKind.BUILTIN,
        f"{server}/v1",
        "qwen2.5-coder:7b",
    )
    assert page.agent_label.text() == "Agents: ollama."
    assert not page.server_buttons and page.settings_button.isHidden()


def test_add_a_repository_opens_the_folder_chooser(
    qtbot: QtBot, app_context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(welcome, "detect", lambda: [])
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    chosen: list[object] = []
    monkeypatch.setattr(window.adder, "choose_folder", lambda parent: chosen.append(parent))
    window.empty.add_button.click()
    assert chosen == [window]


def test_profile_names_do_not_clash() -> None:
    found = local_servers.LocalServer(name="LM Studio", base_url="http://127.0.0.1:1234/v1")
    assert welcome.profile_name(found, set()) == "lm-studio"
    assert welcome.profile_name(found, {"lm-studio", "lm-studio-2"}) == "lm-studio-3"


def test_the_short_setup_makes_a_builtin_agent_with_its_key_in_the_keyring(
    qtbot: QtBot,
    app_context: AppContext,
    file_keyring: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from seedbed import secrets
    from seedbed.domain.models import ProviderKind

    monkeypatch.setattr(welcome, "detect", lambda: [])
    page = welcome.WelcomePage(app_context)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    setup = page.setup
    assert setup.isVisible() and setup.key.echoMode() == setup.key.EchoMode.Password
    setup.provider.setCurrentIndex(setup.provider.findData(ProviderKind.ANTHROPIC))
    assert setup.base_url.placeholderText() == "https://api.anthropic.com"
    setup.key.setText("sk-ant-quick-setup-test")
    setup.create_button.click()  # no model yet: refused, nothing stored
    qtbot.waitUntil(lambda: "name the model" in setup.error_label.text(), timeout=10_000)
    assert app_context.store.list_profiles() == [] and secrets.get_key("anthropic") is None

    setup.model.setText("claude-sonnet-4-5")
    with qtbot.waitSignal(page.profile_added, timeout=10_000) as added:
        setup.create_button.click()
    assert added.args == ["anthropic"]
    profile = app_context.store.find_profile("anthropic")
    assert (profile.kind, profile.provider, profile.model) == (
        AgentKind.BUILTIN,
        ProviderKind.ANTHROPIC,
        "claude-sonnet-4-5",
    )
    assert secrets.get_key("anthropic") == "sk-ant-quick-setup-test"
    assert "sk-ant" not in app_context.store.find_profile("anthropic").model_dump_json()
    assert setup.key.text() == "" and not setup.isVisible()  # an agent exists now


def test_the_short_setup_names_what_it_finds_of_a_cli(
    qtbot: QtBot, app_context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seedbed.ui import quick_setup

    monkeypatch.setattr(welcome, "detect", lambda: [])
    monkeypatch.setattr(
        quick_setup, "cli_versions", lambda: {"codex": "0.171.0 at /opt/codex", "aider": ""}
    )
    page = welcome.WelcomePage(app_context)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    setup = page.setup
    setup.kind.setCurrentIndex(setup.kind.findData(AgentKind.AIDER))
    qtbot.waitUntil(lambda: setup.found.text().startswith("Not found here"), timeout=10_000)
    assert not setup.create_button.isEnabled() and setup.model.isHidden()
    setup.kind.setCurrentIndex(setup.kind.findData(AgentKind.CODEX))
    assert setup.found.text() == "Found: 0.171.0 at /opt/codex."
    with qtbot.waitSignal(page.profile_added, timeout=10_000):
        setup.create_button.click()
    assert app_context.store.find_profile("codex").kind is AgentKind.CODEX


def test_the_welcome_page_is_read_again_when_settings_close(
    qtbot: QtBot,
    app_context: AppContext,
    command_profile: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(welcome, "detect", lambda: [])
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    page = window.empty
    assert page.agent_label.text() == welcome.NO_AGENT
    window.actions_by_name["settings"].trigger()
    dialog = window.findChild(QDialog)
    assert dialog is not None
    command_profile("made-in-settings", "true")  # as the Profiles page would save it
    dialog.done(QDialog.DialogCode.Accepted)
    qtbot.waitUntil(lambda: page.agent_label.text() == "Agents: made-in-settings.")
    assert page.setup.isHidden()
