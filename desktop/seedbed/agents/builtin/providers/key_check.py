"""Asking a provider whether it takes a key before the key is stored: its model list
(GET /v1/models, on both protocols) needs the key and nothing else, and costs nothing.
A key the provider refuses is then said at once, not as the first task's failure; so is
a model name the list shows to be a typo."""

from __future__ import annotations

import difflib
from urllib.parse import urlparse

from pydantic import SecretStr

from seedbed.agents.builtin.providers.anthropic import API_VERSION
from seedbed.agents.builtin.providers.http import USER_AGENT, header_secret, join_url
from seedbed.agents.urls import is_local
from seedbed.domain.errors import UserError
from seedbed.domain.models import ProviderKind

TIMEOUT_S = 10.0
# Only "unauthorized" says the key is wrong: a 403 may be a key without the right to list
# models (an OpenAI restricted key) that can still chat, a region block, a firewall.
REFUSED = 401
# Base URLs given with the endpoint on (as some providers' docs write them).
ENDPOINTS = ("/chat/completions", "/responses", "/messages")


def models_url(provider: ProviderKind, base_url: str) -> str:
    base = base_url.rstrip("/")
    for endpoint in ENDPOINTS:
        base = base.removesuffix(endpoint)
    if provider is ProviderKind.ANTHROPIC and not base.endswith("/v1"):
        base = join_url(base, "v1")
    return join_url(base, "models")


def key_headers(provider: ProviderKind, key: SecretStr) -> dict[str, str]:
    value = header_secret(key)
    if provider is ProviderKind.ANTHROPIC:
        return {"x-api-key": value, "anthropic-version": API_VERSION, "user-agent": USER_AGENT}
    return {"authorization": f"Bearer {value}", "user-agent": USER_AGENT}


def check_key(provider: ProviderKind, base_url: str, key: SecretStr) -> list[str] | None:
    """The provider took the key: the model names it lists. None when it could not say
    (no model list there, not reachable: the first run will tell). UserError when it
    refused the key. Blocks (the network): call it off the GUI thread."""
    import httpx  # here: slow to import, and only the setup needs it

    url = models_url(provider, base_url)
    host = urlparse(url).hostname or url
    headers = key_headers(provider, key)
    try:
        # A server on this machine is asked directly: a key never goes through a proxy
        # in the clear on its way to 127.0.0.1.
        with httpx.Client(timeout=TIMEOUT_S, trust_env=not is_local(url)) as client:
            response = client.get(url, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL, ImportError, OSError, ValueError):
        return None  # unreachable, or a proxy setting httpx cannot follow
    if response.status_code == REFUSED:
        raise UserError(
            f"{host} refused the key (HTTP {response.status_code}): check it and paste it "
            "again; nothing was stored"
        )
    if not response.is_success:
        return None
    try:
        listed = response.json().get("data")
    except (ValueError, AttributeError):
        return []
    if not isinstance(listed, list):
        return []
    return [str(item["id"]) for item in listed if isinstance(item, dict) and "id" in item]


def model_problem(model: str, listed: list[str]) -> str:
    """A likely typo in a model's name, said with the listed names it is close to; ""
    when the name is listed, is an alias of a listed one (its start:
    claude-sonnet-4-5 for claude-sonnet-4-5-20250929), or is close to none (a list need
    not show every model a provider serves)."""
    if not listed or any(name.startswith(model) for name in listed):
        return ""
    close = difflib.get_close_matches(model, listed, n=3, cutoff=0.8)
    if not close:
        return ""
    return f"the provider lists no model {model!r}: did you mean {' or '.join(close)}?"
