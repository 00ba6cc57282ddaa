"""API keys in the OS keyring, as Settings shows and changes them: the backend in use,
the stored names (never a value), set and remove. Blocking (D-Bus): the window calls
these through its engine host. They take no Context: the keyring is the user's, not a
data dir's."""

from __future__ import annotations

from seedbed import secrets
from seedbed.domain.models import Model


class KeyringState(Model):
    """What the keys page shows; names only, never a value."""

    backend: str
    problem: str | None
    names: list[str]
    env_set: list[str]


def keyring_state() -> KeyringState:
    """The keyring as it is now."""
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


def set_key(name: str, value: str) -> None:
    """Store the key under `name` (replacing any)."""
    secrets.set_key(name, value)


def delete_key(name: str) -> bool:
    """Remove the key; False when there was none."""
    return secrets.delete_key(name)
