"""Where a base URL points."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse


def is_local(base_url: str) -> bool:
    """A server on this machine (Ollama, LM Studio, a test server) may need no key."""
    host = urlparse(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
