"""The first run: no project yet, no agent yet; a local model server found on its port."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from seedbed.core.agent_setup import NO_AGENT, key_name_for
from seedbed.domain import local_servers
from seedbed.domain.models import AgentKind, ProviderKind
from seedbed.ui.common.context import AppContext
from seedbed.ui.setup import welcome
from seedbed.ui.window.main_window import MainWindow
from tests.agents.test_local_servers import Handler, server  # noqa: F401 (the fixture)
from tests.conftest import SeedbedCli
from tests.model_server import ModelServer


def shown_page(
    qtbot: QtBot, app_context: AppContext, candidates: tuple[local_servers.Candidate, ...] = ()
) -> welcome.WelcomePage:
    """The welcome page, shown and looking at the agents; local servers looked for only
    among `candidates` (none: never the real ports of this machine)."""
    page = welcome.WelcomePage(app_context)
    page.candidates = candidates
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    return page


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
    window = MainWindow(app_context)
    window.empty.candidates = (ollama,)
    qtbot.addWidget(window)
    window.show()
    page = window.empty
    assert window.pages.currentWidget() is page
    qtbot.waitUntil(lambda: page.agent_label.text() == NO_AGENT)
    assert page.settings_button.isVisible() and page.setup.isVisible()
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
    qtbot.waitUntil(lambda: page.agent_label.text() == "Agents: ollama.")
    assert not page.server_buttons and page.settings_button.isHidden()


def test_add_a_repository_opens_the_folder_chooser(
    qtbot: QtBot, app_context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = MainWindow(app_context)
    window.empty.candidates = ()  # no local model server
    qtbot.addWidget(window)
    window.show()
    chosen: list[object] = []
    monkeypatch.setattr(window.adder, "choose_folder", lambda parent: chosen.append(parent))
    window.empty.add_button.click()
    assert chosen == [window]


def test_the_short_setup_makes_a_builtin_agent_with_its_key_in_the_keyring(
    qtbot: QtBot, app_context: AppContext, file_keyring: object, model_server: ModelServer
) -> None:
    from seedbed import secrets

    model_server.keys = {"sk-ant-quick-setup-test"}  # what the provider takes
    page = shown_page(qtbot, app_context)
    setup = page.setup
    qtbot.waitUntil(setup.isVisible)
    assert setup.key.echoMode() == setup.key.EchoMode.Password
    setup.provider.setCurrentIndex(setup.provider.findData(ProviderKind.ANTHROPIC))
    assert setup.base_url.placeholderText() == "https://api.anthropic.com"
    setup.base_url.setText(model_server.anthropic_url)
    key_name = key_name_for(ProviderKind.ANTHROPIC, model_server.anthropic_url, True)
    setup.key.setText("sk-ant-quick-setup-test")
    setup.create_button.click()  # no model yet: refused, nothing stored
    qtbot.waitUntil(lambda: "name the model" in setup.error_label.text(), timeout=10_000)
    assert app_context.store.list_profiles() == [] and secrets.get_key(key_name) is None

    setup.model.setText("claude-sonnet-4-5")
    setup.key.setText("sk-ant-mistyped")
    setup.create_button.click()  # a key the provider refuses: said, nothing stored
    qtbot.waitUntil(lambda: "refused the key (HTTP 401)" in setup.error_label.text())
    assert app_context.store.list_profiles() == [] and secrets.get_key(key_name) is None
    assert model_server.requests[-1].headers["x-api-key"] == "sk-ant-mistyped"

    setup.key.setText("sk-ant-quick-setup-test")
    with qtbot.waitSignal(page.profile_added, timeout=10_000) as added:
        setup.create_button.click()
    assert added.args == ["anthropic"]
    profile = app_context.store.find_profile("anthropic")
    assert (profile.kind, profile.provider, profile.model, profile.key_name) == (
        AgentKind.BUILTIN,
        ProviderKind.ANTHROPIC,
        "claude-sonnet-4-5",
        key_name,
    )
    assert secrets.get_key(key_name) == "sk-ant-quick-setup-test"
    assert "sk-ant" not in app_context.store.find_profile("anthropic").model_dump_json()
    assert setup.key.text() == ""
    qtbot.waitUntil(lambda: not setup.isVisible())  # an agent that can run exists now
    assert page.agent_label.text() == "Agents: anthropic."


def test_the_short_setup_names_what_it_finds_of_a_cli(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    codex = bin_dir / "codex"  # a real program that answers --version as Codex does
    codex.write_text("#!/bin/sh\necho 'codex-cli 0.171.0'\n")
    codex.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))  # and no other agent CLI
    page = shown_page(qtbot, app_context)
    setup = page.setup
    qtbot.waitUntil(setup.isVisible)
    setup.kind.setCurrentIndex(setup.kind.findData(AgentKind.AIDER))
    qtbot.waitUntil(lambda: setup.found.text().startswith("Not found here"), timeout=10_000)
    assert not setup.create_button.isEnabled() and setup.model.isHidden()
    setup.kind.setCurrentIndex(setup.kind.findData(AgentKind.CODEX))
    assert setup.found.text() == f"Found: 0.171.0 at {codex}."
    with qtbot.waitSignal(page.profile_added, timeout=10_000):
        setup.create_button.click()
    assert app_context.store.find_profile("codex").kind is AgentKind.CODEX
    qtbot.waitUntil(lambda: page.agent_label.text() == "Agents: codex.")


def test_the_welcome_page_is_read_again_when_settings_close(
    qtbot: QtBot,
    app_context: AppContext,
    command_profile: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = MainWindow(app_context)
    window.empty.candidates = ()  # no local model server
    qtbot.addWidget(window)
    window.show()
    page = window.empty
    qtbot.waitUntil(lambda: page.agent_label.text() == NO_AGENT)
    window.actions_by_name["settings"].trigger()
    dialog = window.findChild(QDialog)
    assert dialog is not None
    command_profile("made-in-settings", "true")  # as the Profiles page would save it
    dialog.done(QDialog.DialogCode.Accepted)
    qtbot.waitUntil(lambda: page.agent_label.text() == "Agents: made-in-settings.")
    assert page.setup.isHidden()


def test_a_profile_that_cannot_run_is_no_agent_yet(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seedbed.ok(
        "profile", "add", "keyless", "--kind", "builtin", "--provider", "openai", "--model", "m"
    )
    seedbed.ok("profile", "add", "gone", "--kind", "codex", "--binary", "/nonexistent/codex")
    page = shown_page(qtbot, app_context)
    qtbot.waitUntil(page.setup.isVisible)
    lines = page.agent_label.text().splitlines()
    assert lines[0] == "No agent can run yet."
    assert lines[1].startswith("keyless cannot run: no API key 'openai'")
    assert lines[2].startswith("gone cannot run: Codex is not installed")
    assert page.settings_button.isVisible() and page.look_again_button.isVisible()

    monkeypatch.setenv("OPENAI_API_KEY", "sk-now-in-the-environment")
    page.look_again_button.click()
    qtbot.waitUntil(lambda: page.agent_label.text().startswith("Agents: keyless.\n"))
    assert page.setup.isHidden() and page.look_again_button.isHidden()


def page_with_ollama(
    qtbot: QtBot, app_context: AppContext, url: str, models: list[str]
) -> welcome.WelcomePage:
    """The welcome page, shown, with an Ollama at `url` offering `models`."""
    Handler.routes = {"/api/tags": {"models": [{"name": name} for name in models]}}
    ollama = local_servers.Candidate(
        name="Ollama", probe_url=f"{url}/api/tags", base_url=f"{url}/v1", style="ollama"
    )
    page = shown_page(qtbot, app_context, (ollama,))
    return page


def test_a_local_server_without_a_model_is_named_with_what_to_do(
    qtbot: QtBot,
    app_context: AppContext,
    server: str,  # noqa: F811
) -> None:
    page = page_with_ollama(qtbot, app_context, server, [])
    qtbot.waitUntil(lambda: len(page.server_notes) == 1, timeout=10_000)
    assert page.server_notes[0].text() == welcome.NO_MODEL["Ollama"]
    assert page.server_buttons == []

    Handler.routes = {"/api/tags": {"models": [{"name": "qwen2.5-coder:7b"}]}}
    page.look_again_button.click()  # after `ollama pull`
    qtbot.waitUntil(lambda: len(page.server_buttons) == 1, timeout=10_000)
    assert page.server_notes == []


def test_the_board_says_when_no_agent_can_run_and_offers_the_setup(
    qtbot: QtBot,
    project: str,
    app_context: AppContext,
    model_server: ModelServer,
) -> None:
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    hint = window.agent_hint
    assert window.pages.currentWidget() is window.splitter
    qtbot.waitUntil(hint.isVisible)
    assert hint.label.text().startswith(NO_AGENT)

    dialog = hint.open_setup()
    setup = dialog.setup
    setup.model.setText("scripted")
    setup.base_url.setText(model_server.url + "/v1")  # a model server here needs no key
    with qtbot.waitSignal(hint.profile_added, timeout=10_000) as added:
        setup.create_button.click()
    assert added.args == ["openai"]
    qtbot.waitUntil(lambda: not hint.isVisible())
    assert not dialog.isVisible()  # closed once the agent was made
    assert app_context.store.find_profile("openai").key_name == ""


def test_the_board_hint_stays_away_while_an_agent_can_run(
    qtbot: QtBot, project: str, command_profile: Callable[[str, str], str], app_context: AppContext
) -> None:
    command_profile("works", "true")
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.agent_hint.looked, timeout=10_000) as looked:
        window.show()
    assert looked.args == [True]
    assert window.agent_hint.isHidden()
    window.actions_by_name["settings"].trigger()  # closing Settings looks again
    dialog = window.findChild(QDialog)
    with qtbot.waitSignal(window.agent_hint.looked, timeout=10_000) as looked:
        dialog.done(QDialog.DialogCode.Accepted)
    assert looked.args == [True] and window.agent_hint.isHidden()


def test_one_click_makes_one_agent(
    qtbot: QtBot, app_context: AppContext, model_server: ModelServer
) -> None:
    page = shown_page(qtbot, app_context)
    setup = page.setup
    qtbot.waitUntil(setup.isVisible)
    setup.model.setText("scripted")
    setup.base_url.setText(model_server.openai_url)
    with qtbot.waitSignal(page.profile_added, timeout=10_000):
        setup.create_button.click()
        assert not setup.create_button.isEnabled()
        setup.kind.setCurrentIndex(setup.kind.findData(AgentKind.CODEX))
        setup.kind.setCurrentIndex(setup.kind.findData(AgentKind.BUILTIN))
        assert not setup.create_button.isEnabled()  # still making the first
    assert [p.name for p in app_context.store.list_profiles()] == ["openai"]


def test_an_answer_to_an_earlier_look_is_dropped(
    qtbot: QtBot, command_profile: Callable[[str, str], str], app_context: AppContext
) -> None:
    page = shown_page(qtbot, app_context)
    earlier = page.agents_look.generation
    command_profile("works", "true")
    page.refresh()
    page.agents_look.deliver(earlier, {})  # the first look's answer, come late: "no agent"
    assert page.agent_label.text() == welcome.LOOKING and page.setup.isHidden()
    qtbot.waitUntil(lambda: page.agent_label.text() == "Agents: works.")
    page.agents_look.deliver(earlier, {})
    assert page.agent_label.text() == "Agents: works." and page.setup.isHidden()


def test_a_server_with_only_embedding_models_is_not_offered(
    qtbot: QtBot,
    app_context: AppContext,
    server: str,  # noqa: F811
) -> None:
    page = page_with_ollama(qtbot, app_context, server, ["nomic-embed-text:latest"])
    qtbot.waitUntil(lambda: len(page.server_notes) == 1, timeout=10_000)
    assert page.server_notes[0].text() == welcome.ONLY_EMBEDDING.format(name="Ollama")
    assert page.server_buttons == []


def test_closing_the_setup_while_it_makes_the_agent_still_clears_the_hint(
    qtbot: QtBot, project: str, app_context: AppContext, model_server: ModelServer
) -> None:
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    hint = window.agent_hint
    qtbot.waitUntil(hint.isVisible)
    dialog = hint.open_setup()
    dialog.setup.model.setText("scripted")
    dialog.setup.base_url.setText(model_server.openai_url)
    with qtbot.waitSignal(hint.profile_added, timeout=10_000):
        dialog.setup.create_button.click()
        dialog.reject()  # closed at once, the profile still on its way
    qtbot.waitUntil(lambda: not hint.isVisible())
    assert app_context.store.find_profile("openai").base_url == model_server.openai_url


def test_look_again_finds_a_cli_installed_meanwhile(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    page = shown_page(qtbot, app_context)
    setup = page.setup
    qtbot.waitUntil(setup.isVisible)
    setup.kind.setCurrentIndex(setup.kind.findData(AgentKind.CODEX))
    qtbot.waitUntil(lambda: setup.found.text().startswith("Not found here"), timeout=10_000)
    codex = bin_dir / "codex"  # installed now
    codex.write_text("#!/bin/sh\necho 'codex-cli 0.171.0'\n")
    codex.chmod(0o755)
    page.look_again_button.click()
    qtbot.waitUntil(lambda: setup.found.text() == f"Found: 0.171.0 at {codex}.", timeout=10_000)
    assert setup.create_button.isEnabled()


def test_a_local_server_is_used_once_per_click(
    qtbot: QtBot,
    app_context: AppContext,
    server: str,  # noqa: F811
) -> None:
    page = page_with_ollama(qtbot, app_context, server, ["qwen2.5-coder:7b"])
    qtbot.waitUntil(lambda: len(page.server_buttons) == 1, timeout=10_000)
    button = page.server_buttons[0]
    with qtbot.waitSignal(page.profile_added, timeout=10_000):
        button.click()
        button.click()  # a double click
    assert [p.name for p in app_context.store.list_profiles()] == ["ollama"]
