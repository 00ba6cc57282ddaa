"""API keys in the OS keyring, as `seedbed key …` and the Settings keys page show and
change them: the backend in use, the stored names (never a value), set and remove.
Blocking (D-Bus). The command line calls the plain functions on its own machine. The
window's are verbs (a Context first), so the engine answers them: the keyring that
counts is the one of the machine the agents run on, which for a window reached through a
forwarded socket is not the window's. No verb sends a key's value back."""

from __future__ import annotations

from seedbed import secrets
from seedbed.core.context import Context
from seedbed.domain.errors import UserError
from seedbed.domain.models import Model

MAX_VALUE_LENGTH = secrets.MAX_VALUE_LENGTH


class KeyringState(Model):
    """What the keys page shows; names only, never a value."""

    backend: str
    problem: str | None
    names: list[str]
    env_set: list[str]


def keyring_state(ctx: Context) -> KeyringState:
    """The keyring of the engine's machine as it is now (`ctx`: the engine's side; the
    keyring is that machine's user's, not the data dir's)."""
    problem = secrets.keyring_problem()
    names: list[str] = []
    if problem is None:
        try:
            names = secrets.list_keys()
        except secrets.KeyringUnavailable as exc:
            problem = str(exc)
    return KeyringState(
        backend=secrets.backend_description(),
        problem=problem,
        names=names,
        env_set=secrets.env_fallbacks_set(),
    )


def no_keyring_message(problem: str, env_set: list[str]) -> str:
    """Why no key can be stored, and the environment variables that work instead."""
    # keyring_problem() says it could not read its probe entry: a detail of ours.
    cause = problem.split(": ", 1)[1] if problem.startswith("cannot read the key") else problem
    variables = ", ".join(f"{var} ({name})" for name, var in secrets.ENV_FALLBACK.items())
    now = ", ".join(env_set) or "none of them"
    return (
        f"No keyring works, so no key can be stored here: {cause}.\n"
        "Without a keyring, Seedbed reads the providers' keys from these environment "
        f"variables: {variables}. Set now: {now}."
    )


def checked_key_input(name: str, value: str) -> str:
    """The key's name as stored, once the name and the value are valid; SeedbedError
    (saying what is wrong, never the value) otherwise. Quick: no keyring asked."""
    checked = secrets.validate_name(name)
    secrets.validate_value(value)
    return checked


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


def store_key(ctx: Context, name: str, text: str) -> tuple[str, str]:
    """`set_key` on the engine's machine: (the checked name, the backend)."""
    return set_key(name, text)


def forget_key(ctx: Context, name: str) -> bool:
    """`remove_key` on the engine's machine; False when there was none."""
    return remove_key(name)


def check_key_name(name: str) -> str:
    return secrets.validate_name(name)


def list_keys() -> StoredKeys:
    return StoredKeys(
        keys=secrets.list_keys(),
        backend=secrets.backend_description(),
        env_fallbacks=secrets.env_fallbacks_set(),
    )


def no_such_key(name: str) -> str:
    return f"no key {name!r} is set in the keyring"


def remove_key(name: str) -> bool:
    """Remove the key; False when there was none."""
    return secrets.delete_key(name)


def delete_key(name: str) -> None:
    """Remove the key; UserError when there was none."""
    if not remove_key(name):
        raise UserError(no_such_key(name))
