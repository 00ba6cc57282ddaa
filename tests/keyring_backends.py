"""Keyring backends for tests, and context managers that select one.

A backend is chosen the way a user would: `PYTHON_KEYRING_BACKEND=module.Class` in the
environment, so a `python -m seedbed` subprocess picks the same one. The repository root is
put on PYTHONPATH so that `tests.keyring_backends` imports there too.

- FileKeyring: entries in a JSON file named by SEEDBED_TEST_KEYRING_FILE, shared with
  subprocesses. Plaintext on purpose; it exists only here, never in the app.
- LockedKeyring: every operation raises KeyringLocked, as a keyring whose unlock prompt
  was dismissed does.
- LeakyKeyring: storing fails with an error that quotes the secret.

Each backend is viable only when PYTHON_KEYRING_BACKEND names it, so keyring's automatic
detection never picks one up in a process that merely imported this module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring
import keyring.core
from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import KeyringLocked, PasswordDeleteError, PasswordSetError

ROOT = Path(__file__).resolve().parents[1]
FILE_VARIABLE = "SEEDBED_TEST_KEYRING_FILE"
FILE_BACKEND = "tests.keyring_backends.FileKeyring"
LOCKED_BACKEND = "tests.keyring_backends.LockedKeyring"
LEAKY_BACKEND = "tests.keyring_backends.LeakyKeyring"
FAIL_BACKEND = "keyring.backends.fail.Keyring"
NULL_BACKEND = "keyring.backends.null.Keyring"


class _SelectedOnly(KeyringBackend):
    """Viable only when PYTHON_KEYRING_BACKEND names the class."""

    @properties.classproperty
    def priority(cls) -> float:
        if os.environ.get("PYTHON_KEYRING_BACKEND") != f"{cls.__module__}.{cls.__qualname__}":
            raise RuntimeError("a test backend, used only when PYTHON_KEYRING_BACKEND names it")
        return 1


class FileKeyring(_SelectedOnly):
    """Entries in the JSON file named by SEEDBED_TEST_KEYRING_FILE: {service: {user: pw}}."""

    @staticmethod
    def _path() -> Path:
        return Path(os.environ[FILE_VARIABLE])

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            return json.loads(self._path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        path = self._path()
        temp = path.with_name(path.name + ".tmp")
        temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        temp.replace(path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if username not in data.get(service, {}):
            raise PasswordDeleteError("no such password")
        del data[service][username]
        self._save(data)


class LockedKeyring(_SelectedOnly):
    """A keyring that stays locked: the user dismissed (or cannot see) the unlock prompt."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class LeakyKeyring(_SelectedOnly):
    """A backend whose errors quote the secret it was given: our messages must not."""

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError(f"cannot store {password!r} for {username}")

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordDeleteError("no such password")


def forget_backend() -> None:
    """Make keyring choose its backend again, from the environment, on its next use.

    keyring caches the backend per process and has no public way to un-choose it;
    `keyring.core.init_backend()` would choose at once and raise for a backend that is
    not viable, which is exactly what some tests want the code under test to meet.
    """
    keyring.core._keyring_backend = None


@contextmanager
def use_keyring(**env: str) -> Iterator[None]:
    """Set these environment variables (PYTHON_KEYRING_BACKEND and whatever the backend
    needs) and put the repository root on PYTHONPATH for the duration; keyring picks its
    backend afresh on entry and on exit. Restores the previous values itself, so don't
    monkeypatch the same variables inside the block."""
    path = os.environ.get("PYTHONPATH")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), path])), **env}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    forget_backend()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        forget_backend()


class FileStore:
    """The test's view of a FileKeyring's file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self, service: str = "seedbed") -> dict[str, str]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text(encoding="utf-8")).get(service, {})


@contextmanager
def file_keyring(path: Path) -> Iterator[FileStore]:
    """FileKeyring on `path` as the keyring of this process and its subprocesses."""
    with use_keyring(PYTHON_KEYRING_BACKEND=FILE_BACKEND, **{FILE_VARIABLE: str(path)}):
        yield FileStore(path)


@contextmanager
def backend(name: str, **env: str) -> Iterator[None]:
    """Any backend by its dotted name, e.g. FAIL_BACKEND (no keyring at all)."""
    with use_keyring(PYTHON_KEYRING_BACKEND=name, **env):
        yield
