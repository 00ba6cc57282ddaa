"""API keys: the only module that reads or writes them (DESIGN.md "Keys").

Keys live in the OS keyring through `keyring`, service `seedbed`, one entry per key name
(by default a provider's name: `openai`, `anthropic`). A provider's usual environment
variable (ENV_FALLBACK) is a read-only fallback. There is no plaintext fallback: when no
keyring backend works, storing a key fails with KeyringUnavailable, which says which
backend was found and what to do; a key is never written to a file or the database.

keyring cannot list entries, so the names of the stored keys are kept in one more entry of
the same service, INDEX_ENTRY (a name no key can have); list_keys() checks each name still
has a value.

Blocking: every function here except validate_name, value_from_input and
backend_description may talk to the keyring daemon over D-Bus and wait for it (or for an
unlock prompt). Code on an event loop must call them through `asyncio.to_thread`.

A key value never appears in an exception message, a repr or a return value other than
get_key()/ResolvedKey.value (a pydantic SecretStr: `.get_secret_value()` to use it).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr

from seedbed.domain.errors import UserError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "seedbed"
# The keyring entry that holds the JSON list of stored key names. It contains a space, so
# no valid key name can be equal to it.
INDEX_ENTRY = "[key names]"
ENV_FALLBACK: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
}
# Other variables the agents Seedbed runs read a provider's key or login token from: the
# Gemini CLI's GOOGLE_API_KEY, OpenCode's OpenRouter key, Claude Code's tokens.
AGENT_KEY_VARIABLES = (
    "GOOGLE_API_KEY",
    "OPENROUTER_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
)
MAX_NAME_LENGTH = 64
# A valid name no key is stored under, read to find out whether the keyring works.
INDEX_PROBE = "seedbed-keyring-probe"
MAX_VALUE_LENGTH = 16_384

FAIL_BACKEND = "keyring.backends.fail.Keyring"
NULL_BACKEND = "keyring.backends.null.Keyring"

T = TypeVar("T")

# The names of the stored keys as list_keys() last found them (set_key and delete_key keep
# it current): names only, for code that must not wait on the keyring (the engine's loop
# withholding their variables from a check). Every run's start lists the keys afresh.
_stored_names: set[str] = set()


class KeyringUnavailable(UserError):
    """No keyring backend works (none installed, locked, prompt dismissed, D-Bus error).

    The message is one line: what failed, which backend was found, and what to do.
    """


class ResolvedKey(BaseModel):
    """A key and where it came from: "keyring" or "env OPENAI_API_KEY"."""

    model_config = ConfigDict(frozen=True)

    value: SecretStr
    source: str


# -- validation --------------------------------------------------------------------------


def validate_name(name: str) -> str:
    """Return `name` if it can name a key: 1 to 64 printable characters, no whitespace.

    Raises UserError otherwise. The message does not repeat the name: a name that is
    wrong is often a key pasted in the wrong place.
    """
    if not isinstance(name, str) or not name:
        raise UserError("a key name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"a key name must be at most {MAX_NAME_LENGTH} characters")
    if not name.isprintable() or any(ch.isspace() for ch in name):
        raise UserError("a key name must be printable characters without spaces or line breaks")
    if name.startswith(("sk-", "sk_")):
        raise UserError(
            "that looks like an API key, not a key name: give a name such as `openai` and "
            "the key on standard input (`seedbed key set NAME`)"
        )
    return name


def validate_value(value: str) -> str:
    """Return `value` if it can be stored as a key; UserError (never quoting it) if not."""
    if not isinstance(value, str) or not value:
        raise UserError("the key is empty")
    if "\n" in value or "\r" in value:
        raise UserError("the key must be one line (it contains a line break)")
    if not value.isprintable():
        raise UserError("the key contains a control or other non-printable character")
    if value != value.strip():
        raise UserError("the key starts or ends with whitespace")
    if len(value) > MAX_VALUE_LENGTH:
        raise UserError(f"the key is longer than {MAX_VALUE_LENGTH} characters")
    return value


def value_from_input(text: str) -> str:
    """A key as typed or piped in: the trailing line break (LF or CRLF) removed, validated.

    A key with a line break inside is refused rather than cut.
    """
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return validate_value(text)


# -- the backend -------------------------------------------------------------------------

ADVICE = (
    "install and unlock a Secret Service such as GNOME Keyring or KeePassXC, or set "
    + " / ".join(ENV_FALLBACK.values())
    + " in the environment"
)


def _class_path(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _describe(backend: KeyringBackend) -> str:
    text = f"{type(backend).name} ({_class_path(backend)})"
    chained = getattr(type(backend), "backends", None)
    if _class_path(backend) == "keyring.backends.chainer.ChainerBackend" and chained:
        text += " over " + ", ".join(_describe(b) for b in chained)
    return text


def _one_line(text: str, secret: str | None = None, limit: int = 300) -> str:
    if secret:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cause(exc: BaseException, secret: str | None = None) -> str:
    text = _one_line(str(exc), secret)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _configured_name() -> str:
    return os.environ.get("PYTHON_KEYRING_BACKEND") or "keyring's configured backend"


def _load() -> tuple[KeyringBackend | None, str]:
    """The backend keyring uses, or None and why it could not be loaded."""
    try:
        import keyring

        return keyring.get_keyring(), ""
    except Exception as exc:  # a backend's viability check raises anything
        return None, f"{_configured_name()} could not be loaded ({_cause(exc)})"


def backend_description() -> str:
    """The keyring backend in use, e.g. "SecretService Keyring
    (keyring.backends.SecretService.Keyring)", or why there is none. Never raises."""
    backend, problem = _load()
    return problem if backend is None else _describe(backend)


