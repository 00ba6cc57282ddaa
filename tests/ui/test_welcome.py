"""The first run: no project yet, no agent yet; a local model server found on its port."""

from __future__ import annotations

import functools

import pytest
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
