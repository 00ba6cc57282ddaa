"""The setup asks the provider whether it takes a key: a real HTTP server on 127.0.0.1
speaking each protocol's model list."""

from __future__ import annotations

import socket

import pytest
from pydantic import SecretStr

from seedbed.agents.builtin.providers.key_check import check_key, model_problem, models_url
from seedbed.domain.errors import UserError
from seedbed.domain.models import ProviderKind
from tests.model_server import ModelServer, http_error


def test_the_model_list_is_where_each_protocol_has_it() -> None:
    assert models_url(ProviderKind.OPENAI, "https://api.openai.com/v1/") == (
        "https://api.openai.com/v1/models"
    )
    assert models_url(ProviderKind.ANTHROPIC, "https://api.anthropic.com") == (
        "https://api.anthropic.com/v1/models"
    )
    assert models_url(ProviderKind.ANTHROPIC, "https://proxy.example/v1") == (
        "https://proxy.example/v1/models"
    )
    # Base URLs written with their endpoint on, as some providers' docs give them.
    assert models_url(ProviderKind.OPENAI, "https://x.example/v1/chat/completions") == (
        "https://x.example/v1/models"
    )
    assert models_url(ProviderKind.ANTHROPIC, "https://x.example/v1/messages") == (
        "https://x.example/v1/models"
    )


@pytest.mark.parametrize("provider", [ProviderKind.OPENAI, ProviderKind.ANTHROPIC])
def test_a_key_is_taken_or_refused(model_server: ModelServer, provider: ProviderKind) -> None:
    model_server.keys = {"sk-right"}
    url = model_server.openai_url if provider is ProviderKind.OPENAI else model_server.url
    assert check_key(provider, url, SecretStr("sk-right")) == ["scripted-model"]
    with pytest.raises(UserError, match=r"127\.0\.0\.1 refused the key \(HTTP 401\)"):
        check_key(provider, url, SecretStr("sk-wrong"))
    sent = model_server.requests[-1].headers
    if provider is ProviderKind.ANTHROPIC:
        assert sent["x-api-key"] == "sk-wrong" and sent["anthropic-version"]
    else:
        assert sent["authorization"] == "Bearer sk-wrong"


def test_a_server_that_cannot_say_is_no_refusal(model_server: ModelServer) -> None:
    # No model list at that path (404), or nobody listening: the first run will tell.
    assert check_key(ProviderKind.OPENAI, model_server.url + "/other", SecretStr("k")) is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    assert check_key(ProviderKind.OPENAI, f"http://127.0.0.1:{dead}/v1", SecretStr("k")) is None


@pytest.mark.parametrize("status", [403, 302, 500])
def test_only_unauthorized_is_a_refusal(model_server: ModelServer, status: int) -> None:
    # A 403 may be a key that may chat but not list models (an OpenAI restricted key).
    model_server.keys = {"sk-right"}
    model_server.models_error = http_error(status, "no")
    assert check_key(ProviderKind.OPENAI, model_server.openai_url, SecretStr("sk-x")) is None


def test_a_model_name_is_checked_against_the_list_only_for_typos() -> None:
    listed = ["gpt-4.1", "gpt-4.1-mini", "claude-sonnet-4-5-20250929", "qwen2.5-coder:7b"]
    assert model_problem("gpt-4.1", listed) == ""
    assert model_problem("claude-sonnet-4-5", listed) == ""  # an alias of a dated name
    assert model_problem("qwen2.5-coder", listed) == ""  # Ollama's tag left out
    assert model_problem("o3-deep-research", listed) == ""  # close to nothing: unlisted
    assert model_problem("anything", []) == ""  # no list, no judgement
    typo = model_problem("gpt-4.l", listed)
    assert typo.startswith("the provider lists no model 'gpt-4.l': did you mean gpt-4.1")