def _unavailable(action: str, problem: str) -> KeyringUnavailable:
    return KeyringUnavailable(f"{action}: {problem}; {ADVICE}")


def _backend(action: str) -> KeyringBackend:
    """The working backend, or KeyringUnavailable saying why there is none."""
    backend, problem = _load()
    if backend is None:
        raise _unavailable(action, f"no keyring backend works: {problem}")
    path = _class_path(backend)
    if path == FAIL_BACKEND:
        raise _unavailable(
            action, f"no keyring backend is available (keyring found only {_describe(backend)})"
        )
    if path == NULL_BACKEND:
        raise _unavailable(
            action, f"the keyring is switched off ({_describe(backend)} stores nothing)"
        )
    return backend


def _call(action: str, backend: KeyringBackend, call: Callable[[], T], secret: str = "") -> T:
    """Run one keyring call; any failure becomes KeyringUnavailable (with no chained
    exception, whose text could hold the secret)."""
    from keyring.errors import InitError, KeyringLocked, NoKeyringError

    try:
        return call()
    except KeyringLocked as exc:
        problem, cause = "is locked and was not unlocked", _cause(exc, secret)
    except (InitError, NoKeyringError) as exc:
        problem, cause = "could not be opened", _cause(exc, secret)
    except Exception as exc:  # D-Bus, the daemon, a prompt dismissed: anything
        problem, cause = "failed", _cause(exc, secret)
    raise _unavailable(action, f"the keyring {_describe(backend)} {problem} ({cause})")


def _read_index(action: str, backend: KeyringBackend) -> list[str]:
    raw = _call(action, backend, lambda: backend.get_password(SERVICE, INDEX_ENTRY))
    try:
        names = json.loads(raw) if raw else []
    except ValueError:
        return []
    if not isinstance(names, list):
        return []
    valid = []
    for name in names:
        try:
            valid.append(validate_name(name))
        except UserError:
            continue
    return valid


def _write_index(action: str, backend: KeyringBackend, names: list[str]) -> None:
    if names:
        text = json.dumps(sorted(set(names)))
        _call(action, backend, lambda: backend.set_password(SERVICE, INDEX_ENTRY, text))
        return
    if _call(action, backend, lambda: backend.get_password(SERVICE, INDEX_ENTRY)) is not None:
        _delete_all(action, backend, INDEX_ENTRY)


def _delete_all(action: str, backend: KeyringBackend, username: str) -> bool:
    """Delete every entry for `username` (a keyring may hold duplicates other tools made);
    False if there was none."""
    from keyring.errors import PasswordDeleteError

    def delete_one() -> bool:
        try:
            backend.delete_password(SERVICE, username)
        except PasswordDeleteError:
            return False
        return True

    deleted = False
    for _ in range(16):
        if not _call(action, backend, delete_one):
            break
        deleted = True
        if _call(action, backend, lambda: backend.get_password(SERVICE, username)) is None:
            break
    return deleted


# -- the API -----------------------------------------------------------------------------


def set_key(name: str, value: str) -> None:
    """Store `value` as the key `name` in the keyring (replacing any earlier one).

    Raises UserError for an invalid name or value and KeyringUnavailable when no keyring
    backend works; nothing is ever stored anywhere else. Blocks (D-Bus).
    """
    validate_name(name)
    validate_value(value)
    action = f"cannot store the key {name!r}"
    backend = _backend(action)
    _call(action, backend, lambda: backend.set_password(SERVICE, name, value), value)
    stored = _call(action, backend, lambda: backend.get_password(SERVICE, name), value)
    if stored != value:
        raise _unavailable(action, f"the keyring {_describe(backend)} did not keep it")
    names = _read_index(action, backend)
    if name not in names:
        _write_index(action, backend, [*names, name])
    _stored_names.add(name)


