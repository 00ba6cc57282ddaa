"""A failed call, worded for the user."""

from __future__ import annotations

import logging

from seedbed.domain.errors import SeedbedError

log = logging.getLogger(__name__)


def describe_error(error: BaseException) -> str:
    """The sentence a dialog shows for a failed call: ours as they are, others named."""
    if isinstance(error, SeedbedError):
        return str(error)
    log.error("unexpected error in a dialog's call", exc_info=error)
    return f"Unexpected error ({type(error).__name__}): {error}"
