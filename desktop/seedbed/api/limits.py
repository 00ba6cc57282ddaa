"""How long a client waits for the engine's answer to one call before it takes the
engine for hung (the command line and the window alike)."""

from __future__ import annotations

import os

from seedbed.domain.errors import UserError

CALL_TIMEOUT_ENV = "SEEDBED_ENGINE_TIMEOUT_S"
CALL_TIMEOUT_S = 60.0  # a call unanswered this long: the engine is taken for hung


def call_timeout() -> float | None:
    """How long a client waits for the engine's answer to one call (None: no limit)."""
    text = os.environ.get(CALL_TIMEOUT_ENV, "").strip()
    if not text:
        return CALL_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        raise UserError(f"{CALL_TIMEOUT_ENV} wants seconds (0: no limit), not {text!r}") from None
    return seconds if seconds > 0 else None
