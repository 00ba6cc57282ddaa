"""Asking a provider whether it takes a key before the key is stored: its model list
(GET /v1/models, on both protocols) needs the key and nothing else, and costs nothing.
A key the provider refuses is then said at once, not as the first task's failure."""

from __future__ import annotations

from urllib.parse import urlparse

from pydantic import SecretStr

from seedbed.agents.builtin.providers.anthropic import API_VERSION
from seedbed.agents.builtin.providers.http import USER_AGENT, header_secret, join_url
from seedbed.domain.errors import UserError
from seedbed.domain.models import ProviderKind

TIMEOUT_S = 10.0
REFUSED = (401, 403)


def models_url(provider: ProviderKind, base_url: str) -> str:
    base = base_url.rstrip("/")
    if provider is ProviderKind.ANTHROPIC and not base.endswith("/v1"):
        base = join_url(base, "v1")
    return join_url(base, "models")


def key_headers(provider: ProviderKind, key: SecretStr) -> dict[str, str]:
    value = header_secret(key)
    if provider is ProviderKind.ANTHROPIC:
        return {"x-api-key": value, "anthropic-version": API_VERSION, "user-agent": USER_AGENT}
    return {"authorization": f"Bearer {value}", "user-agent": USER_AGENT}


def check_key(provider: ProviderKind, base_url: str, key: SecretStr) -> bool:
    """True when the provider took the key; False when it could not say (no model list
    there, not reachable: the first run will tell). UserError when it refused the key.
    Blocks (the network): call it off the GUI thread."""
    import httpx  # here: slow to import, and only the setup needs it

    url = models_url(provider, base_url)
    host = urlparse(url).hostname or url
    try:
        response = httpx.get(url, headers=key_headers(provider, key), timeout=TIMEOUT_S)
    except httpx.HTTPError:
        return False
    if response.status_code in REFUSED:
        raise UserError(
            f"{host} refused the key (HTTP {response.status_code}): check it and paste it "
            "again; nothing was stored"
        )
    return response.is_success