def get_key(name: str) -> str | None:
    """The key `name` from the keyring, or None if it is not set there (the environment
    is not consulted: see resolve_key). KeyringUnavailable when no backend works. Blocks."""
    validate_name(name)
    action = f"cannot read the key {name!r}"
    backend = _backend(action)
    return _call(action, backend, lambda: backend.get_password(SERVICE, name))


def delete_key(name: str) -> bool:
    """Remove the key `name` from the keyring; False if it was not set.
    KeyringUnavailable when no backend works. Blocks (D-Bus)."""
    validate_name(name)
    action = f"cannot delete the key {name!r}"
    backend = _backend(action)
    existed = _delete_all(action, backend, name)
    names = _read_index(action, backend)
    if name in names:
        _write_index(action, backend, [n for n in names if n != name])
    _stored_names.discard(name)
    return existed


def list_keys() -> list[str]:
    """The names of the keys set in the keyring, sorted; never their values.

    The stored index of names and the providers' names are each checked for a value, so
    a key deleted with another tool is not listed. KeyringUnavailable when no backend
    works. Blocks (D-Bus).
    """
    action = "cannot list the keys"
    backend = _backend(action)
    candidates = set(_read_index(action, backend)) | set(ENV_FALLBACK)

    def is_set(name: str) -> bool:
        return backend.get_password(SERVICE, name) is not None

    found = sorted(name for name in candidates if _call(action, backend, partial(is_set, name)))
    _stored_names.clear()
    _stored_names.update(found)
    return found


def env_fallbacks_set() -> list[str]:
    """The names (never the values) of the ENV_FALLBACK variables set in the environment."""
    return [var for var in ENV_FALLBACK.values() if os.environ.get(var, "").strip()]


def key_variable(name: str) -> str:
    """The environment variable a key stored as `name` goes by, as OpenCode names a
    provider's: OPENROUTER_API_KEY for `openrouter`, MISTRAL_API_KEY for `mistral`."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY"


def provider_variables() -> frozenset[str]:
    """Every variable that may carry a key Seedbed's agents use: the providers' own
    (ENV_FALLBACK, AGENT_KEY_VARIABLES) and, for each key in the keyring (as last listed),
    its key_variable and its name when that is a variable's (a key stored as
    `MISTRAL_API_KEY`). Never asks the keyring: safe on the engine's loop."""
    names = set(ENV_FALLBACK.values()) | set(AGENT_KEY_VARIABLES)
    for name in _stored_names:
        names.add(key_variable(name))
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            names.add(name)
    return frozenset(names)


def resolve_key(name: str, provider: str, env: bool = True) -> ResolvedKey | None:
    """The key a profile uses: the keyring's key `name`, else (with `env`) the provider's
    environment variable (ENV_FALLBACK), else None.

    A keyring that does not work is passed over, not raised: the environment variable
    still works without one. Raises UserError only for an invalid name. Blocks (D-Bus).
    """
    validate_name(name)
    try:
        value = get_key(name)
    except KeyringUnavailable:
        value = None
    if value:
        return ResolvedKey(value=SecretStr(value), source="keyring")
    variable = ENV_FALLBACK.get(provider) if env else None
    if variable:
        value = os.environ.get(variable, "").strip()
        if value:
            return ResolvedKey(value=SecretStr(value), source=f"env {variable}")
    return None


def keyring_problem() -> str | None:
    """Why the keyring cannot be read right now (no backend, locked, dismissed), or None
    when it works. Never raises. Blocks (D-Bus)."""
    try:
        get_key(INDEX_PROBE)
    except KeyringUnavailable as exc:
        return str(exc)
    return None


def known_key_values() -> list[str]:
    """Every key Seedbed could hand out: those in the keyring and the ENV_FALLBACK
    variables' values. Only for scrubbing them from what is saved or shown; never raises
    for a keyring that does not work. Blocks (D-Bus)."""
    return sorted(set(known_keys().values()), key=len, reverse=True)


def known_keys() -> dict[str, str]:
    """known_key_values() by name: the keyring's names and the ENV_FALLBACK variables'
    (for saying which key a change holds, never what it is). Blocks (D-Bus)."""
    keys = {var: os.environ.get(var, "").strip() for var in ENV_FALLBACK.values()}
    try:
        for name in list_keys():
            keys[name] = get_key(name) or ""
    except KeyringUnavailable:
        pass
    return {name: value for name, value in keys.items() if value}
