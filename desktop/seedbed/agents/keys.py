"""Which key a profile needs, and where it comes from: decided before a run starts."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

from pydantic import SecretStr

from seedbed import secrets
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, AgentProfile


def is_local(base_url: str) -> bool:
    """A server on this machine (Ollama, LM Studio, a test server) may need no key."""
    host = urlparse(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def key_for(profile: AgentProfile) -> SecretStr | None:
    """The profile's API key, or None when it needs none; UserError when one is missing.

    Blocks (the keyring may talk D-Bus): call it through asyncio.to_thread on a loop.
    """
    if profile.kind is not AgentKind.BUILTIN or profile.provider is None:
        return None
    name = profile.effective_key_name()
    found = secrets.resolve_key(name, profile.provider.value)
    if found is not None:
        return found.value
    if is_local(profile.effective_base_url()):
        return None
    variable = secrets.ENV_FALLBACK.get(profile.provider.value, "")
    hint = f" or set {variable}" if variable else ""
    raise UserError(
        f"no API key {name!r} for profile {profile.name!r}: store one with "
        f"`seedbed key set {name}`{hint}"
    )
