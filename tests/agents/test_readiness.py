"""Whether a profile can run now: its key in a real keyring, its CLI on the real PATH."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed import secrets
from seedbed.agents import readiness
from seedbed.agents.keys import key_for
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, AgentProfile, ProviderKind
from seedbed.store import Store


def builtin(name: str = "own", **options: object) -> AgentProfile:
    return AgentProfile(
        name=name, kind=AgentKind.BUILTIN, provider=ProviderKind.OPENAI, model="m", **options
    )


def test_a_builtin_agent_without_its_key_cannot_run(file_keyring: object) -> None:
    assert "no API key 'openai'" in readiness.problem(builtin())
    secrets.set_key("openai", "sk-test-readiness")
    assert readiness.problem(builtin()) == ""


def test_the_environment_variable_stands_in_for_the_keyring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert readiness.problem(builtin()) != ""  # no keyring backend works in tests
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert readiness.problem(builtin()) == ""


def test_a_local_model_server_needs_no_key() -> None:
    assert readiness.problem(builtin(base_url="http://127.0.0.1:11434/v1")) == ""


def test_a_cli_agent_needs_its_program(tmp_path: Path) -> None:
    missing = AgentProfile(name="c", kind=AgentKind.CODEX, binary=str(tmp_path / "codex"))
    assert readiness.problem(missing).startswith("Codex is not installed")
    program = tmp_path / "codex"
    program.write_text("#!/bin/sh\necho codex-cli 0.171.0\n")
    program.chmod(0o755)
    assert readiness.problem(missing) == ""


def test_a_command_agent_needs_a_command() -> None:
    assert readiness.problem(AgentProfile(name="c", command="  ")) == "it has no command"
    assert "does not parse" in readiness.problem(AgentProfile(name="c", command="echo 'x"))
    assert readiness.problem(AgentProfile(name="c", command="make test")) == ""


def test_every_profile_in_the_store_is_looked_at(data_dir: Path) -> None:
    store = Store.open(data_dir)
    try:
        store.add_profile(AgentProfile(name="works", command="true"))
        store.add_profile(builtin("keyless"))
        found = readiness.problems(store)
    finally:
        store.close()
    assert list(found) == ["works", "keyless"]
    assert found["works"] == "" and "no API key" in found["keyless"]
    assert readiness.any_works(found)
    assert not readiness.any_works({"keyless": found["keyless"]})
    assert not readiness.any_works({})


def test_the_providers_environment_key_is_not_sent_to_another_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-the-real-openai-key")
    router = builtin(base_url="https://openrouter.ai/api/v1", key_name="openrouter.ai")
    found = readiness.problem(router)
    assert "no API key 'openrouter.ai'" in found
    assert "`seedbed key set openrouter.ai` or set OPENAI_API_KEY" not in found
    with pytest.raises(UserError):
        key_for(router)
    # The variable stands in for the provider's own key name only, named or not.
    assert readiness.problem(builtin()) == ""
    assert readiness.problem(builtin(key_name="openai")) == ""
    assert "no API key 'work-openai'" in readiness.problem(builtin(key_name="work-openai"))


def test_a_quick_look_stops_at_the_first_agent_that_runs_and_spares_the_keyring(
    data_dir: Path,
) -> None:
    store = Store.open(data_dir)
    try:
        store.add_profile(builtin("remote"))  # needs the keyring (none works in tests)
        store.add_profile(AgentProfile(name="script", command="true"))
        store.add_profile(builtin("local", base_url="http://127.0.0.1:11434/v1"))
        assert readiness.problems(store, first_that_runs=True) == {"script": ""}
        store.add_profile(builtin("remote-2"))
        whole = readiness.problems(store)
    finally:
        store.close()
    assert list(whole) == ["remote", "script", "local", "remote-2"]
    assert [name for name, problem in whole.items() if not problem] == ["script", "local"]


def test_a_profile_for_another_server_never_gets_the_providers_key(
    monkeypatch: pytest.MonkeyPatch, file_keyring: object
) -> None:
    # Made in Settings or with `profile add`, with no key name: the key is the server's.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-the-real-openai-key")
    secrets.set_key("openai", "sk-the-real-openai-key")
    router = builtin(base_url="https://openrouter.ai/api/v1")
    assert router.effective_key_name() == "openrouter.ai"
    assert "no API key 'openrouter.ai'" in readiness.problem(router)
    secrets.set_key("openrouter.ai", "sk-or-router")
    found = key_for(router)
    assert found is not None and found.get_secret_value() == "sk-or-router"
    assert builtin().effective_key_name() == "openai"  # the provider's own API


def test_a_cli_too_old_to_run_is_said_once_asked(tmp_path: Path) -> None:
    program = tmp_path / "codex"
    program.write_text("#!/bin/sh\necho 'codex-cli 0.20.1'\n")
    program.chmod(0o755)
    old = AgentProfile(name="c", kind=AgentKind.CODEX, binary=str(program))
    found = readiness.problem(old)
    assert found.startswith(f"Codex at {program} reports 'codex-cli 0.20.1'; Seedbed needs")
    program.write_text("#!/bin/sh\necho 'codex-cli 0.171.0'\n")  # upgraded: asked again
    assert readiness.problem(old) == ""
