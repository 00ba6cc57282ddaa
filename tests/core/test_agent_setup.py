"""Setting up a first agent (the window's short setup and welcome page): key names,
the key checked before it is stored, profile names for local servers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed.agents import readiness
from seedbed.core.agent_setup import create_agent, key_name_for, profile_name
from seedbed.core.context import Context
from seedbed.domain.local_servers import LocalServer
from seedbed.domain.models import AgentKind, ProviderKind
from tests.model_server import ModelServer


@pytest.fixture
def ctx(data_dir: Path) -> Iterator[Context]:
    ctx = Context.open(data_dir)
    yield ctx
    ctx.store.close()


def test_profile_names_do_not_clash() -> None:
    found = LocalServer(name="LM Studio", base_url="http://127.0.0.1:1234/v1")
    assert profile_name(found, set()) == "lm-studio"
    assert profile_name(found, {"lm-studio", "lm-studio-2"}) == "lm-studio-3"


@pytest.mark.parametrize(
    ("base_url", "with_key", "expected"),
    [
        ("", True, ""),
        ("https://api.openai.com/v1/", True, ""),
        ("https://openrouter.ai/api/v1", True, "openrouter.ai"),
        ("https://openrouter.ai/api/v1", False, "openrouter.ai"),
        ("http://127.0.0.1:1234/v1", False, ""),
        ("http://127.0.0.1:1234/v1", True, "127.0.0.1:1234"),
    ],
)
def test_a_key_for_another_server_is_not_stored_as_the_providers(
    base_url: str, with_key: bool, expected: str
) -> None:
    assert key_name_for(ProviderKind.OPENAI, base_url, with_key) == expected


def test_a_key_for_another_server_is_kept_apart_from_the_openai_key(
    ctx: Context, file_keyring: object, model_server: ModelServer
) -> None:
    from seedbed import secrets

    secrets.set_key("openai", "sk-the-real-openai-key")
    profile = create_agent(
        ctx,
        AgentKind.BUILTIN,
        ProviderKind.OPENAI,
        "qwen/qwen3-coder",
        model_server.openai_url,  # a server behind the OpenAI protocol, here on 127.0.0.1
        "sk-or-v1-router",
    ).value
    host = model_server.url.removeprefix("http://")
    assert profile.key_name == host
    assert secrets.get_key(host) == "sk-or-v1-router"
    assert secrets.get_key("openai") == "sk-the-real-openai-key"
    assert readiness.problem(profile) == ""
    asked = model_server.requests[-1]
    assert (asked.method, asked.path) == ("GET", "/v1/models")
    assert asked.headers["authorization"] == "Bearer sk-or-v1-router"


def test_the_setup_checks_everything_before_it_stores_a_key(
    ctx: Context, file_keyring: object
) -> None:
    from seedbed import secrets
    from seedbed.domain.errors import UserError

    secrets.set_key("openai", "sk-the-real-openai-key")
    for base_url, reason in (
        ("openrouter.ai/api/v1", "needs http:// or https://"),  # no scheme: no host either
        ("http://models.example.com/v1", "unencrypted"),  # the key would go in the clear
    ):
        with pytest.raises(UserError, match=reason):
            create_agent(
                ctx,
                AgentKind.BUILTIN,
                ProviderKind.OPENAI,
                "some-model",
                base_url,
                "sk-typed-into-the-setup",
            )
    assert secrets.get_key("openai") == "sk-the-real-openai-key"
    assert secrets.get_key("models.example.com") is None
    assert ctx.store.list_profiles() == []


def test_the_providers_own_api_keeps_the_providers_key_name() -> None:
    for url in ("https://api.anthropic.com", "https://api.anthropic.com/v1/"):
        assert key_name_for(ProviderKind.ANTHROPIC, url, True) == ""
    assert key_name_for(ProviderKind.ANTHROPIC, "https://api.openai.com/v1", True)


def test_an_unchecked_key_does_not_replace_a_stored_one(ctx: Context, file_keyring: object) -> None:
    from seedbed import secrets
    from seedbed.domain.errors import UserError

    with socket.socket() as probe:  # a port nobody listens on: the key cannot be checked
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    name = key_name_for(ProviderKind.OPENAI, url, True)
    secrets.set_key(name, "sk-the-one-that-works")
    with pytest.raises(UserError, match="could not be checked"):
        create_agent(ctx, AgentKind.BUILTIN, ProviderKind.OPENAI, "m", url, "sk-new")
    assert secrets.get_key(name) == "sk-the-one-that-works"
    assert ctx.store.list_profiles() == []  # made, then taken back
    # The same key again, or no key stored yet: made.
    create_agent(
        ctx, AgentKind.BUILTIN, ProviderKind.OPENAI, "m", url,
        "sk-the-one-that-works",
    )  # fmt: skip
    assert [p.name for p in ctx.store.list_profiles()] == ["openai"]


def test_a_model_name_the_providers_list_shows_to_be_a_typo_is_refused(
    ctx: Context, file_keyring: object, model_server: ModelServer
) -> None:
    from seedbed import secrets
    from seedbed.domain.errors import UserError

    model_server.keys = {"sk-right"}  # it lists "scripted-model"
    with pytest.raises(UserError, match="did you mean scripted-model"):
        create_agent(
            ctx, AgentKind.BUILTIN, ProviderKind.OPENAI, "scripted-modle",
            model_server.openai_url, "sk-right",
        )  # fmt: skip
    host = model_server.url.removeprefix("http://")
    assert secrets.get_key(host) is None and ctx.store.list_profiles() == []
