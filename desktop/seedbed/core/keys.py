"""API keys in the OS keyring, as `seedbed key …` sets, lists and deletes them (never
their values). They live outside the data dir: these verbs take no Context."""

from __future__ import annotations

from seedbed import secrets
from seedbed.domain.errors import UserError
from seedbed.domain.models import Model

MAX_VALUE_LENGTH = secrets.MAX_VALUE_LENGTH


class StoredKeys(Model):
    """The keys' names, where they are kept, and which key environment variables are set."""

    keys: list[str]
    backend: str
    env_fallbacks: list[str]


def set_key(name: str, text: str) -> tuple[str, str]:
    """Store the key read as `text` under `name`; (the checked name, the backend)."""
    name = secrets.validate_name(name)
    secrets.set_key(name, secrets.value_from_input(text))
    return name, secrets.backend_description()


def check_key_name(name: str) -> str:
    return secrets.validate_name(name)


def list_keys() -> StoredKeys:
    return StoredKeys(
        keys=secrets.list_keys(),
        backend=secrets.backend_description(),
        env_fallbacks=secrets.env_fallbacks_set(),
    )


def delete_key(name: str) -> None:
    if not secrets.delete_key(name):
        raise UserError(f"no key {name!r} is set in the keyring")
